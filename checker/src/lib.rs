//! The course checker as a library: the command-line front end in `main.rs` and the tests
//! both drive these modules.

pub mod book_preprocessor;
pub mod broker;
pub mod broker_choice;
pub mod cargo_build;
pub mod cleanup;
pub mod confinement;
pub mod consumer_group;
pub mod diff;
pub mod doctor;
pub mod grade;
pub mod hint;
pub mod info_file;
pub mod list;
pub mod process;
pub mod report;
pub mod reset;
pub mod scenario;
pub mod snapshot;
pub mod state_file;
pub mod status;
pub mod transcript;
pub mod verdict;
pub mod verify;
pub mod verify_all;
pub mod view;
pub mod watch;

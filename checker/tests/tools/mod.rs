//! Finding a program the tests need on this machine: the variable that names it, else the
//! first of its usual names on PATH.

use std::path::PathBuf;

/// `$variable` if set (and a file), else the first of `names` found on PATH.
pub fn find(variable: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

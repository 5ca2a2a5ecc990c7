//! The two delivery guarantees a consumer can give, chosen on the command line.

use std::str::FromStr;

/// What a crash may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarantee {
    /// A payment is never processed twice; the one in processing at a crash is lost.
    AtMostOnce,
    /// No payment is lost; those processed since the last commit are processed again.
    AtLeastOnce,
}

impl FromStr for Guarantee {
    type Err = String;

    fn from_str(text: &str) -> Result<Guarantee, String> {
        match text {
            "at-most-once" => Ok(Guarantee::AtMostOnce),
            "at-least-once" => Ok(Guarantee::AtLeastOnce),
            other => Err(format!("unknown guarantee {other:?}")),
        }
    }
}

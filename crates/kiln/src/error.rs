//! User-facing errors: `error:` line, `Caused by:` chain, `hint:` line.

use std::fmt;

/// An error that carries a fix for the user.
#[derive(Debug)]
pub struct Hinted {
    pub message: String,
    pub hint: String,
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hinted {}

/// An error with a hint.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hinted {
        message: message.into(),
        hint: hint.into(),
    })
}

/// Prints `e` the way kiln prints every error.
pub fn report(e: &anyhow::Error) {
    eprintln!("{}", format_error(e));
}

/// The text of [`report`].
pub fn format_error(e: &anyhow::Error) -> String {
    let mut out = format!("error: {e}");
    let mut hint = None;
    for (i, cause) in e.chain().enumerate() {
        if let Some(h) = cause.downcast_ref::<Hinted>() {
            hint = Some(h.hint.clone());
        }
        if i > 0 {
            out.push_str(&format!("\n  Caused by: {cause}"));
        }
    }
    if let Some(h) = hint {
        out.push_str(&format!("\nhint: {h}"));
    }
    out
}

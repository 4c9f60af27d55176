//! Colors for people at a terminal, decided in one place for every command:
//! the terminal rules `anstream` applies (`NO_COLOR` set and not empty turns
//! them off, `CLICOLOR_FORCE` on, `CLICOLOR=0` off, otherwise only when the
//! stream is a terminal), so in CI logs only with `CLICOLOR_FORCE=1`. Text
//! is rendered plain first and painted line by line, so what tests and logs
//! see is exactly the plain text.

use anstyle::{AnsiColor, Style};

const BOLD: Style = Style::new().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const RED: Style = AnsiColor::Red.on_default();

/// Which stream the text goes to.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Whether to color text written to `stream`.
pub fn enabled(stream: Stream) -> bool {
    let choice = match stream {
        Stream::Stdout => anstream::AutoStream::choice(&std::io::stdout()),
        Stream::Stderr => anstream::AutoStream::choice(&std::io::stderr()),
    };
    choice != anstream::ColorChoice::Never
}

/// Paints rendered text: hints yellow, root-cause headlines bold, warnings red.
pub fn paint(text: &str, on: bool) -> String {
    if !on {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let (body, nl) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        let trimmed = body.trim_start();
        let color = if trimmed.starts_with("hint:") || trimmed.starts_with("kiln: hint:") {
            Some(YELLOW)
        } else if trimmed.starts_with("warning:") {
            Some(RED)
        } else if body.contains("root cause") {
            Some(BOLD)
        } else {
            None
        };
        match color {
            Some(c) => {
                out.push_str(&format!("{c}{body}{c:#}{nl}"));
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_when_off_and_painted_by_line_when_on() {
        let text = "1 of 2 misses: root cause in `a`\n  - env `X` changed\n  hint: move it\n";
        assert_eq!(paint(text, false), text);
        let on = paint(text, true);
        assert!(on.starts_with("\x1b[1m1 of 2"));
        assert!(on.contains("\x1b[33m  hint: move it\x1b[0m\n"));
        assert!(on.contains("\n  - env `X` changed\n"));
    }
}

//! Splitting CI shell scripts into simple commands and words.
//!
//! This is not a shell: it knows quotes, `\` line continuations, comments,
//! the command separators (`&&`, `||`, `;`, `|`, newlines) and GitHub's
//! `${{ ... }}` expressions, which is what finding `cargo` calls needs.

/// One simple command: its words (quotes removed) and the line offset
/// (0-based) it starts on within the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    pub words: Vec<String>,
    pub line: u32,
}

#[derive(Default)]
struct Splitter {
    out: Vec<Command>,
    words: Vec<String>,
    word: Option<String>,
    start_line: u32,
    line: u32,
}

impl Splitter {
    fn end_word(&mut self) {
        if let Some(w) = self.word.take() {
            if self.words.is_empty() {
                self.start_line = self.line;
            }
            self.words.push(w);
        }
    }

    fn end_command(&mut self) {
        self.end_word();
        if !self.words.is_empty() {
            self.out.push(Command {
                words: std::mem::take(&mut self.words),
                line: self.start_line,
            });
        }
    }

    fn push(&mut self, c: char) {
        if self.word.is_none() && self.words.is_empty() {
            self.start_line = self.line;
        }
        self.word.get_or_insert_with(String::new).push(c);
    }
}

/// Splits `script` into simple commands.
pub(crate) fn commands(script: &str) -> Vec<Command> {
    let chars: Vec<char> = script.chars().collect();
    let mut s = Splitter::default();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\\' if next == Some('\n') => {
                s.line += 1;
                i += 2;
                continue;
            }
            '\\' => {
                if let Some(n) = next {
                    s.push(n);
                }
                i += 2;
                continue;
            }
            '\n' => {
                s.end_command();
                s.line += 1;
            }
            ' ' | '\t' | '\r' => s.end_word(),
            ';' | '&' | '|' | '(' | ')' => s.end_command(),
            '#' if s.word.is_none() => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '$' if next == Some('{') && chars.get(i + 2) == Some(&'{') => {
                let end = find(&chars, i + 3, &['}', '}']).unwrap_or(chars.len());
                for &ch in &chars[i..end.min(chars.len())] {
                    s.push(ch);
                }
                i = end;
                continue;
            }
            '\'' | '"' => {
                let close = chars[i + 1..]
                    .iter()
                    .position(|&x| x == c)
                    .map(|p| p + i + 1);
                let end = close.unwrap_or(chars.len());
                s.word.get_or_insert_with(String::new);
                if s.words.is_empty() && s.word.as_deref() == Some("") {
                    s.start_line = s.line;
                }
                for &ch in &chars[i + 1..end] {
                    if ch == '\n' {
                        s.line += 1;
                    }
                    s.push(ch);
                }
                i = end + 1;
                continue;
            }
            _ => s.push(c),
        }
        i += 1;
    }
    s.end_command();
    s.out
}

/// The index just past `pat` at or after `from`.
fn find(chars: &[char], from: usize, pat: &[char]) -> Option<usize> {
    (from..chars.len().saturating_sub(pat.len() - 1))
        .find(|&k| chars[k..k + pat.len()] == *pat)
        .map(|k| k + pat.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(script: &str) -> Vec<Vec<String>> {
        commands(script).into_iter().map(|c| c.words).collect()
    }

    #[test]
    fn separators_quotes_and_continuations() {
        let got = commands(
            "cargo build \\\n  --release && cargo test -F 'a b'\n# note\necho \"x y\" | tee",
        );
        assert_eq!(got[0].words, ["cargo", "build", "--release"]);
        assert_eq!(got[0].line, 0);
        assert_eq!(got[1].words, ["cargo", "test", "-F", "a b"]);
        assert_eq!(got[1].line, 1);
        assert_eq!(got[2].words, ["echo", "x y"]);
        assert_eq!(got[2].line, 3);
        assert_eq!(got[3].words, ["tee"]);
    }

    #[test]
    fn github_expressions_stay_whole() {
        assert_eq!(
            words("cargo test ${{ matrix.flags }} --locked"),
            [["cargo", "test", "${{ matrix.flags }}", "--locked"]]
        );
    }

    #[test]
    fn inline_env_and_comments() {
        assert_eq!(
            words("RUSTFLAGS=\"-C debuginfo=0\" cargo build # why\n"),
            [["RUSTFLAGS=-C debuginfo=0", "cargo", "build"]]
        );
    }
}

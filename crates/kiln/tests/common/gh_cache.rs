//! A stand-in for the GitHub Actions cache service's control plane, written
//! from its published protocol (v2: three Twirp methods with JSON bodies,
//! bearer token, answers carrying signed blob URLs), on 127.0.0.1. The data
//! path is real: the signed URLs are shared-access-signature URLs into a
//! running Azurite, so uploads and downloads go to a real Azure Blob
//! service exactly as on GitHub's runners.
//!
//! Also a plain file server standing in for release downloads.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::servers::AzuriteServer;

/// The container the service keeps its blobs in.
pub const CONTAINER: &str = "actions-cache";
/// The token jobs must present.
pub const TOKEN: &str = "kiln-test-runtime-token";

/// One cache entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub version: String,
    pub blob: String,
    pub finalized: bool,
    pub size: u64,
}

/// What the service holds and was asked.
#[derive(Debug, Default)]
pub struct State {
    pub entries: Vec<Entry>,
    /// Twirp calls, by method name, in order.
    pub calls: Vec<String>,
}

/// A running stand-in.
pub struct CacheService {
    pub port: u16,
    pub state: Arc<Mutex<State>>,
    azurite: u16,
}

impl CacheService {
    /// Serves on a free port, with blobs in `azurite` (whose container
    /// [`CONTAINER`] must exist).
    pub fn start(azurite: &AzuriteServer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let service = Self {
            port,
            state: Arc::clone(&state),
            azurite: azurite.port,
        };
        let az = azurite.port;
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let state = Arc::clone(&state);
                std::thread::spawn(move || serve(&conn, &state, az));
            }
        });
        service
    }

    /// `ACTIONS_RESULTS_URL`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.state.lock().unwrap().entries.clone()
    }

    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Blob URL with an account SAS, as the real service hands out.
    pub fn signed_url(&self, blob: &str) -> String {
        signed_url(self.azurite, blob)
    }
}

/// An account shared-access signature (version 2019-12-12) over the blob
/// service of Azurite's development account.
fn signed_url(azurite: u16, blob: &str) -> String {
    use base64::Engine;
    use hmac::Mac;
    let (sp, ss, srt, se, spr, sv) = (
        "rwdlac",
        "b",
        "sco",
        "2030-01-01T00:00:00Z",
        "https,http",
        "2019-12-12",
    );
    let to_sign = format!(
        "{}\n{sp}\n{ss}\n{srt}\n\n{se}\n\n{spr}\n{sv}\n",
        AzuriteServer::ACCOUNT
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(AzuriteServer::KEY).unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(to_sign.as_bytes());
    let sig = b64.encode(mac.finalize().into_bytes());
    let enc = |s: &str| {
        s.replace('%', "%25")
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
            .replace(':', "%3A")
            .replace(',', "%2C")
    };
    format!(
        "http://127.0.0.1:{azurite}/{}/{CONTAINER}/{blob}?sv={sv}&ss={ss}&srt={srt}&sp={sp}&se={}&spr={}&sig={}",
        AzuriteServer::ACCOUNT,
        enc(se),
        enc(spr),
        enc(&sig)
    )
}

/// A request: method, path, headers (lower-case names), body.
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

pub fn read_request(conn: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

pub fn respond(mut conn: &TcpStream, status: &str, content_type: &str, body: &[u8]) {
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(body);
}

fn twirp_error(conn: &TcpStream, status: &str, code: &str, msg: &str) {
    let body = json!({"code": code, "msg": msg}).to_string();
    respond(conn, status, "application/json", body.as_bytes());
}

fn serve(conn: &TcpStream, state: &Mutex<State>, azurite: u16) {
    let Some(req) = read_request(conn) else {
        return;
    };
    let prefix = "/twirp/github.actions.results.api.v1.CacheService/";
    let Some(method) = req.path.strip_prefix(prefix).map(str::to_owned) else {
        return twirp_error(conn, "404 Not Found", "bad_route", "no such method");
    };
    if req.method != "POST" {
        return twirp_error(conn, "404 Not Found", "bad_route", "POST only");
    }
    if req.headers.get("authorization").map(String::as_str) != Some(&format!("Bearer {TOKEN}")) {
        return twirp_error(conn, "401 Unauthorized", "unauthenticated", "bad token");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return twirp_error(conn, "400 Bad Request", "malformed", "not JSON");
    };
    let mut st = state.lock().unwrap();
    st.calls.push(method.clone());
    let s = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let (key, version) = (s("key"), s("version"));
    if version.len() != 64 || !version.bytes().all(|b| b.is_ascii_hexdigit()) {
        return twirp_error(
            conn,
            "400 Bad Request",
            "invalid_argument",
            "version must be a sha256 hex digest",
        );
    }
    let answer = match method.as_str() {
        "CreateCacheEntry" => {
            if st
                .entries
                .iter()
                .any(|e| e.key == key && e.version == version)
            {
                drop(st);
                return twirp_error(
                    conn,
                    "409 Conflict",
                    "already_exists",
                    "cache entry with the same key, version, and scope already exists",
                );
            }
            let blob = format!("entry-{}", st.entries.len());
            st.entries.push(Entry {
                key,
                version,
                blob: blob.clone(),
                finalized: false,
                size: 0,
            });
            json!({"ok": true, "signed_upload_url": signed_url(azurite, &blob)})
        }
        "FinalizeCacheEntryUpload" => {
            let size: u64 = s("size_bytes").parse().unwrap_or(0);
            match st
                .entries
                .iter_mut()
                .find(|e| e.key == key && e.version == version)
            {
                Some(e) => {
                    e.finalized = true;
                    e.size = size;
                    json!({"ok": true, "entry_id": "1"})
                }
                None => json!({"ok": false}),
            }
        }
        "GetCacheEntryDownloadURL" => {
            let restore: Vec<String> = body
                .get("restore_keys")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let live: Vec<&Entry> = st
                .entries
                .iter()
                .filter(|e| e.finalized && e.version == version)
                .collect();
            // The exact key, then each restore key as a prefix; the newest
            // entry of a prefix wins.
            let found = live.iter().rev().find(|e| e.key == key).or_else(|| {
                restore
                    .iter()
                    .find_map(|p| live.iter().rev().find(|e| e.key.starts_with(p.as_str())))
            });
            match found {
                Some(e) => json!({
                    "ok": true,
                    "signed_download_url": signed_url(azurite, &e.blob),
                    "matched_key": e.key,
                }),
                None => json!({"ok": false}),
            }
        }
        _ => {
            drop(st);
            return twirp_error(conn, "404 Not Found", "bad_route", "no such method");
        }
    };
    drop(st);
    respond(
        conn,
        "200 OK",
        "application/json",
        answer.to_string().as_bytes(),
    );
}

/// Serves the files of a directory over plain HTTP (GET only).
pub struct FileServer {
    pub port: u16,
    pub root: PathBuf,
}

impl FileServer {
    pub fn start(root: PathBuf) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let dir = root.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let Some(req) = read_request(&conn) else {
                    continue;
                };
                let rel = req.path.trim_start_matches('/');
                let file = dir.join(rel);
                match std::fs::read(&file) {
                    Ok(bytes) if !rel.contains("..") => {
                        respond(&conn, "200 OK", "application/octet-stream", &bytes);
                    }
                    _ => respond(&conn, "404 Not Found", "text/plain", b"not found"),
                }
            }
        });
        Self { port, root }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

//! The requests: three Twirp calls to the cache service and the transfers
//! to and from the signed blob URLs it hands out.
//!
//! Answers of 500, 502, 503 and 504 are tried again (three times, 1 s, 2 s,
//! 4 s apart); a 429 is not (the service says when to come back, later
//! than a job wants to wait). Every message leaves the signed URLs out.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use super::{CacheError, Keys, Lookup, READ_TIMEOUT};

/// Bytes sent in one request to the blob; larger snapshots go in blocks
/// of this size.
const BLOCK: u64 = 64 << 20;
/// The blob API version sent with transfers.
const BLOB_VERSION: &str = "2020-04-08";
/// Attempts of a request answered with a server error.
const ATTEMPTS: u32 = 4;

/// The cache service of this job.
pub struct Service {
    base: String,
    token: String,
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

impl Service {
    /// The service named by `ACTIONS_RESULTS_URL` and
    /// `ACTIONS_RUNTIME_TOKEN`.
    ///
    /// # Errors
    /// When they are not set (outside a step of a JavaScript action).
    pub fn from_env(lookup: Lookup<'_>) -> Result<Self, CacheError> {
        let get = |k: &str| lookup(k).filter(|v| !v.is_empty());
        let (Some(base), Some(token)) = (get("ACTIONS_RESULTS_URL"), get("ACTIONS_RUNTIME_TOKEN"))
        else {
            return Err(CacheError::OutOfReach);
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CacheError::Client(format!("no runtime: {e}")))?;
        // The client's timers belong to the runtime it is built in.
        let guard = rt.enter();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(READ_TIMEOUT)
            .user_agent(concat!("kiln/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CacheError::Client(e.to_string()))?;
        drop(guard);
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            token,
            http,
            rt,
        })
    }

    /// One Twirp call; the answer's JSON.
    fn call(&self, method: &str, body: &Value) -> Result<Value, CacheError> {
        let url = format!(
            "{}/twirp/github.actions.results.api.v1.CacheService/{method}",
            self.base
        );
        let body = body.to_string();
        let send = || {
            self.http
                .post(&url)
                .bearer_auth(&self.token)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
        };
        let response = self.retrying(method, send)?;
        let status = response.status();
        let text = self
            .rt
            .block_on(response.text())
            .map_err(|e| transfer(method, e.without_url()))?;
        if !status.is_success() {
            let msg = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| {
                    v.get("msg")
                        .and_then(Value::as_str)
                        .map(|m| format!(" {m}"))
                })
                .unwrap_or_default();
            return Err(CacheError::Answered {
                what: method.to_owned(),
                by: "the cache service",
                status: status.to_string(),
                msg,
            });
        }
        serde_json::from_str(&text).map_err(|e| transfer(method, format!("not JSON: {e}")))
    }

    /// Sends a request, again after a server error.
    fn retrying<F, Fut>(&self, what: &str, send: F) -> Result<reqwest::Response, CacheError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
    {
        let mut pause = Duration::from_secs(1);
        for attempt in 1..=ATTEMPTS {
            match self.rt.block_on(async { send().await }) {
                Ok(r)
                    if matches!(r.status().as_u16(), 500 | 502 | 503 | 504)
                        && attempt < ATTEMPTS => {}
                Ok(r) if r.status().as_u16() == 429 => {
                    let after = r
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("?")
                        .to_owned();
                    return Err(CacheError::RateLimited {
                        what: what.to_owned(),
                        after,
                    });
                }
                Ok(r) => return Ok(r),
                Err(e) if attempt == ATTEMPTS => {
                    return Err(transfer(what, e.without_url()));
                }
                Err(_) => {}
            }
            std::thread::sleep(pause);
            pause *= 2;
        }
        Err(transfer(what, "no answer"))
    }

    /// The newest entry matching `keys`: its key and download URL.
    ///
    /// # Errors
    /// When the service cannot be asked.
    pub fn find(&self, keys: &Keys, version: &str) -> Result<Option<(String, String)>, CacheError> {
        let mut restore = vec![keys.key.clone()];
        restore.extend(keys.restore.iter().cloned());
        let answer = self.call(
            "GetCacheEntryDownloadURL",
            &json!({"key": keys.key, "restore_keys": restore, "version": version}),
        )?;
        let ok = answer.get("ok").and_then(Value::as_bool).unwrap_or(false);
        let url = answer.get("signed_download_url").and_then(Value::as_str);
        let matched = answer.get("matched_key").and_then(Value::as_str);
        Ok(match (ok, url, matched) {
            (true, Some(url), Some(m)) if !url.is_empty() => Some((m.to_owned(), url.to_owned())),
            _ => None,
        })
    }

    /// Downloads the blob at `url` into `out`, refusing more than `limit`
    /// bytes.
    ///
    /// # Errors
    /// When the transfer fails or the blob is larger than `limit`.
    pub fn download(&self, url: &str, out: &mut File, limit: u64) -> Result<(), CacheError> {
        let send = || {
            self.http
                .get(url)
                .header("x-ms-version", BLOB_VERSION)
                .send()
        };
        let mut response = self.retrying("download", send)?;
        if !response.status().is_success() {
            return Err(blob_answered("download", response.status()));
        }
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(CacheError::TooLarge { limit });
        }
        let mut got = 0u64;
        while let Some(chunk) = self
            .rt
            .block_on(response.chunk())
            .map_err(|e| transfer("download", e.without_url()))?
        {
            got += chunk.len() as u64;
            if got > limit {
                return Err(CacheError::TooLarge { limit });
            }
            out.write_all(&chunk)
                .map_err(|e| transfer("download", format!("cannot write the snapshot: {e}")))?;
        }
        Ok(())
    }

    /// Creates the entry `key`, sends `size` bytes of `file` to it and
    /// finalizes it.
    ///
    /// # Errors
    /// When the service refuses the entry (it exists, or the job may not
    /// write) or a transfer fails.
    pub fn upload(
        &self,
        key: &str,
        version: &str,
        file: &mut File,
        size: u64,
    ) -> Result<(), CacheError> {
        let created = self.call("CreateCacheEntry", &json!({"key": key, "version": version}))?;
        let ok = created.get("ok").and_then(Value::as_bool).unwrap_or(false);
        let url = created
            .get("signed_upload_url")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !ok || url.is_empty() {
            let msg = created
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no reason given");
            return Err(refused(key, false, msg));
        }
        if size <= 2 * BLOCK {
            self.put(url, "", read_part(file, 0, size)?)?;
        } else {
            self.put_blocks(url, file, size)?;
        }
        let done = self.call(
            "FinalizeCacheEntryUpload",
            &json!({"key": key, "size_bytes": size.to_string(), "version": version}),
        )?;
        if done.get("ok").and_then(Value::as_bool) != Some(true) {
            let msg = done
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no reason given");
            return Err(refused(key, true, msg));
        }
        Ok(())
    }

    /// One `PUT` to the blob URL with `query` added.
    fn put(&self, url: &str, query: &str, body: Vec<u8>) -> Result<(), CacheError> {
        let body = bytes::Bytes::from(body);
        let target = format!("{url}{query}");
        let whole = query.is_empty();
        let send = || {
            let mut req = self
                .http
                .put(&target)
                .header("x-ms-version", BLOB_VERSION)
                .body(bytes::Bytes::clone(&body));
            if whole {
                req = req.header("x-ms-blob-type", "BlockBlob");
            }
            req.send()
        };
        let response = self.retrying("upload", send)?;
        if !response.status().is_success() {
            return Err(blob_answered("upload", response.status()));
        }
        Ok(())
    }

    /// A large snapshot as blocks, then the list that joins them.
    fn put_blocks(&self, url: &str, file: &mut File, size: u64) -> Result<(), CacheError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut ids = Vec::new();
        let mut offset = 0;
        while offset < size {
            let len = BLOCK.min(size - offset);
            // Six digits: every id has the same length, and no padding.
            let id = b64.encode(format!("{:06}", ids.len()));
            self.put(
                url,
                &format!("&comp=block&blockid={id}"),
                read_part(file, offset, len)?,
            )?;
            ids.push(id);
            offset += len;
        }
        let mut list = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        for id in &ids {
            list.push_str(&format!("<Latest>{id}</Latest>"));
        }
        list.push_str("</BlockList>");
        self.put(url, "&comp=blocklist", list.into_bytes())
    }
}

/// `len` bytes of `file` from `offset`.
fn read_part(file: &mut File, offset: u64, len: u64) -> Result<Vec<u8>, CacheError> {
    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.take(len).read_to_end(&mut buf))
        .map_err(|e| transfer("upload", format!("cannot read the snapshot: {e}")))?;
    Ok(buf)
}

fn transfer(what: &str, detail: impl std::fmt::Display) -> CacheError {
    CacheError::Transfer {
        what: what.to_owned(),
        detail: detail.to_string(),
    }
}

fn blob_answered(what: &str, status: reqwest::StatusCode) -> CacheError {
    CacheError::Answered {
        what: what.to_owned(),
        by: "the blob store",
        status: status.to_string(),
        msg: String::new(),
    }
}

fn refused(key: &str, kept: bool, msg: &str) -> CacheError {
    CacheError::Refused {
        key: key.to_owned(),
        kept,
        msg: msg.to_owned(),
    }
}

//! The socket protocol: one line per request, one line per answer (see
//! the module docs of `agent`).

use crate::Kind;
use kiln_key::Digest;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use super::fetch::*;
use super::server::*;
use super::state::*;

pub(super) async fn accept(listener: UnixListener, shared: Arc<Shared>) {
    while let Ok((conn, _)) = listener.accept().await {
        tokio::spawn(serve(conn, Arc::clone(&shared)));
    }
}

pub(super) async fn serve(conn: UnixStream, shared: Arc<Shared>) {
    let (read, mut write) = conn.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let answer = answer(&shared, &line).await;
        if write
            .write_all(format!("{answer}\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

pub(super) async fn answer(shared: &Arc<Shared>, line: &str) -> String {
    shared.widened.call_once(|| {
        shared
            .prefetch_slots
            .add_permits(PREFETCH_PARALLELISM - PREFETCH_PARALLELISM_AT_START);
    });
    let mut words = line.split_ascii_whitespace();
    let (Some(verb), Some(kind), Some(key), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return "FAILED malformed request".into();
    };
    let (Some(kind), Some(key)) = (Kind::parse(kind), Digest::from_hex(key)) else {
        return "FAILED malformed request".into();
    };
    match verb {
        "FETCH" => match fetch_once(shared, kind, key, false).await {
            Fetch::Found(n) => format!("FOUND {n}"),
            Fetch::Absent => "ABSENT".into(),
            Fetch::Off => "OFF".into(),
            Fetch::Failed(cause) => format!("FAILED {cause}"),
        },
        "STORE" => store(shared, kind, key),
        _ => "FAILED unknown request".into(),
    }
}

//! The agent over its socket, with a real `file://` store: the protocol's
//! answers, a round trip through the store, and a given-up store.

use std::path::Path;
use std::time::Duration;

use kiln_key::Digest;
use kiln_store::LocalStore;

use super::{Agent, AgentClient, AgentOptions};
use crate::{Kind, local};

fn remote(dir: &Path) -> kiln_config::RemoteConfig {
    let url = format!("file://{}", dir.display());
    let cfg = kiln_config::Config::from_lookup(|k| match k {
        "HOME" => Some("/nonexistent-home".into()),
        "KILN_DIR" => Some(dir.join("unused-local").into()),
        "KILN_REMOTE" => Some(url.clone().into()),
        _ => None,
    })
    .unwrap();
    cfg.remote.unwrap()
}

fn key(n: u8) -> Digest {
    Digest::from_hex(&blake3::hash(&[n]).to_hex()).unwrap()
}

fn start(remote_dir: &Path, local: &Path) -> (Agent, AgentClient) {
    let agent = Agent::start(
        &remote(remote_dir),
        LocalStore::new(local),
        AgentOptions::default(),
    )
    .unwrap();
    let client = AgentClient::new(agent.socket().to_path_buf());
    (agent, client)
}

#[test]
fn answers_follow_the_protocol_and_an_object_makes_the_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    let (a_local, b_local) = (dir.path().join("a"), dir.path().join("b"));
    let k = key(1);
    let path = local::path(&LocalStore::new(&a_local), Kind::Components, &k);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, br#"{"version":1}"#).unwrap();

    let (agent, mut client) = start(&store, &a_local);
    assert_eq!(
        client
            .request("FETCH", Kind::Components, &key(2))
            .as_deref(),
        Some("ABSENT")
    );
    let queued = client.request("STORE", Kind::Components, &k).unwrap();
    assert_eq!(queued, "QUEUED 13");
    let report = agent.finish(Duration::from_secs(10), None, None);
    assert_eq!((report.uploads, report.upload_errors), (1, 0), "{report:?}");

    // Another build, another local store: the object comes back through
    // the store, into the local store, before the answer.
    let (agent, mut client) = start(&store, &b_local);
    let found = client.request("FETCH", Kind::Components, &k).unwrap();
    assert!(found.starts_with("FOUND "), "{found}");
    let fetched = local::path(&LocalStore::new(&b_local), Kind::Components, &k);
    assert_eq!(std::fs::read(fetched).unwrap(), br#"{"version":1}"#);
    let report = agent.finish(Duration::from_secs(1), None, None);
    assert_eq!(report.fetched, 1);
}

#[test]
fn malformed_and_unknown_requests_are_refused_and_the_connection_goes_on() {
    use std::io::{BufRead, BufReader, Write};
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    let (agent, _) = start(&store, &dir.path().join("local"));
    let conn = std::os::unix::net::UnixStream::connect(agent.socket()).unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut ask = |line: &str| {
        (&conn).write_all(format!("{line}\n").as_bytes()).unwrap();
        let mut answer = String::new();
        reader.read_line(&mut answer).unwrap();
        answer.trim_end().to_owned()
    };
    let hex = key(3).to_hex();
    assert_eq!(ask("FETCH"), "FAILED malformed request");
    assert_eq!(ask("FETCH entry not-hex"), "FAILED malformed request");
    assert_eq!(
        ask(&format!("FETCH nosuchkind {hex}")),
        "FAILED malformed request"
    );
    assert_eq!(
        ask(&format!("FETCH entry {hex} extra")),
        "FAILED malformed request"
    );
    assert_eq!(ask(&format!("PUSH entry {hex}")), "FAILED unknown request");
    assert_eq!(ask(&format!("FETCH entry {hex}")), "ABSENT");
    drop(agent);
}

#[test]
fn a_store_that_is_gone_is_given_up_and_answered_off() {
    let dir = tempfile::tempdir().unwrap();
    // A `file://` store that is a file, not a directory: every request
    // fails, and after a few the store is given up for the build.
    let not_a_dir = dir.path().join("store");
    std::fs::write(&not_a_dir, b"").unwrap();
    let (agent, mut client) = start(&not_a_dir, &dir.path().join("local"));
    let mut answers = Vec::new();
    for n in 0..6 {
        answers.push(client.request("FETCH", Kind::Entry, &key(10 + n)).unwrap());
    }
    assert!(answers[0].starts_with("FAILED"), "{answers:?}");
    assert_eq!(
        answers.last().map(String::as_str),
        Some("OFF"),
        "{answers:?}"
    );
    let report = agent.finish(Duration::from_secs(1), None, None);
    assert!(report.gave_up.is_some(), "{report:?}");
}

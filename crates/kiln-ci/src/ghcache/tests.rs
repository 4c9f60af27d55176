use std::collections::HashMap;

use super::*;

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn keys_are_per_job_and_fall_back_to_the_default_branch() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, r#"{"repository": {"default_branch": "trunk"}}"#).unwrap();
    let event = event.to_str().unwrap();
    let vars = [
        ("RUNNER_OS", "Linux"),
        ("RUNNER_ARCH", "X64"),
        ("GITHUB_JOB", "build"),
        ("GITHUB_HEAD_REF", "topic,x"),
        ("GITHUB_REF_NAME", "12/merge"),
        ("GITHUB_RUN_ID", "77"),
        ("GITHUB_RUN_ATTEMPT", "2"),
        ("GITHUB_EVENT_PATH", event),
    ];
    let k = keys(&lookup(&vars));
    let wf = &blake3::hash(b"").to_hex()[..8];
    let prefix = format!("kiln-store.linux.x64.{wf}.build");
    assert!(
        k.key.starts_with(&format!("{prefix}.topic_x.77.2.")),
        "{}",
        k.key
    );
    assert_ne!(
        k.key,
        keys(&lookup(&vars)).key,
        "two jobs of a matrix, two keys"
    );
    assert_eq!(
        k.restore,
        [
            format!("{prefix}.topic_x."),
            format!("{prefix}.trunk."),
            format!("{prefix}."),
        ]
    );
    // `test.` is not a prefix of `test-e2e.`; another workflow, other keys.
    let t = keys(&lookup(&[("GITHUB_JOB", "test")]));
    let e2e = keys(&lookup(&[("GITHUB_JOB", "test-e2e")]));
    assert!(!e2e.key.starts_with(t.restore.last().unwrap()));
    let other = keys(&lookup(&[
        ("GITHUB_JOB", "test"),
        ("GITHUB_WORKFLOW", "nightly"),
    ]));
    assert_ne!(other.restore.last(), t.restore.last());
    // Long names stay within the service's 512 characters.
    let long = "b".repeat(600);
    let l = keys(&lookup(&[
        ("GITHUB_JOB", &long),
        ("GITHUB_HEAD_REF", &long),
        ("KILN_CI_CACHE_KEY", &long),
    ]));
    assert!(l.key.len() <= 512, "{}", l.key.len());
    let on_main = keys(&lookup(&[
        ("GITHUB_JOB", "test"),
        ("GITHUB_REF_NAME", "main"),
    ]));
    assert_eq!(
        on_main.restore.len(),
        2,
        "the default branch is not tried twice"
    );
    assert_eq!(version().len(), 64);
}

#[test]
fn outside_a_javascript_action_the_service_is_out_of_reach() {
    let err = Service::from_env(&lookup(&[("ACTIONS_RESULTS_URL", "http://x/")]))
        .err()
        .unwrap();
    assert!(matches!(err, CacheError::OutOfReach));
    assert!(err.to_string().contains("ACTIONS_RUNTIME_TOKEN"));
    assert!(err.hint().unwrap().contains("--file"));
}

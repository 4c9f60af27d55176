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
    assert_eq!(k.key, "kiln-store-linux-x64-build-topic_x-77-2");
    assert_eq!(
        k.restore,
        [
            "kiln-store-linux-x64-build-topic_x-",
            "kiln-store-linux-x64-build-trunk-",
            "kiln-store-linux-x64-build-",
        ]
    );
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
    assert!(err.contains("ACTIONS_RUNTIME_TOKEN") && err.contains("--file"));
}

//! The other services against their real servers on 127.0.0.1: WebDAV
//! (rclone), Azure Blob (Azurite), Google Cloud Storage (fake-gcs-server),
//! Redis; and a service this build left out.

#[allow(unused_imports)]
use super::*;

#[cfg(any(
    feature = "redis",
    feature = "webdav",
    feature = "azblob",
    feature = "gcs"
))]
fn fills_the_store_and_serves_a_fresh_runner(sb: &mut Sandbox) -> (u64, std::path::PathBuf) {
    let ws = sb.workspace("basic", "ws");
    let out = sb.cargo(&ws, &["build", "--release"]);
    assert!(remote_warnings(&out).is_empty(), "{}", stderr(&out));
    let (_, misses, _) = counts(&sb.take_stats());
    let expected = sb.run_program(&ws.join("target/release/app"));
    let out = rebuild_on_fresh_runner(sb, &ws, "runner-2");
    let warm = sb.take_stats();
    assert_eq!(counts(&warm), (misses, 0, 0), "{warm}\n{}", stderr(&out));
    assert_eq!(warm["remote"]["hits"], misses, "{warm}");
    assert_eq!(sb.run_program(&ws.join("target/release/app")), expected);
    (misses, ws)
}

#[cfg(feature = "webdav")]
#[test]
fn a_webdav_server_holds_a_shared_cache_too() {
    use common::servers::WebdavServer;
    let mut sb = Sandbox::new();
    let dav = WebdavServer::start(&sb.root.path().join("dav"));
    sb.set("KILN_REMOTE", &dav.url("team/kiln"));
    sb.set("KILN_REMOTE_USERNAME", WebdavServer::USER);
    sb.set("KILN_REMOTE_PASSWORD", WebdavServer::PASSWORD);
    let (misses, ws) = fills_the_store_and_serves_a_fresh_runner(&mut sb);
    assert!(walk_count(&dav.root.join("team/kiln/entries")) >= misses as usize);

    // A wrong password is one warning naming the cause; the build goes on.
    sb.set("KILN_REMOTE_PASSWORD", "wrong");
    let out = rebuild_on_fresh_runner(&mut sb, &ws, "runner-3");
    let warning = one_remote_warning(&out);
    assert!(warning.contains("access denied"), "{warning}");
}

#[cfg(feature = "azblob")]
#[test]
fn an_azure_blob_container_holds_a_shared_cache_too() {
    use common::servers::AzuriteServer;
    let mut sb = Sandbox::new();
    let azure = AzuriteServer::start(&sb.root.path().join("azurite"), "builds");
    sb.set("KILN_REMOTE", "azblob://builds/kiln");
    sb.set("KILN_REMOTE_ENDPOINT", &azure.endpoint());
    sb.set("AZURE_STORAGE_ACCOUNT", AzuriteServer::ACCOUNT);
    sb.set("AZURE_STORAGE_KEY", AzuriteServer::KEY);
    let (_, ws) = fills_the_store_and_serves_a_fresh_runner(&mut sb);

    // Another account key: refused, one warning naming what to check.
    sb.set(
        "AZURE_STORAGE_KEY",
        "d3JvbmctYnV0LXdlbGwtZm9ybWVkLWJhc2U2NC1rZXktZm9yLXRoZS10ZXN0cy0hIQ==",
    );
    let out = rebuild_on_fresh_runner(&mut sb, &ws, "runner-3");
    let warning = one_remote_warning(&out);
    assert!(
        warning.contains("access denied") && warning.contains("AZURE_STORAGE_KEY"),
        "{warning}"
    );
}

#[cfg(feature = "gcs")]
#[test]
fn a_google_cloud_storage_bucket_holds_a_shared_cache_too() {
    use common::servers::GcsServer;
    let mut sb = Sandbox::new();
    let gcs = GcsServer::start(&sb.root.path().join("gcs"), "builds");
    sb.set("KILN_REMOTE", "gcs://builds/kiln");
    sb.set("KILN_REMOTE_ENDPOINT", &gcs.endpoint());
    let (misses, ws) = fills_the_store_and_serves_a_fresh_runner(&mut sb);
    assert!(gcs.objects("builds").len() >= misses as usize);

    // A credentials file that is not there: one warning naming the
    // variable; the build runs on the local store.
    sb.set(
        "GOOGLE_APPLICATION_CREDENTIALS",
        &sb.root
            .path()
            .join("no-such-key.json")
            .display()
            .to_string(),
    );
    let out = rebuild_on_fresh_runner(&mut sb, &ws, "runner-3");
    let warning = one_remote_warning(&out);
    assert!(
        warning.contains("GOOGLE_APPLICATION_CREDENTIALS"),
        "{warning}"
    );
    let (_, cold_misses, _) = counts(&sb.take_stats());
    assert_eq!(cold_misses, misses);

    // Credentials that do not sign: a key file that is no key.
    let bad_key = sb.root.path().join("bad-key.json");
    std::fs::write(&bad_key, r#"{"type": "service_account", "client_email": "ci@example.iam.gserviceaccount.com", "private_key": "not a key"}"#).unwrap();
    sb.set(
        "GOOGLE_APPLICATION_CREDENTIALS",
        &bad_key.display().to_string(),
    );
    let out = rebuild_on_fresh_runner(&mut sb, &ws, "runner-4");
    let warning = one_remote_warning(&out);
    assert!(
        warning.contains("GOOGLE_APPLICATION_CREDENTIALS"),
        "{warning}"
    );
    sb.unset("GOOGLE_APPLICATION_CREDENTIALS");

    // A bucket that does not exist is named once.
    sb.set("KILN_REMOTE", "gcs://no-such-bucket/kiln");
    let out = rebuild_on_fresh_runner(&mut sb, &ws, "runner-5");
    let warning = one_remote_warning(&out);
    assert!(warning.contains("the bucket does not exist"), "{warning}");
}

#[cfg(feature = "redis")]
#[test]
fn redis_holds_a_shared_cache_too() {
    let mut sb = Sandbox::new();
    let redis = common::servers::RedisServer::start(&sb.root.path().join("redis"));
    sb.set("KILN_REMOTE", &redis.url());
    let (_, ws) = fills_the_store_and_serves_a_fresh_runner(&mut sb);

    // Redis cannot list keys by age: `gc --remote` says so and what to do.
    let out = sb
        .command(common::kiln_bin(), &ws)
        .args(["gc", "--remote", "--older-than", "30d"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.starts_with("error: a Redis store cannot list its objects")
            && text.contains("hint: bound Redis's memory instead"),
        "{text}"
    );
}

#[cfg(not(all(feature = "s3", feature = "redis")))]
#[test]
fn a_store_left_out_of_the_build_is_one_warning() {
    let mut sb = Sandbox::new();
    let url = if cfg!(feature = "s3") {
        "redis://127.0.0.1:1/0"
    } else {
        "s3://bucket/prefix"
    };
    sb.set("KILN_REMOTE", url);
    let ws = sb.workspace("basic", "ws");
    let out = sb.cargo(&ws, &["build", "--release"]);
    let warning = one_remote_warning(&out);
    assert!(warning.contains("built without"), "{warning}");
    assert!(counts(&sb.take_stats()).1 > 0);
}

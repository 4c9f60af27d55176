//! Names of every environment variable kiln reads, and [`TABLE`], the one
//! list of them that `kiln --help` and the key rules are made from. Nothing
//! else in kiln spells a `KILN_*` name.

/// Directory of the local store (default: the platform cache dir + `kiln`).
pub const DIR: &str = "KILN_DIR";
/// Size bound of the local store (`10G` by default).
pub const CACHE_SIZE: &str = "KILN_CACHE_SIZE";
/// `1` passes every call straight to the compiler.
pub const DISABLE: &str = "KILN_DISABLE";
/// `normalize` (default) or `exact`: how paths enter cache keys.
pub const PATHS: &str = "KILN_PATHS";
/// `auto` (default) or `off`: observation of what the compiler reads.
pub const TRACE: &str = "KILN_TRACE";
/// Run id grouping the records of one `kiln run`.
pub const RUN_ID: &str = "KILN_RUN_ID";
/// File receiving debug log lines.
pub const LOG: &str = "KILN_LOG";

/// `1`: keep the values of every environment variable a compile read (not
/// only harmless ones) for `kiln explain --show-env-values`. Values can be
/// secrets: use on trusted machines with a local store only.
pub const EXPLAIN_ENV_VALUES: &str = "KILN_EXPLAIN_ENV_VALUES";
/// Remote store URL: `s3://bucket/prefix`, `gcs://bucket/prefix`,
/// `azblob://container/prefix`, `webdav+https://host/path`,
/// `redis://host:port/db`, `file:///dir`; `off`
/// for none, whatever `kiln.toml` or sccache's names say.
pub const REMOTE: &str = "KILN_REMOTE";
/// `1`: read from the remote store, never write to it (untrusted builds).
pub const REMOTE_READ_ONLY: &str = "KILN_REMOTE_READ_ONLY";
/// Endpoint of an S3-compatible service (default: `AWS_ENDPOINT_URL`, then
/// AWS), of Azure Blob or of a GCS emulator (plain `http://`: unsigned).
pub const REMOTE_ENDPOINT: &str = "KILN_REMOTE_ENDPOINT";
/// Region of the bucket (default: `AWS_REGION`, then `us-east-1`).
pub const REMOTE_REGION: &str = "KILN_REMOTE_REGION";
/// User name for a WebDAV store, or the account of an Azure Blob store
/// (default: `AZURE_STORAGE_ACCOUNT`).
pub const REMOTE_USERNAME: &str = "KILN_REMOTE_USERNAME";
/// Password for a WebDAV store, the account key of an Azure Blob store
/// (default: `AZURE_STORAGE_KEY`), or an OAuth2 access token for GCS.
pub const REMOTE_PASSWORD: &str = "KILN_REMOTE_PASSWORD";
/// Bound of one remote request, e.g. `10s` (default `15s`).
pub const REMOTE_TIMEOUT: &str = "KILN_REMOTE_TIMEOUT";
/// How long `kiln run` waits for pending uploads at its end (default `120s`).
pub const UPLOAD_WAIT: &str = "KILN_UPLOAD_WAIT";
/// `0` turns off the prefetch of the previous build's keys in `kiln run`.
pub const PREFETCH: &str = "KILN_PREFETCH";
/// Secret key: remote entries are signed (HMAC-SHA256) and verified.
pub const SIGNING_KEY: &str = "KILN_SIGNING_KEY";

/// Variables whose values are secrets: never shown in a message.
pub const SECRETS: &[&str] = &[
    SIGNING_KEY,
    REMOTE_PASSWORD,
    "AZURE_STORAGE_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];
/// Path of a `kiln.toml` to use instead of searching upwards from the
/// working directory (`kiln run` sets it for the calls it wraps).
pub const CONFIG: &str = "KILN_CONFIG";
/// Socket of the build agent of a `kiln run` (set by `kiln run`).
pub const AGENT: &str = "KILN_AGENT";

/// A variable kiln reads, and its line in `kiln --help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    /// The name.
    pub name: &'static str,
    /// What `kiln --help` says of it, in one sentence (wrapped when
    /// rendered); `None` for the variables `kiln run` sets itself and the
    /// remote store's finer settings, which `docs/remote.md` describes.
    pub help: Option<&'static str>,
}

const fn listed(name: &'static str, help: &'static str) -> Var {
    Var {
        name,
        help: Some(help),
    }
}

const fn unlisted(name: &'static str) -> Var {
    Var { name, help: None }
}

/// Every variable above, in the order `kiln --help` lists them.
pub const TABLE: &[Var] = &[
    listed(DIR, "store directory (default: ~/.cache/kiln)"),
    listed(
        CACHE_SIZE,
        "size bound of the store, e.g. 10G (default), 500M",
    ),
    listed(
        PATHS,
        "normalize (default: hits from any checkout) or exact",
    ),
    listed(DISABLE, "1 to compile everything without the cache"),
    listed(
        TRACE,
        "auto (default) or off: observe what the compiler reads",
    ),
    listed(LOG, "file to append debug lines to"),
    unlisted(RUN_ID),
    unlisted(EXPLAIN_ENV_VALUES),
    listed(
        REMOTE,
        "shared store: s3://bucket/prefix, gcs://bucket/prefix, azblob://container/prefix, \
         webdav+https://host/path, redis://host:6379/0, file:///dir",
    ),
    listed(
        REMOTE_READ_ONLY,
        "1 to read the shared store, never write it",
    ),
    unlisted(REMOTE_ENDPOINT),
    unlisted(REMOTE_REGION),
    unlisted(REMOTE_TIMEOUT),
    unlisted(REMOTE_USERNAME),
    unlisted(REMOTE_PASSWORD),
    unlisted(UPLOAD_WAIT),
    unlisted(PREFETCH),
    listed(
        SIGNING_KEY,
        "secret: sign shared entries, ignore unsigned ones",
    ),
    unlisted(CONFIG),
    unlisted(AGENT),
];

/// The name of every variable in [`TABLE`], for keeping them out of keys.
pub const ALL: &[&str] = &{
    let mut names = [""; TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        names[i] = TABLE[i].name;
        i += 1;
    }
    names
};

/// Indent of a line of [`help`].
const HELP_INDENT: usize = 2;
/// Width of the name column: a description starts after it, or two spaces
/// after a name that fills it.
const HELP_NAME_WIDTH: usize = 17;
/// Descriptions wrap before this column.
const HELP_WIDTH: usize = 80;

/// The listed variables of [`TABLE`] as `kiln --help` shows them: one per
/// line, name then description, long descriptions wrapped under the
/// description column. Every line ends with a newline.
pub fn help() -> String {
    let mut out = String::new();
    for var in TABLE {
        let Some(text) = var.help else {
            continue;
        };
        let gap = if var.name.len() < HELP_NAME_WIDTH {
            HELP_NAME_WIDTH - var.name.len()
        } else {
            2
        };
        let lead = format!("{:HELP_INDENT$}{}{:gap$}", "", var.name, "");
        push_wrapped(&mut out, lead, text);
    }
    out
}

/// Appends `text` after `lead`, wrapped at [`HELP_WIDTH`] with continuation
/// lines under the description column.
fn push_wrapped(out: &mut String, lead: String, text: &str) {
    let mut line = lead;
    let mut empty = true;
    for word in text.split(' ') {
        if !empty && line.len() + 1 + word.len() > HELP_WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = " ".repeat(HELP_INDENT + HELP_NAME_WIDTH);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
}

/// Names of sccache's settings that kiln accepts when no `KILN_*` value is set.
pub mod sccache {
    /// Bucket name.
    pub const BUCKET: &str = "SCCACHE_BUCKET";
    /// Endpoint (host, or URL with scheme).
    pub const ENDPOINT: &str = "SCCACHE_ENDPOINT";
    /// Region.
    pub const REGION: &str = "SCCACHE_REGION";
    /// Key prefix inside the bucket.
    pub const S3_KEY_PREFIX: &str = "SCCACHE_S3_KEY_PREFIX";
    /// `true` to use `http://` for an endpoint without a scheme.
    pub const S3_NO_SSL: &str = "SCCACHE_S3_NO_SSL";
    /// Redis endpoint.
    pub const REDIS: &str = "SCCACHE_REDIS";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_each_variable_once() {
        for (i, var) in TABLE.iter().enumerate() {
            assert!(var.name.starts_with("KILN_"), "{}", var.name);
            assert!(!ALL[..i].contains(&var.name), "{} twice", var.name);
            assert_eq!(ALL[i], var.name);
        }
    }

    #[test]
    fn help_lists_the_listed_variables() {
        assert_eq!(
            help(),
            "  KILN_DIR         store directory (default: ~/.cache/kiln)
  KILN_CACHE_SIZE  size bound of the store, e.g. 10G (default), 500M
  KILN_PATHS       normalize (default: hits from any checkout) or exact
  KILN_DISABLE     1 to compile everything without the cache
  KILN_TRACE       auto (default) or off: observe what the compiler reads
  KILN_LOG         file to append debug lines to
  KILN_REMOTE      shared store: s3://bucket/prefix, gcs://bucket/prefix,
                   azblob://container/prefix, webdav+https://host/path,
                   redis://host:6379/0, file:///dir
  KILN_REMOTE_READ_ONLY  1 to read the shared store, never write it
  KILN_SIGNING_KEY secret: sign shared entries, ignore unsigned ones
"
        );
        for line in help().lines() {
            assert!(line.is_ascii() && line.len() <= HELP_WIDTH, "{line}");
        }
    }
}

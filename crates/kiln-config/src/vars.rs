//! Names of every environment variable kiln reads. Nothing else in kiln spells
//! a `KILN_*` name.

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

/// Every variable above, for documentation and for keeping them out of keys.
pub const ALL: &[&str] = &[
    DIR,
    CACHE_SIZE,
    DISABLE,
    PATHS,
    TRACE,
    RUN_ID,
    LOG,
    EXPLAIN_ENV_VALUES,
    REMOTE,
    REMOTE_READ_ONLY,
    REMOTE_ENDPOINT,
    REMOTE_REGION,
    REMOTE_TIMEOUT,
    REMOTE_USERNAME,
    REMOTE_PASSWORD,
    UPLOAD_WAIT,
    PREFETCH,
    SIGNING_KEY,
    CONFIG,
    AGENT,
];

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
/// Path of a `kiln.toml` to use instead of searching upwards from the
/// working directory (`kiln run` sets it for the calls it wraps).
pub const CONFIG: &str = "KILN_CONFIG";
/// Socket of the build agent of a `kiln run` (set by `kiln run`).
pub const AGENT: &str = "KILN_AGENT";

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

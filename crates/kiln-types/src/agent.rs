//! The agent's report: what the remote tier did during one `kiln run`,
//! written to `KILN_DIR/records/<run>.remote.json` beside the run's records.
//!
//! The agent (`kiln-remote`) fills it in, `kiln run` adds the hits on
//! prefetched entries and writes it, and `kiln stats` reads it back for the
//! remote counts no unit record carries. Fields are only added; every field
//! reads as its default when absent, so reports of older kilns read back.

use serde::{Deserialize, Serialize};

/// What the agent did during one build (`records/<run>.remote.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentReport {
    /// The store.
    pub url: String,
    /// Requests sent to the store.
    pub requests: u64,
    /// Objects found on demand (wrapper asked).
    pub fetched: u64,
    /// Entries found on demand.
    pub fetched_entries: u64,
    /// Objects the store did not have.
    pub absent: u64,
    /// Bytes downloaded (on demand and prefetch).
    pub bytes_down: u64,
    /// Objects rejected by their checksum or signature.
    pub rejected: u64,
    /// Failed requests.
    pub errors: u64,
    /// Keys listed in the prefetch index.
    pub prefetch_listed: u64,
    /// Entries the prefetch brought in.
    pub prefetched_entries: u64,
    /// Bytes the prefetch downloaded.
    pub prefetch_bytes: u64,
    /// How long the prefetch took from the agent's start, ms (0: none ran).
    pub prefetch_ms: u64,
    /// Hits of the build on prefetched entries (filled in by `kiln run`).
    pub prefetched_hits: u64,
    /// Uploads done.
    pub uploads: u64,
    /// Bytes uploaded.
    pub bytes_up: u64,
    /// Uploads that failed.
    pub upload_errors: u64,
    /// Uploads still pending when the wait bound ran out.
    pub uploads_abandoned: u64,
    /// Why the store was given up, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gave_up: Option<String>,
    /// Entry keys the prefetch brought in (hex), to count their hits.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prefetched_keys: Vec<String>,
}

impl AgentReport {
    /// Failed or rejected requests and failed or abandoned uploads: the
    /// agent answers a wrapper's failed or rejected fetch as a plain miss,
    /// so these counts are the only place those errors are seen.
    pub fn error_count(&self) -> u64 {
        self.errors + self.rejected + self.upload_errors + self.uploads_abandoned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_fields_read_as_zero() {
        let r: AgentReport =
            serde_json::from_str(r#"{"errors": 2, "prefetched_hits": 5, "extra": true}"#)
                .expect("parses");
        assert_eq!((r.errors, r.prefetched_hits, r.uploads), (2, 5, 0));
        assert_eq!(r.error_count(), 2);
    }

    #[test]
    fn round_trips_and_leaves_empty_optional_fields_out() {
        let r = AgentReport {
            url: "s3://b".into(),
            uploads: 3,
            ..AgentReport::default()
        };
        let json = serde_json::to_value(&r).expect("serializes");
        assert!(json.get("gave_up").is_none() && json.get("prefetched_keys").is_none());
        assert_eq!(json["uploads"], 3);
        assert_eq!(serde_json::from_value::<AgentReport>(json).ok(), Some(r));
    }
}

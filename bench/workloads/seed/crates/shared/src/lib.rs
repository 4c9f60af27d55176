use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Job {
    pub id: uuid::Uuid,
    pub name: String,
    pub created: chrono::DateTime<chrono::Utc>,
    pub tags: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("invalid job: {0}")]
    Invalid(String),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

pub fn parse(text: &str) -> Result<Job, JobError> {
    let job: Job = serde_json::from_str(text)?;
    if job.name.is_empty() {
        return Err(JobError::Invalid("empty name".into()));
    }
    Ok(job)
}

pub fn new_job(name: &str) -> Job {
    Job { id: uuid::Uuid::new_v4(), name: name.into(), created: chrono::Utc::now(), tags: vec![] }
}

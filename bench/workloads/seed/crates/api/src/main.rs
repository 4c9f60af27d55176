use axum::{Json, Router, routing::get, routing::post};

async fn health() -> &'static str {
    "ok"
}

async fn create(Json(body): Json<serde_json::Value>) -> Json<shared::Job> {
    let name = body.get("name").and_then(|v| v.as_str()).unwrap_or("job");
    Json(shared::new_job(name))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let app = Router::new()
        .route("/health", get(health))
        .route("/jobs", post(create))
        .layer(tower_http::trace::TraceLayer::new_for_http());
    if std::env::args().any(|a| a == "--check") {
        println!("api ok");
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    tracing::info!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

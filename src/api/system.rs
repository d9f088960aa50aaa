//! Health, metrics and the OpenAPI document.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::{ApiError, OPENAPI_JSON};
use crate::service::Service;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health))
        .route("/metrics", web::get().to(metrics))
        .route("/openapi.json", web::get().to(openapi));
}

async fn health(service: web::Data<Service>) -> Result<HttpResponse, ApiError> {
    service.health().await.map_err(|cause| {
        tracing::warn!(%cause, "health check failed");
        ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the service cannot reach its database",
        )
    })?;
    Ok(HttpResponse::Ok().json(json!({"status": "ok"})))
}

async fn metrics(service: web::Data<Service>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(service.metrics().render())
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI_JSON)
}

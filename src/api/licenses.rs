//! Licence contracts: list, read, evaluate an intended use, compose the credit line.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::licenses::{Attribution, IntendedUse, License, Verdict, WorkCredit};
use crate::service::Service;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/licenses", web::get().to(list))
        .route("/v1/licenses/{id}", web::get().to(one))
        .route("/v1/licenses/{id}/evaluate", web::post().to(evaluate))
        .route("/v1/licenses/{id}/attribution", web::post().to(attribution));
}

#[derive(Serialize)]
struct LicenseList<'a> {
    contract_hash: &'a str,
    licenses: Vec<&'a License>,
}

async fn list(service: web::Data<Service>) -> HttpResponse {
    let set = service.licenses();
    HttpResponse::Ok().json(LicenseList {
        contract_hash: set.content_hash(),
        licenses: set.iter().collect(),
    })
}

async fn one(service: web::Data<Service>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service.license(&id)?))
}

#[derive(Deserialize)]
struct EvaluateRequest {
    #[serde(flatten)]
    intended_use: IntendedUse,
    /// The rights holder's AI usage preferences, as a `Content-Usage` header value.
    content_usage: Option<String>,
}

async fn evaluate(
    service: web::Data<Service>,
    id: web::Path<String>,
    body: web::Json<EvaluateRequest>,
) -> Result<web::Json<Verdict>, ApiError> {
    let body = body.into_inner();
    Ok(web::Json(service.evaluate_use(
        &id,
        &body.intended_use,
        body.content_usage.as_deref(),
    )?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttributionRequest {
    title: String,
    creator: String,
    source_url: Option<String>,
    /// What was changed, for licences that require changes to be indicated.
    changes: Option<String>,
}

async fn attribution(
    service: web::Data<Service>,
    id: web::Path<String>,
    body: web::Json<AttributionRequest>,
) -> Result<web::Json<Attribution>, ApiError> {
    let body = body.into_inner();
    let credit = WorkCredit {
        title: body.title,
        creator: body.creator,
        source_url: body.source_url,
        license_id: id.into_inner(),
    };
    Ok(web::Json(
        service.compose_attribution(&credit, body.changes.as_deref())?,
    ))
}

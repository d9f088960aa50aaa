//! Attributions over HTTP: record one, revoke or dispute it, find attributions by work, URL,
//! media hash or image, and open a publisher commitment for a dispute.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{bearer_token, page_limit, signing, upload, written, ApiError};
use crate::attributions::AttributionChange;
use crate::fingerprint::Fingerprints;
use crate::ledger::Receipt;
use crate::licenses::{Adaptation, IntendedUse};
use crate::service::{AttributionRecorded, AttributionRequest, AttributionView, Media, Service};
use crate::store::AttributionFilter;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/attributions", web::post().to(record))
        .route("/v1/attributions", web::get().to(list))
        .route("/v1/attributions/lookup", web::post().to(lookup))
        .route("/v1/attributions/{id}", web::get().to(one))
        .route("/v1/attributions/{id}/revoke", web::post().to(revoke))
        .route("/v1/attributions/{id}/dispute", web::post().to(dispute))
        .route("/v1/attributions/{id}/disclosure", web::post().to(disclose))
        .route(
            "/v1/works/{id}/attributions",
            web::get().to(work_attributions),
        );
}

const FIELDS: &[&str] = &[
    "fingerprints",
    "work_id",
    "commercial",
    "adaptation",
    "adaptation_license",
    "changes",
    "medium",
    "machine_use",
    "published_url",
    "allow_unmatched",
];

#[derive(Serialize)]
struct RecordedResponse {
    attribution: AttributionView,
    index: u64,
    receipt: Receipt,
}

impl From<AttributionRecorded> for RecordedResponse {
    fn from(recorded: AttributionRecorded) -> Self {
        RecordedResponse {
            attribution: recorded.attribution,
            index: recorded.appended.index,
            receipt: recorded.appended.receipt,
        }
    }
}

fn flag(form: &mut upload::Upload, name: &'static str) -> Result<bool, ApiError> {
    match form.take(name).as_deref().map(str::trim) {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::bad_request(
            "invalid_field",
            format!("the field {name:?} must be true or false, not {other:?}"),
        )),
    }
}

async fn record(
    service: web::Data<Service>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // Authenticate before reading a possibly large body.
    let account = service.authenticate(bearer_token(&req)).await?;
    let signing = signing(&req)?;
    let max = service.settings().decode_limits.max_bytes;
    let mut form = upload::read(&req, payload, max, FIELDS).await?;
    let media = match (form.image.take(), form.take("fingerprints")) {
        (Some(image), None) => Media::Upload(image),
        (None, Some(json)) => {
            let fingerprints: Fingerprints = serde_json::from_str(&json).map_err(|e| {
                ApiError::bad_request(
                    "invalid_fingerprints",
                    format!(
                        "the fingerprints field is not what `provenance fingerprint` prints: {e}"
                    ),
                )
            })?;
            Media::Fingerprints(Box::new(fingerprints))
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "ambiguous_media",
                "send either the image or its fingerprints, not both",
            ))
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "missing_image",
                "the form needs an \"image\" file field or a \"fingerprints\" field",
            ))
        }
    };
    let work_id = match form.take("work_id").filter(|v| !v.trim().is_empty()) {
        Some(text) => Some(text.trim().parse::<i64>().map_err(|_| {
            ApiError::bad_request(
                "invalid_field",
                format!("work_id must be an integer, not {text:?}"),
            )
        })?),
        None => None,
    };
    let adaptation_license = form
        .take("adaptation_license")
        .filter(|v| !v.trim().is_empty());
    let adaptation = match form.take("adaptation").as_deref().map(str::trim) {
        None | Some("") | Some("verbatim") => Adaptation::Verbatim,
        Some("adapted") => Adaptation::Adapted {
            license: adaptation_license,
        },
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_field",
                format!("adaptation must be \"verbatim\" or \"adapted\", not {other:?}"),
            ))
        }
    };
    let machine_use = match form.take("machine_use").filter(|v| !v.trim().is_empty()) {
        Some(label) => Some(
            crate::licenses::AiUse::from_label(label.trim()).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_field",
                    format!(
                        "machine_use {label:?} is not an AI usage category (e.g. train-ai, search)"
                    ),
                )
            })?,
        ),
        None => None,
    };
    let request = AttributionRequest {
        media,
        work_id,
        intended_use: IntendedUse {
            commercial: flag(&mut form, "commercial")?,
            adaptation,
            medium: form.take("medium"),
            machine_use,
        },
        changes: form.take("changes"),
        published_url: form.take("published_url"),
        allow_unmatched: flag(&mut form, "allow_unmatched")?,
    };
    let answer = service
        .record_attribution(&account, request, signing)
        .await?;
    Ok(written(answer, |recorded| {
        HttpResponse::Created()
            .insert_header((
                header::LOCATION,
                format!("/v1/attributions/{}", recorded.attribution.id),
            ))
            .json(RecordedResponse::from(recorded))
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    reason: Option<String>,
}

async fn revoke(
    service: web::Data<Service>,
    req: HttpRequest,
    id: web::Path<i64>,
    body: Option<web::Json<ChangeBody>>,
) -> Result<HttpResponse, ApiError> {
    change(
        service,
        req,
        id.into_inner(),
        AttributionChange::Revoke,
        body,
    )
    .await
}

async fn dispute(
    service: web::Data<Service>,
    req: HttpRequest,
    id: web::Path<i64>,
    body: Option<web::Json<ChangeBody>>,
) -> Result<HttpResponse, ApiError> {
    change(
        service,
        req,
        id.into_inner(),
        AttributionChange::Dispute,
        body,
    )
    .await
}

async fn change(
    service: web::Data<Service>,
    req: HttpRequest,
    id: i64,
    change: AttributionChange,
    body: Option<web::Json<ChangeBody>>,
) -> Result<HttpResponse, ApiError> {
    let account = service.authenticate(bearer_token(&req)).await?;
    let signing = signing(&req)?;
    let reason = body.and_then(|b| b.into_inner().reason);
    let answer = service
        .change_attribution(&account, id, change, reason, signing)
        .await?;
    Ok(written(answer, |recorded| {
        HttpResponse::Created().json(RecordedResponse::from(recorded))
    }))
}

async fn one(service: web::Data<Service>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service.attribution(id.into_inner()).await?))
}

#[derive(Serialize)]
struct ListResponse {
    attributions: Vec<AttributionView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_after: Option<i64>,
}

impl ListResponse {
    fn new(attributions: Vec<AttributionView>, limit: i64) -> Self {
        let next_after = (attributions.len() as i64 == limit)
            .then(|| attributions.last().map(|a| a.id))
            .flatten();
        ListResponse {
            attributions,
            next_after,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    work_id: Option<i64>,
    published_url: Option<String>,
    sha256: Option<String>,
    after: Option<i64>,
    limit: Option<i64>,
}

async fn list(
    service: web::Data<Service>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = page_limit(query.limit)?;
    let media_sha256 = match query.sha256 {
        Some(text) => {
            let mut digest = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut digest).map_err(|_| {
                ApiError::bad_request("invalid_query", "sha256 must be 64 hexadecimal digits")
            })?;
            Some(digest.to_vec())
        }
        None => None,
    };
    let attributions = service
        .list_attributions(AttributionFilter {
            work_id: query.work_id,
            published_url: query.published_url.map(|u| u.trim().to_owned()),
            media_sha256,
            publisher_id: None,
            after: query.after,
            limit,
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::new(attributions, limit)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<i64>,
}

async fn work_attributions(
    service: web::Data<Service>,
    id: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = page_limit(query.limit)?;
    let attributions = service.work_attributions(id.into_inner(), limit).await?;
    Ok(HttpResponse::Ok().json(ListResponse::new(attributions, limit)))
}

async fn lookup(
    service: web::Data<Service>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let max = service.settings().decode_limits.max_bytes;
    let mut form = upload::read(&req, payload, max, &[]).await?;
    let attributions = service.attributions_of_image(form.image()?).await?;
    Ok(HttpResponse::Ok().json(ListResponse {
        attributions,
        next_after: None,
    }))
}

async fn disclose(
    service: web::Data<Service>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let account = service.authenticate(bearer_token(&req)).await?;
    let disclosure = service
        .disclose_publisher(&account, id.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(disclosure))
}

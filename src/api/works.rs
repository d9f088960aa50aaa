//! The works registry and image checks over HTTP.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{bearer_token, page_limit, signing, upload, written, ApiError};
use crate::ledger::Receipt;
use crate::service::{Service, WorkEvent, WorkRecorded, WorkView};
use crate::store::WorkFilter;
use crate::works::{WorkChange, WorkMetadata};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/check", web::post().to(check))
        .route("/v1/works", web::post().to(register))
        .route("/v1/works", web::get().to(list))
        .route("/v1/works/{id}", web::get().to(work))
        .route("/v1/works/{id}/thumbnail", web::get().to(thumbnail))
        .route("/v1/works/{id}/license", web::put().to(change_license))
        .route(
            "/v1/works/{id}/ai-preferences",
            web::put().to(set_preferences),
        )
        .route(
            "/v1/works/{id}/ai-preferences",
            web::delete().to(withdraw_preferences),
        );
}

/// The header draft-ietf-aipref-attach defines for AI usage preferences.
const CONTENT_USAGE: &str = "content-usage";

const REGISTRATION_FIELDS: &[&str] = &[
    "title",
    "creator",
    "source_url",
    "license",
    "external_id",
    "ai_preferences",
];

async fn check(
    service: web::Data<Service>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let max = service.settings().decode_limits.max_bytes;
    let mut form = upload::read(&req, payload, max, &[]).await?;
    let answer = service.check(form.image()?).await?;
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Serialize)]
struct RecordedResponse {
    work: WorkView,
    index: u64,
    receipt: Receipt,
}

impl From<WorkRecorded> for RecordedResponse {
    fn from(recorded: WorkRecorded) -> Self {
        RecordedResponse {
            work: recorded.work,
            index: recorded.appended.index,
            receipt: recorded.appended.receipt,
        }
    }
}

async fn register(
    service: web::Data<Service>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // Authenticate before reading a possibly large body.
    let account = service.authenticate(bearer_token(&req)).await?;
    let signing = signing(&req)?;
    let max = service.settings().decode_limits.max_bytes;
    let mut form = upload::read(&req, payload, max, REGISTRATION_FIELDS).await?;
    let metadata = WorkMetadata {
        title: form.take("title").unwrap_or_default(),
        creator: form.take("creator").unwrap_or_default(),
        source_url: form.take("source_url"),
        license_id: form.take("license").unwrap_or_default(),
        external_id: form.take("external_id"),
        content_usage: form.take("ai_preferences"),
    };
    let image = form.image()?;
    let answer = service
        .register_work(&account, metadata, image, signing)
        .await?;
    Ok(written(answer, |recorded| {
        HttpResponse::Created()
            .insert_header((header::LOCATION, format!("/v1/works/{}", recorded.work.id)))
            .json(RecordedResponse::from(recorded))
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    owner: Option<String>,
    license: Option<String>,
    q: Option<String>,
    after: Option<i64>,
    limit: Option<i64>,
}

#[derive(Serialize)]
struct ListResponse {
    works: Vec<WorkView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_after: Option<i64>,
}

async fn list(
    service: web::Data<Service>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = page_limit(query.limit)?;
    let works = service
        .list_works(WorkFilter {
            owner: query.owner,
            license_id: query.license,
            text: query.q.filter(|q| !q.trim().is_empty()),
            after: query.after,
            limit,
        })
        .await?;
    let next_after = (works.len() as i64 == limit)
        .then(|| works.last().map(|w| w.id))
        .flatten();
    Ok(HttpResponse::Ok().json(ListResponse { works, next_after }))
}

#[derive(Serialize)]
struct WorkResponse {
    work: WorkView,
    /// Every log entry about the work, oldest first.
    history: Vec<WorkEvent>,
}

async fn work(service: web::Data<Service>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let (work, history) = service.work(id.into_inner()).await?;
    let mut response = HttpResponse::Ok();
    if let Some(usage) = &work.ai_preferences {
        response.insert_header((CONTENT_USAGE, usage.as_str()));
    }
    Ok(response.json(WorkResponse { work, history }))
}

async fn thumbnail(
    service: web::Data<Service>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let thumbnail = service.thumbnail(id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type(thumbnail.content_type)
        // Written once at registration and never replaced.
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(31_536_000),
            CacheDirective::Extension("immutable".into(), None),
        ]))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(thumbnail.image))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LicenseChange {
    license: String,
}

async fn change_license(
    service: web::Data<Service>,
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Json<LicenseChange>,
) -> Result<HttpResponse, ApiError> {
    let change = WorkChange::License {
        license_id: body.into_inner().license,
    };
    record_change(service, req, id.into_inner(), change).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreferencesChange {
    /// A `Content-Usage` header value, such as `train-ai=n`.
    ai_preferences: String,
}

async fn set_preferences(
    service: web::Data<Service>,
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Json<PreferencesChange>,
) -> Result<HttpResponse, ApiError> {
    let change = WorkChange::Preferences {
        content_usage: Some(body.into_inner().ai_preferences),
    };
    record_change(service, req, id.into_inner(), change).await
}

async fn withdraw_preferences(
    service: web::Data<Service>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let change = WorkChange::Preferences {
        content_usage: None,
    };
    record_change(service, req, id.into_inner(), change).await
}

async fn record_change(
    service: web::Data<Service>,
    req: HttpRequest,
    work_id: i64,
    change: WorkChange,
) -> Result<HttpResponse, ApiError> {
    let account = service.authenticate(bearer_token(&req)).await?;
    let signing = signing(&req)?;
    let answer = service
        .change_work(&account, work_id, change, signing)
        .await?;
    Ok(written(answer, |recorded| {
        HttpResponse::Ok().json(RecordedResponse::from(recorded))
    }))
}

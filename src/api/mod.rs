//! The HTTP layer: one `configure` used by `serve` and by the tests, thin handlers (parse, call
//! the service, respond), the wire DTOs, and `ApiError`.

mod accounts;
mod attributions;
mod error;
mod licenses;
mod log;
mod pages;
mod system;
pub mod upload;
mod works;

pub use error::ApiError;

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpRequest};

use crate::metrics::{RequestLabels, RouteLabels};
use crate::service::{Service, Signing, Written};

/// The OpenAPI description of every endpoint; served as is and compared with the routes by the
/// contract tests.
pub const OPENAPI_JSON: &str = include_str!("../../contracts/openapi.json");

/// Largest JSON request body accepted.
const JSON_LIMIT: usize = 256 * 1024;

/// Registers every route, the extractor error handlers and the metrics middleware.
pub fn configure(service: Arc<Service>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::from(service))
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| error::extractor_error("invalid_query", e)),
            )
            .app_data(web::PathConfig::default().error_handler(|e, req| {
                // `GET /v1/attributions/lookup` reaches `GET /v1/attributions/{id}`; the
                // path is documented, for POST only.
                match method_not_allowed(req) {
                    Some(response) => {
                        actix_web::error::InternalError::from_response(e, response).into()
                    }
                    None => error::extractor_error("invalid_path", e),
                }
            }))
            .app_data(
                web::JsonConfig::default()
                    .limit(JSON_LIMIT)
                    .error_handler(|e, _| error::extractor_error("invalid_json", e)),
            )
            .service(
                web::scope("")
                    .wrap(from_fn(record_metrics))
                    .configure(system::routes)
                    .configure(log::routes)
                    .configure(licenses::routes)
                    .configure(works::routes)
                    .configure(attributions::routes)
                    .configure(accounts::routes)
                    .configure(pages::routes)
                    .default_service(web::to(not_found)),
            );
    }
}

/// The methods the OpenAPI document lists for each path template, for answering 405.
static DOCUMENTED_METHODS: std::sync::LazyLock<Vec<(Vec<String>, Vec<String>)>> =
    std::sync::LazyLock::new(|| {
        let document: serde_json::Value =
            serde_json::from_str(OPENAPI_JSON).expect("the committed OpenAPI document is JSON");
        let paths = document["paths"].as_object().cloned().unwrap_or_default();
        paths
            .into_iter()
            .map(|(template, item)| {
                let segments = template.split('/').map(str::to_owned).collect();
                let methods = item
                    .as_object()
                    .map(|ops| ops.keys().map(|m| m.to_uppercase()).collect())
                    .unwrap_or_default();
                (segments, methods)
            })
            .collect()
    });

/// The documented methods of the path template `path` matches, if any; a template without
/// parameters wins over one with (`/v1/attributions/lookup` over `/v1/attributions/{id}`).
fn documented_methods(path: &str) -> Option<&'static [String]> {
    let segments: Vec<&str> = path.split('/').collect();
    let matching = |literal_only: bool| {
        DOCUMENTED_METHODS.iter().find_map(|(template, methods)| {
            let matches = template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| {
                    let parameter = t.starts_with('{') && t.ends_with('}');
                    (parameter && !literal_only && !s.is_empty()) || t == s
                });
            matches.then_some(methods.as_slice())
        })
    };
    matching(true).or_else(|| matching(false))
}

/// 405 with an `Allow` header, when `req`'s path is documented for other methods only.
fn method_not_allowed(req: &HttpRequest) -> Option<actix_web::HttpResponse> {
    use actix_web::ResponseError;
    let methods = documented_methods(req.path())?;
    if methods.iter().any(|m| m == req.method().as_str()) {
        return None;
    }
    let allow = methods.join(", ");
    let mut response = ApiError::new(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} does not answer {}; it answers {allow}",
            req.path(),
            req.method()
        ),
    )
    .error_response();
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
        response
            .headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    Some(response)
}

/// A documented path with an undocumented method is 405 with the methods it has; anything
/// else is 404.
async fn not_found(req: HttpRequest) -> actix_web::HttpResponse {
    use actix_web::ResponseError;
    method_not_allowed(&req).unwrap_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "not_found",
            format!("no such endpoint: {} {}", req.method(), req.path()),
        )
        .error_response()
    })
}

async fn record_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let service = req.app_data::<web::Data<Service>>().cloned();
    let response = next.call(req).await?;
    if let Some(service) = service {
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        let metrics = service.metrics();
        metrics
            .requests
            .get_or_create(&RequestLabels {
                method,
                route: route.clone(),
                status: response.status().as_u16(),
            })
            .inc();
        metrics
            .request_seconds
            .get_or_create(&RouteLabels { route })
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(response)
}

/// The bearer token of the `Authorization` header, if any.
fn bearer_token(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_owned())
}

/// Headers of a request the account signs (see `service::signing`).
pub const PREPARE_HEADER: &str = "provenance-prepare";
pub const ISSUED_AT_HEADER: &str = "provenance-issued-at";
pub const SALT_HEADER: &str = "provenance-salt";
pub const SIGNATURE_HEADER: &str = "provenance-signature";

/// Reads how the request is signed from its headers.
fn signing(req: &HttpRequest) -> Result<Signing, ApiError> {
    let header = |name: &str| -> Result<Option<String>, ApiError> {
        match req.headers().get(name) {
            None => Ok(None),
            Some(value) => value
                .to_str()
                .map(|v| Some(v.trim().to_owned()))
                .map_err(|_| {
                    ApiError::bad_request("invalid_signing", format!("{name} is not text"))
                }),
        }
    };
    let prepare = header(PREPARE_HEADER)?;
    let signature = header(SIGNATURE_HEADER)?;
    match (prepare.as_deref(), signature) {
        (Some("true"), None) => Ok(Signing::Prepare),
        (Some(other), None) => Err(ApiError::bad_request(
            "invalid_signing",
            format!("{PREPARE_HEADER} must be \"true\", not {other:?}"),
        )),
        (Some(_), Some(_)) => Err(ApiError::bad_request(
            "invalid_signing",
            format!("a request either prepares ({PREPARE_HEADER}) or is signed ({SIGNATURE_HEADER}), not both"),
        )),
        (None, Some(signature)) => Ok(Signing::Signed {
            issued_at: header(ISSUED_AT_HEADER)?.ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_signing",
                    format!("a signed request needs the {ISSUED_AT_HEADER} its prepared request answered"),
                )
            })?,
            salt: header(SALT_HEADER)?,
            signature,
        }),
        (None, None) => Ok(Signing::Unsigned),
    }
}

/// A prepared request answers 200 with the note to sign; a recorded one as `recorded` says.
fn written<T>(
    written: Written<T>,
    recorded: impl FnOnce(T) -> actix_web::HttpResponse,
) -> actix_web::HttpResponse {
    match written {
        Written::Prepared(prepared) => actix_web::HttpResponse::Ok().json(prepared),
        Written::Recorded(value) => recorded(value),
    }
}

/// Most items one page of a list answers, and how many when the client does not say.
const MAX_PAGE: i64 = 500;
const DEFAULT_PAGE: i64 = 100;

/// The `limit` of a list request, checked.
fn page_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_PAGE}"),
        ))
    }
}

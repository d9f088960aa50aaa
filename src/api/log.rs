//! The log's read API (C2SP tlog-tiles under `/log/`, JSON proofs under `/v1/log/`) and the
//! operator's append endpoint.

use actix_web::http::header::{self, CacheControl, CacheDirective, ContentType};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::prelude::{Engine, BASE64_STANDARD};
use serde::{Deserialize, Serialize};

use super::{bearer_token, ApiError};
use crate::ledger::{Hash, Receipt, TileRequest};
use crate::service::{ProofTarget, Service};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/log/checkpoint", web::get().to(checkpoint))
        .route("/log/key", web::get().to(verifier_key))
        .route("/log/{tile:tile/.*}", web::get().to(tile))
        .route("/v1/log/entries", web::post().to(append_note))
        .route("/v1/log/entries/{index}", web::get().to(entry))
        .route("/v1/log/proof/inclusion", web::get().to(inclusion))
        .route("/v1/log/proof/consistency", web::get().to(consistency))
        .route("/v1/log/receipts/{index}", web::get().to(receipt))
        .route("/v1/log/checkpoints", web::get().to(checkpoint_history));
}

fn b64(hash: &Hash) -> String {
    BASE64_STANDARD.encode(hash.0)
}

fn mime_text_utf8() -> actix_web::http::header::HeaderValue {
    actix_web::http::header::HeaderValue::from_static("text/plain; charset=utf-8")
}

async fn checkpoint(service: web::Data<Service>) -> Result<HttpResponse, ApiError> {
    let (_, note) = service.checkpoint().await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, mime_text_utf8()))
        // The checkpoint changes every round; tlog-tiles asks that it not be cached for long.
        .insert_header(CacheControl(vec![CacheDirective::NoCache]))
        .body(note.to_string()))
}

async fn verifier_key(service: web::Data<Service>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, mime_text_utf8()))
        .body(format!("{}\n", service.verifier().as_text()))
}

async fn tile(
    service: web::Data<Service>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let request = TileRequest::parse(&path)?;
    let bytes = service.tile(request).await?;
    let caching = if request.is_full() {
        // Full tiles never change: tlog-tiles asks for long-lived caching.
        CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(31_536_000),
            CacheDirective::Extension("immutable".into(), None),
        ])
    } else {
        CacheControl(vec![CacheDirective::Public, CacheDirective::MaxAge(60)])
    };
    Ok(HttpResponse::Ok()
        .content_type(ContentType::octet_stream())
        .insert_header(caching)
        .body(bytes))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppendRequest {
    text: String,
}

#[derive(Serialize)]
struct AppendResponse {
    index: u64,
    receipt: Receipt,
}

async fn append_note(
    service: web::Data<Service>,
    req: HttpRequest,
    body: web::Json<AppendRequest>,
) -> Result<HttpResponse, ApiError> {
    let account = service.authenticate(bearer_token(&req)).await?;
    let appended = service
        .append_operator_note(&account, body.into_inner().text)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/log/receipts/{}", appended.index),
        ))
        .json(AppendResponse {
            index: appended.index,
            receipt: appended.receipt,
        }))
}

#[derive(Serialize)]
struct EntryResponse {
    index: u64,
    leaf_hash: String,
    entry: String,
}

async fn entry(
    service: web::Data<Service>,
    index: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    let entry = service.entry(index.into_inner()).await?;
    Ok(HttpResponse::Ok().json(EntryResponse {
        index: entry.index,
        leaf_hash: b64(&entry.leaf_hash),
        entry: entry.entry,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionQuery {
    index: Option<u64>,
    leaf_hash: Option<String>,
    tree_size: Option<u64>,
}

#[derive(Serialize)]
struct InclusionResponse {
    index: u64,
    tree_size: u64,
    leaf_hash: String,
    audit_path: Vec<String>,
    checkpoint: String,
}

async fn inclusion(
    service: web::Data<Service>,
    query: web::Query<InclusionQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let target = match (query.index, query.leaf_hash) {
        (Some(index), None) => ProofTarget::Index(index),
        (None, Some(leaf)) => ProofTarget::LeafHash(parse_hash(&leaf)?),
        _ => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "give exactly one of index and leaf_hash",
            ))
        }
    };
    let proof = service.inclusion_proof(target, query.tree_size).await?;
    Ok(HttpResponse::Ok().json(InclusionResponse {
        index: proof.index,
        tree_size: proof.tree_size,
        leaf_hash: b64(&proof.leaf_hash),
        audit_path: proof.audit_path.iter().map(b64).collect(),
        checkpoint: proof.checkpoint,
    }))
}

fn parse_hash(text: &str) -> Result<Hash, ApiError> {
    let bytes = BASE64_STANDARD
        .decode(text)
        .map_err(|_| ApiError::bad_request("invalid_hash", "leaf_hash is not standard base64"))?;
    let array: [u8; 32] = bytes
        .try_into()
        .map_err(|_| ApiError::bad_request("invalid_hash", "leaf_hash is not 32 bytes"))?;
    Ok(Hash(array))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyQuery {
    old_size: u64,
    new_size: u64,
}

#[derive(Serialize)]
struct ConsistencyResponse {
    old_size: u64,
    new_size: u64,
    proof: Vec<String>,
    old_checkpoint: String,
    checkpoint: String,
}

async fn consistency(
    service: web::Data<Service>,
    query: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, ApiError> {
    let answer = service
        .consistency_proof(query.old_size, query.new_size)
        .await?;
    Ok(HttpResponse::Ok().json(ConsistencyResponse {
        old_size: answer.old_size,
        new_size: answer.new_size,
        proof: answer.proof.iter().map(b64).collect(),
        old_checkpoint: answer.old_checkpoint,
        checkpoint: answer.checkpoint,
    }))
}

async fn receipt(
    service: web::Data<Service>,
    index: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service.receipt(index.into_inner()).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    limit: Option<u16>,
}

#[derive(Serialize)]
struct HistoryPoint {
    tree_size: u64,
    signed_at: i64,
}

async fn checkpoint_history(
    service: web::Data<Service>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = i64::from(query.limit.unwrap_or(100).clamp(1, 1000));
    let points: Vec<HistoryPoint> = service
        .checkpoint_history(limit)
        .await?
        .into_iter()
        .map(|(tree_size, signed_at)| HistoryPoint {
            tree_size,
            signed_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(points))
}

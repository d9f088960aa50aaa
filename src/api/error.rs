//! `ApiError`: every failure the HTTP layer answers, as a status and a JSON body
//! `{"error": "stable_snake_case_code", "message": "what was wrong, for a person"}`.
//!
//! Policy: a client's mistake is a 4xx naming the mistake; a server fault is a 5xx whose cause
//! is logged and whose message is generic, so internals never leak to callers.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::attributions::AttributionError;
use crate::fingerprint::FingerprintError;
use crate::ledger::LedgerError;
use crate::licenses::LicenseError;
use crate::service::{RegistrationConflict, ServiceError};
use crate::store::StoreError;
use crate::works::WorkError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// More fields for the body, e.g. the id of the work a registration conflicts with.
    pub details: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_detail(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details
            .get_or_insert_with(Default::default)
            .insert(name.to_owned(), value.into());
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server failed to answer; the cause is in its log",
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(ErrorBody {
            error: self.code,
            message: &self.message,
            details: self.details.as_ref(),
        })
    }
}

impl From<LedgerError> for ApiError {
    fn from(err: LedgerError) -> Self {
        use LedgerError::*;
        let message = err.to_string();
        match err {
            EntryTooLarge { .. } => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, "entry_too_large", message)
            }
            MalformedEntry(_) => Self::bad_request("malformed_entry", message),
            MalformedCheckpoint(_) => Self::bad_request("malformed_checkpoint", message),
            MalformedProof(_) => Self::bad_request("malformed_proof", message),
            MalformedKey(_) => Self::bad_request("malformed_key", message),
            InvalidTilePath(_) => Self::new(StatusCode::NOT_FOUND, "invalid_tile_path", message),
            IndexBeyondTree { .. } => Self::bad_request("index_beyond_tree", message),
            SizeBeyondTree { .. } => Self::bad_request("tree_size_beyond_log", message),
            SizesOutOfOrder { .. } => Self::bad_request("sizes_out_of_order", message),
            BadSignature(_) => Self::bad_request("bad_signature", message),
            InvalidProof => Self::bad_request("invalid_proof", message),
            ReceiptCheckFailed { .. } => Self::bad_request("receipt_check_failed", message),
            Storage(_) => Self::internal(&message),
        }
    }
}

impl From<FingerprintError> for ApiError {
    fn from(err: FingerprintError) -> Self {
        use FingerprintError::*;
        let message = err.to_string();
        let too_large = |code| Self::new(StatusCode::PAYLOAD_TOO_LARGE, code, message.clone());
        match err {
            FileTooLarge { .. } => too_large("file_too_large"),
            ImageTooLarge { .. } => too_large("image_too_large"),
            DecompressionBomb { .. } => too_large("decompression_bomb"),
            AllocationLimitExceeded { .. } => too_large("allocation_limit_exceeded"),
            UnsupportedFormat { .. } => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_format",
                message,
            ),
            NotAnImage => Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_an_image", message),
            TruncatedImage { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "truncated_image", message)
            }
            CorruptImage { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "corrupt_image", message)
            }
            MalformedHash { .. } => Self::bad_request("malformed_hash", message),
        }
    }
}

impl From<LicenseError> for ApiError {
    fn from(err: LicenseError) -> Self {
        let message = err.to_string();
        match err {
            LicenseError::UnknownLicense(_) => {
                Self::new(StatusCode::NOT_FOUND, "unknown_license", message)
            }
            LicenseError::InvalidSourceUrl(_) => Self::bad_request("invalid_source_url", message),
            LicenseError::InvalidContentUsage { .. } => {
                Self::bad_request("invalid_content_usage", message)
            }
            // Contracts are validated at start; meeting one of these later is a server fault.
            other => Self::internal(&other),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        let message = err.to_string();
        match err {
            ServiceError::Ledger(e) => e.into(),
            ServiceError::License(e) => e.into(),
            ServiceError::Store(StoreError::Conflict(m)) => {
                Self::new(StatusCode::CONFLICT, "conflict", m)
            }
            ServiceError::Store(e) => Self::internal(&e),
            ServiceError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, "not_found", message),
            ServiceError::NoCheckpointAt(_) => Self::bad_request("no_checkpoint_at_size", message),
            ServiceError::MissingToken => {
                Self::new(StatusCode::UNAUTHORIZED, "missing_token", message)
            }
            ServiceError::InvalidToken => {
                Self::new(StatusCode::UNAUTHORIZED, "invalid_token", message)
            }
            ServiceError::WrongRole { .. } => {
                Self::new(StatusCode::FORBIDDEN, "wrong_role", message)
            }
            ServiceError::SequencerStopped => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "the log is not accepting entries: the service is stopping",
            ),
            ServiceError::Task(_) => Self::internal(&message),
            ServiceError::Fingerprint(e) => e.into(),
            ServiceError::Work(e) => {
                let code = match e {
                    WorkError::MissingField(_) => "missing_field",
                    WorkError::FieldTooLong { .. } => "field_too_long",
                    WorkError::InvalidSourceUrl(_) => "invalid_source_url",
                    WorkError::UnknownLicense(_) => "unknown_license",
                };
                Self::bad_request(code, message)
            }
            ServiceError::WorkConflict(conflict) => {
                let (code, work_id) = match conflict {
                    RegistrationConflict::AlreadyRegistered { work_id } => {
                        ("already_registered", work_id)
                    }
                    RegistrationConflict::OtherOwner { work_id } => ("conflicting_work", work_id),
                };
                Self::new(StatusCode::CONFLICT, code, message).with_detail("work_id", work_id)
            }
            ServiceError::NotOwner { .. } => Self::new(StatusCode::FORBIDDEN, "not_owner", message),
            ServiceError::Attribution(e) => attribution_error(e, message),
            ServiceError::UseNotAllowed(verdict) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "use_not_allowed",
                format!(
                    "{message}: {}",
                    verdict
                        .reasons
                        .iter()
                        .map(|r| r.message.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            )
            .with_detail("license", verdict.license.clone())
            .with_detail(
                "reasons",
                serde_json::to_value(&verdict.reasons).unwrap_or_default(),
            ),
            ServiceError::FingerprintVersion { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "fingerprint_version_mismatch",
                message,
            ),
            ServiceError::NotPublisher { .. } => {
                Self::new(StatusCode::FORBIDDEN, "not_publisher", message)
            }
            ServiceError::Erased => Self::new(StatusCode::GONE, "erased", message),
            ServiceError::NoKeyRegistered => {
                Self::new(StatusCode::CONFLICT, "no_key_registered", message)
            }
            ServiceError::BadActorSignature(_) => {
                Self::new(StatusCode::UNAUTHORIZED, "bad_signature", message)
            }
            ServiceError::InvalidSigning(_) => Self::bad_request("invalid_signing", message),
            ServiceError::StaleSignedRequest { .. } => {
                Self::new(StatusCode::UNAUTHORIZED, "stale_signed_request", message)
            }
            ServiceError::Replayed => Self::new(StatusCode::CONFLICT, "replayed_request", message),
            ServiceError::InvalidKey(_) => Self::bad_request("invalid_key", message),
        }
    }
}

fn attribution_error(err: AttributionError, message: String) -> ApiError {
    use AttributionError::*;
    match err {
        NoMatch => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "no_match", message),
        NotMatching { work_id } => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "not_matching", message)
                .with_detail("work_id", work_id)
        }
        InvalidPublishedUrl { .. } => ApiError::bad_request("invalid_published_url", message),
        FieldTooLong { .. } => ApiError::bad_request("field_too_long", message),
        MissingField(_) => ApiError::bad_request("missing_field", message),
        AlreadyRevoked { .. } => ApiError::new(StatusCode::CONFLICT, "already_revoked", message),
        AlreadyDisputed { .. } => ApiError::new(StatusCode::CONFLICT, "already_disputed", message),
    }
}

/// Turns actix's extractor failures (bad query string, path segment or JSON body) into our JSON
/// errors instead of its plain-text defaults.
pub fn extractor_error(code: &'static str, err: impl std::fmt::Display) -> actix_web::Error {
    ApiError::bad_request(code, err.to_string()).into()
}

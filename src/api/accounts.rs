//! The caller's own account: who it is, the key it signs entries with; and, for operators,
//! erasing a publisher's personal data.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{bearer_token, ApiError};
use crate::service::Service;
use crate::store::Account;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/accounts/me", web::get().to(me))
        .route("/v1/accounts/me/key", web::put().to(set_key))
        .route("/v1/accounts/me/key", web::delete().to(remove_key))
        .route("/v1/accounts/{name}/personal-data", web::delete().to(erase));
}

#[derive(Serialize)]
struct AccountView {
    name: String,
    role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    verifier_key: Option<String>,
}

impl From<Account> for AccountView {
    fn from(account: Account) -> Self {
        AccountView {
            name: account.name,
            role: account.role.as_str(),
            verifier_key: account.public_key,
        }
    }
}

async fn me(service: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let account = service.authenticate(bearer_token(&req)).await?;
    Ok(HttpResponse::Ok().json(AccountView::from(account)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyBody {
    /// The C2SP verifier key text `name+keyid+base64(0x01 || key)`.
    verifier_key: String,
}

async fn set_key(
    service: web::Data<Service>,
    req: HttpRequest,
    body: web::Json<KeyBody>,
) -> Result<HttpResponse, ApiError> {
    let token = bearer_token(&req);
    let account = service.authenticate(token.clone()).await?;
    let account = service
        .set_account_key(
            &account,
            token.as_deref().unwrap_or_default(),
            Some(body.into_inner().verifier_key),
        )
        .await?;
    Ok(HttpResponse::Ok().json(AccountView::from(account)))
}

async fn remove_key(
    service: web::Data<Service>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let token = bearer_token(&req);
    let account = service.authenticate(token.clone()).await?;
    let account = service
        .set_account_key(&account, token.as_deref().unwrap_or_default(), None)
        .await?;
    Ok(HttpResponse::Ok().json(AccountView::from(account)))
}

#[derive(Serialize)]
struct Erased {
    account: String,
    /// Commitments that can no longer be opened.
    commitments_erased: usize,
}

async fn erase(
    service: web::Data<Service>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let account = service.authenticate(bearer_token(&req)).await?;
    let name = name.into_inner();
    let commitments_erased = service.erase_publisher(&account, name.clone()).await?;
    Ok(HttpResponse::Ok().json(Erased {
        account: name,
        commitments_erased,
    }))
}

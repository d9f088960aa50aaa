//! Who the caller is: lets a client that holds only a token learn its account's name (the
//! `owner` of its works) and role.

use actix_web::{web, HttpRequest};
use serde::Serialize;

use super::{bearer_token, ApiError};
use crate::service::Service;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/accounts/me", web::get().to(me));
}

#[derive(Serialize)]
struct Me {
    name: String,
    role: &'static str,
}

async fn me(service: web::Data<Service>, req: HttpRequest) -> Result<web::Json<Me>, ApiError> {
    let account = service.authenticate(bearer_token(&req)).await?;
    Ok(web::Json(Me {
        name: account.name,
        role: account.role.as_str(),
    }))
}

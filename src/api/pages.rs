//! The web pages: static files under `web/`, embedded in the binary and served as they are.
//! No build step and nothing fetched from elsewhere: the page talks only to this service's
//! own API, which the Content-Security-Policy enforces.

use std::sync::OnceLock;

use actix_web::http::header::{self, CacheControl, CacheDirective, EntityTag};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use super::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/assets/{name}", web::get().to(asset));
}

/// Scripts, styles and images only from this origin; fetches only to this origin; thumbnails
/// of the user's own upload come as `blob:` URLs; nothing may frame the page.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; \
     form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const INDEX: Asset = Asset {
    name: "index.html",
    content_type: "text/html; charset=utf-8",
    bytes: include_bytes!("../../web/index.html"),
};

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../web/app.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../web/app.js"),
    },
    Asset {
        name: "verify.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../web/verify.js"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../../web/icon.svg"),
    },
];

/// Strong validators, one per file, computed once: the files change only with the binary.
fn etag(asset: &Asset) -> EntityTag {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        std::iter::once(&INDEX)
            .chain(ASSETS)
            .map(|a| hex::encode(&Sha256::digest(a.bytes)[..12]))
            .collect()
    });
    let position = std::iter::once(&INDEX)
        .chain(ASSETS)
        .position(|a| a.name == asset.name)
        .expect("every asset is in the table");
    EntityTag::new_strong(tags[position].clone())
}

fn serve(req: &HttpRequest, asset: &Asset, cache: CacheControl) -> HttpResponse {
    let tag = etag(asset);
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|text| {
            text.trim() == "*"
                || text
                    .split(',')
                    .filter_map(|t| t.trim().parse::<EntityTag>().ok())
                    .any(|t| t.weak_eq(&tag))
        });
    let mut response = if unchanged {
        HttpResponse::build(StatusCode::NOT_MODIFIED)
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header(header::ETag(tag))
        .insert_header(cache)
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"));
    if unchanged {
        return response.finish();
    }
    response
        .insert_header((header::CONTENT_TYPE, asset.content_type))
        .body(asset.bytes)
}

async fn index(req: HttpRequest) -> HttpResponse {
    // Always revalidated, so a new binary's page is seen at once; the ETag keeps that cheap.
    serve(&req, &INDEX, CacheControl(vec![CacheDirective::NoCache]))
}

async fn asset(req: HttpRequest, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let asset = ASSETS
        .iter()
        .find(|a| a.name == name.as_str())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no such asset: {name}"),
            )
        })?;
    // Short-lived, then revalidated by ETag: asset names carry no version.
    Ok(serve(
        &req,
        asset,
        CacheControl(vec![CacheDirective::Public, CacheDirective::MaxAge(300)]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_assets_that_are_served() {
        let page = std::str::from_utf8(INDEX.bytes).unwrap();
        for part in page.split("/assets/").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
                .collect();
            assert!(
                ASSETS.iter().any(|a| a.name == name),
                "index.html refers to /assets/{name}, which is not embedded"
            );
        }
    }

    /// The page's verifier refuses entry kinds it does not know, as `provenance verify` does;
    /// a kind added to the log must be added to `ENTRY_KINDS` in `web/verify.js` too.
    #[test]
    fn the_page_verifier_knows_every_entry_kind() {
        use crate::ledger::EntryKind::{self, *};
        // Exhaustive on purpose: a new variant stops this compiling until it is listed here.
        let listed = |kind: EntryKind| match kind {
            OperatorNote
            | WorkRegistered
            | WorkLicenseChanged
            | WorkPreferencesChanged
            | AttributionRecorded
            | AttributionRevoked
            | AttributionDisputed => kind,
        };
        let verifier = std::str::from_utf8(ASSETS[2].bytes).unwrap();
        assert_eq!(ASSETS[2].name, "verify.js");
        let known = verifier
            .split("export const ENTRY_KINDS = [")
            .nth(1)
            .and_then(|rest| rest.split("];").next())
            .expect("verify.js lists ENTRY_KINDS");
        let known: Vec<&str> = known
            .split(',')
            .map(|k| k.trim().trim_matches('"'))
            .filter(|k| !k.is_empty())
            .collect();
        let all = [
            OperatorNote,
            WorkRegistered,
            WorkLicenseChanged,
            WorkPreferencesChanged,
            AttributionRecorded,
            AttributionRevoked,
            AttributionDisputed,
        ]
        .map(listed);
        assert_eq!(known, all.map(|k| k.as_str()).to_vec());
    }

    #[test]
    fn no_asset_loads_anything_from_another_origin() {
        for asset in std::iter::once(&INDEX).chain(ASSETS) {
            let text = String::from_utf8_lossy(asset.bytes).to_ascii_lowercase();
            for load in [
                "src=\"http",
                "href=\"http",
                "url(http",
                "from \"http",
                "from 'http",
                "fetch(\"http",
                "fetch('http",
                "src=\"//",
                "href=\"//",
            ] {
                assert!(
                    !text.contains(load),
                    "{} loads from elsewhere ({load})",
                    asset.name
                );
            }
        }
    }
}

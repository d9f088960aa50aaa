//! Reading `multipart/form-data` uploads: one image and a few short text fields, each under a
//! limit, so an oversized or malformed body is refused before it is buffered whole.

use std::collections::HashMap;

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;

use super::ApiError;

/// The form field that carries the image.
pub const IMAGE_FIELD: &str = "image";
/// Longest text field accepted.
const MAX_TEXT_FIELD_BYTES: usize = 8 * 1024;

#[derive(Debug, Default)]
pub struct Upload {
    pub image: Option<Vec<u8>>,
    pub fields: HashMap<String, String>,
}

impl Upload {
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.fields.remove(name)
    }

    pub fn image(&mut self) -> Result<Vec<u8>, ApiError> {
        self.image.take().ok_or_else(|| {
            ApiError::bad_request(
                "missing_image",
                format!("the form has no {IMAGE_FIELD:?} file field"),
            )
        })
    }
}

fn invalid(message: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(
        "invalid_multipart",
        format!("the body is not a valid multipart/form-data upload: {message}"),
    )
}

/// Reads the form; `text_fields` are the only other fields allowed.
pub async fn read(
    req: &HttpRequest,
    payload: web::Payload,
    max_image_bytes: u64,
    text_fields: &[&str],
) -> Result<Upload, ApiError> {
    let mut form = Multipart::new(req.headers(), payload);
    let mut upload = Upload::default();
    while let Some(field) = form.next().await {
        let mut field = field.map_err(invalid)?;
        let name = field
            .content_disposition()
            .and_then(|d| d.get_name())
            .ok_or_else(|| invalid("a part has no field name"))?
            .to_owned();
        let is_image = name == IMAGE_FIELD;
        if !is_image && !text_fields.contains(&name.as_str()) {
            return Err(ApiError::bad_request(
                "unknown_field",
                format!(
                    "unknown form field {name:?}; the fields are {IMAGE_FIELD:?}, {}",
                    text_fields.join(", ")
                ),
            ));
        }
        if upload.fields.contains_key(&name) || (is_image && upload.image.is_some()) {
            return Err(ApiError::bad_request(
                "duplicate_field",
                format!("the form field {name:?} appears twice"),
            ));
        }
        let limit = if is_image {
            max_image_bytes
        } else {
            MAX_TEXT_FIELD_BYTES as u64
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(invalid)?;
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(if is_image {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "file_too_large",
                        format!("the image is larger than {limit} bytes"),
                    )
                } else {
                    ApiError::bad_request(
                        "field_too_long",
                        format!("the field {name:?} is longer than {limit} bytes"),
                    )
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        if is_image {
            upload.image = Some(bytes);
        } else {
            let text = String::from_utf8(bytes).map_err(|_| {
                ApiError::bad_request(
                    "invalid_field",
                    format!("the field {name:?} is not UTF-8 text"),
                )
            })?;
            upload.fields.insert(name, text);
        }
    }
    Ok(upload)
}

/// Encodes a form with text `fields` and the image, for clients (the importer, the tests):
/// ureq has no form builder, and the format is small.
pub fn encode<'a>(
    fields: impl Iterator<Item = (&'a str, &'a str)>,
    file_name: &str,
    image: &[u8],
) -> (String, Vec<u8>) {
    let boundary = format!("provenance-{}", hex::encode(crate::works::new_salt()));
    let mut body = Vec::with_capacity(image.len() + 1024);
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    let file_name = file_name.replace(['"', '\r', '\n'], "_");
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; \
             filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(image);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

//! The browser pages, embedded in the binary from the repository's `web/` directory (no build
//! step): `/` is `web/index.html`, `/static/PATH` is `web/PATH`. A file that is not there is a
//! 404, and an empty or missing `web/` still builds.
//!
//! In debug builds rust-embed reads `web/` from disk at request time, so page edits show
//! without a rebuild; release builds serve the embedded copies.

use crate::error::Error;
use axum::extract::Path;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../../web/"]
#[allow_missing = true]
#[exclude = "node_modules/*"]
#[exclude = "*.test.*"]
struct Web;

fn serve(path: &str) -> Response {
    // Embedded keys are relative paths; refuse anything that could climb out of web/ when the
    // debug build reads from disk.
    if path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path
            .split('/')
            .any(|seg| seg == ".." || seg == "." || seg.is_empty())
    {
        return Error::NotFound("file").into_response();
    }
    let Some(file) = Web::get(path) else {
        return Error::NotFound("file").into_response();
    };
    let mime = file.metadata.mimetype().to_owned();
    let mut r = file.data.into_owned().into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&mime) {
        h.insert(CONTENT_TYPE, v);
    }
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

/// `GET /`: `web/index.html`.
pub async fn index() -> Response {
    serve("index.html")
}

/// `GET /static/{*path}`: `web/{path}`.
pub async fn asset(Path(path): Path<String>) -> Response {
    serve(&path)
}

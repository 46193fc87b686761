//! The administrators' dashboard at `/admin`: one static page (HTML, a script and a
//! stylesheet under `static/admin/`) compiled into the binary, so there is nothing
//! to build or fetch and the page always matches the service it ships with.
//!
//! The page holds no privilege of its own: it signs in through `/api/v1/auth/login`
//! and reads the admin endpoints with the bearer token like any other client, so
//! what a user may see is decided by the API (a resident's token gets 403).
//!
//! Caching: the assets have fixed names, so every answer carries a strong `ETag` (a
//! hash of the content) and `Cache-Control: no-cache`; browsers revalidate and get a
//! 304 until a new binary serves different bytes. A Content-Security-Policy allows
//! only this origin's script, style and API: no inline script, nothing from a CDN.
//! The merchants' console ([`crate::merchant_console`]) is served the same way, and
//! both pages load the script they share, `static/common/console.js`, from here.

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

/// One embedded file and its lazily computed entity tag.
pub struct Asset {
    body: &'static [u8],
    content_type: &'static str,
    etag: OnceLock<String>,
}

impl Asset {
    pub const fn new(body: &'static [u8], content_type: &'static str) -> Asset {
        Asset {
            body,
            content_type,
            etag: OnceLock::new(),
        }
    }

    fn etag(&self) -> &str {
        self.etag.get_or_init(|| {
            let digest = Sha256::digest(self.body);
            format!("\"{}\"", hex::encode(&digest[..12]))
        })
    }
}

static INDEX: Asset = Asset::new(include_bytes!("../static/admin/index.html"), "text/html; charset=utf-8");
static SCRIPT: Asset = Asset::new(
    include_bytes!("../static/admin/app.js"),
    "text/javascript; charset=utf-8",
);
static STYLE: Asset = Asset::new(include_bytes!("../static/admin/app.css"), "text/css; charset=utf-8");
/// What both consoles' scripts stand on (session, API client, language, formatting,
/// DOM helpers); each page loads it before its own `app.js`.
static COMMON_SCRIPT: Asset = Asset::new(
    include_bytes!("../static/common/console.js"),
    "text/javascript; charset=utf-8",
);

/// Only this origin: the page's own script and style, the API, and the `data:`
/// favicon; `blob:` for the CSV download link.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// `GET /admin`: the page.
pub async fn index(req: HttpRequest) -> HttpResponse {
    serve(&req, &INDEX)
}

/// `GET /admin/app.js`.
pub async fn script(req: HttpRequest) -> HttpResponse {
    serve(&req, &SCRIPT)
}

/// `GET /admin/app.css`.
pub async fn stylesheet(req: HttpRequest) -> HttpResponse {
    serve(&req, &STYLE)
}

/// `GET /common/console.js`: the consoles' shared script.
pub async fn common_script(req: HttpRequest) -> HttpResponse {
    serve(&req, &COMMON_SCRIPT)
}

/// Answers with `asset` (or 304 when the client holds it) under the strict policy.
pub fn serve(req: &HttpRequest, asset: &'static Asset) -> HttpResponse {
    let etag = asset.etag();
    let fresh = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == etag);
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag.to_owned()))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .insert_header((header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ));
    if fresh {
        response.finish()
    } else {
        response.content_type(asset.content_type).body(asset.body)
    }
}

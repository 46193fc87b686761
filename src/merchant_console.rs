//! The merchants' console at `/merchant`: the page a shop's owner and staff use at
//! the counter (redeem a code, today's orders, offers, staff, statements,
//! webhooks), one static page under `static/merchant/` compiled into the binary
//! and served like the administrators' dashboard ([`crate::dashboard::serve`]:
//! strong `ETag`, `no-cache`, the same strict Content-Security-Policy).
//!
//! Like the dashboard it holds no privilege: it signs in through
//! `/api/v1/auth/login`, learns the user's merchants and roles from
//! `/api/v1/me/merchants`, and every action is an API call the server authorizes.

use actix_web::{HttpRequest, HttpResponse};

use crate::dashboard::{serve, Asset};

static INDEX: Asset = Asset::new(
    include_bytes!("../static/merchant/index.html"),
    "text/html; charset=utf-8",
);
static SCRIPT: Asset = Asset::new(
    include_bytes!("../static/merchant/app.js"),
    "text/javascript; charset=utf-8",
);
static STYLE: Asset = Asset::new(include_bytes!("../static/merchant/app.css"), "text/css; charset=utf-8");

/// `GET /merchant`: the page.
pub async fn index(req: HttpRequest) -> HttpResponse {
    serve(&req, &INDEX)
}

/// `GET /merchant/app.js`.
pub async fn script(req: HttpRequest) -> HttpResponse {
    serve(&req, &SCRIPT)
}

/// `GET /merchant/app.css`.
pub async fn stylesheet(req: HttpRequest) -> HttpResponse {
    serve(&req, &STYLE)
}

//! The one route table: every path the service answers, and who may call it.
//!
//! Each table below is written once and gives two things: the function that
//! registers its routes with actix, and a list of `(method, path)` pairs that a
//! test holds against the OpenAPI document, so no route can go undocumented.
//! A path's methods share one resource, so a wrong method is a 405, not a 404.

use actix_web::web;

use crate::{accounts, dashboard, health, metrics, reports};

macro_rules! route_table {
    ($register:ident, $list:ident, { $( $path:literal => { $( $method:ident : $handler:path ),+ $(,)? } ),* $(,)? }) => {
        pub fn $register(cfg: &mut web::ServiceConfig) {
            $( cfg.service(web::resource($path)$( .route(web::$method().to($handler)) )+); )*
        }

        pub const $list: &[(&str, &str)] = &[ $( $( (stringify!($method), $path), )+ )* ];
    };
}

// Routes at the root: probes and metrics.
route_table!(root, ROOT_ROUTES, {
    "/healthz" => { get: health::healthz },
    "/readyz" => { get: health::readyz },
    "/metrics" => { get: metrics::render },
});

// --- dashboard: the administrators' page and its assets (HTML, not API: kept out of
// the OpenAPI document; its data comes from /api/v1/admin/..., which checks the role).
route_table!(dashboard_pages, DASHBOARD_ROUTES, {
    "/admin" => { get: dashboard::index },
    "/admin/" => { get: dashboard::index },
    "/admin/app.js" => { get: dashboard::script },
    "/admin/app.css" => { get: dashboard::stylesheet },
});

// Routes under `/api/v1`.
route_table!(api, API_ROUTES, {
    // --- accounts
    "/auth/register" => { post: accounts::handlers::register },
    "/auth/login" => { post: accounts::handlers::login },
    "/auth/refresh" => { post: accounts::handlers::refresh },
    "/auth/logout" => { post: accounts::handlers::logout },
    "/me" => { get: accounts::handlers::me },
    "/me/real-name" => { post: accounts::handlers::real_name },
    // --- reports
    "/admin/campaigns/{id}/report" => { get: reports::handlers::campaign_report },
    "/admin/campaigns/{id}/report.csv" => { get: reports::handlers::campaign_report_csv },
    "/admin/settlements" => { get: reports::handlers::settlements },
    "/admin/overview" => { get: reports::handlers::overview },
});

//! The one route table: every path the service answers, and who may call it.

use actix_web::web;

use crate::{accounts, dashboard, health};

/// Routes under the root: probes and the administrators' dashboard.
pub fn root(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)));

    // --- dashboard (static page; its data comes from /api/v1/admin/..., which checks the role)
    cfg.service(web::resource("/admin").route(web::get().to(dashboard::index)))
        .service(web::resource("/admin/app.js").route(web::get().to(dashboard::script)))
        .service(web::resource("/admin/app.css").route(web::get().to(dashboard::stylesheet)));
}

/// Routes under `/api/v1`.
pub fn api(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/register").route(web::post().to(accounts::handlers::register)))
        .service(web::resource("/auth/login").route(web::post().to(accounts::handlers::login)))
        .service(web::resource("/auth/refresh").route(web::post().to(accounts::handlers::refresh)))
        .service(web::resource("/auth/logout").route(web::post().to(accounts::handlers::logout)))
        .service(web::resource("/me").route(web::get().to(accounts::handlers::me)))
        .service(web::resource("/me/real-name").route(web::post().to(accounts::handlers::real_name)));
}

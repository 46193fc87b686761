//! The one route table: every path the service answers, and who may call it.

use actix_web::web;

use crate::{accounts, health, metrics, reports};

/// Routes under the root: probes.
pub fn root(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)))
        .service(web::resource("/metrics").route(web::get().to(metrics::render)));
}

/// Routes under `/api/v1`.
pub fn api(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/register").route(web::post().to(accounts::handlers::register)))
        .service(web::resource("/auth/login").route(web::post().to(accounts::handlers::login)))
        .service(web::resource("/auth/refresh").route(web::post().to(accounts::handlers::refresh)))
        .service(web::resource("/auth/logout").route(web::post().to(accounts::handlers::logout)))
        .service(web::resource("/me").route(web::get().to(accounts::handlers::me)))
        .service(web::resource("/me/real-name").route(web::post().to(accounts::handlers::real_name)))
        // --- reports
        .service(web::resource("/admin/campaigns/{id}/report").route(web::get().to(reports::handlers::campaign_report)))
        .service(
            web::resource("/admin/campaigns/{id}/report.csv")
                .route(web::get().to(reports::handlers::campaign_report_csv)),
        )
        .service(web::resource("/admin/settlements").route(web::get().to(reports::handlers::settlements)))
        .service(web::resource("/admin/overview").route(web::get().to(reports::handlers::overview)));
}

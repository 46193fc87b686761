//! The one route table: every path the service answers, and who may call it.

use actix_web::web;

use crate::{accounts, health, orders};

/// Routes under the root: probes.
pub fn root(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)));
}

/// Routes under `/api/v1`.
pub fn api(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/register").route(web::post().to(accounts::handlers::register)))
        .service(web::resource("/auth/login").route(web::post().to(accounts::handlers::login)))
        .service(web::resource("/auth/refresh").route(web::post().to(accounts::handlers::refresh)))
        .service(web::resource("/auth/logout").route(web::post().to(accounts::handlers::logout)))
        .service(web::resource("/me").route(web::get().to(accounts::handlers::me)))
        .service(web::resource("/me/real-name").route(web::post().to(accounts::handlers::real_name)));

    // --- orders
    cfg.service(web::resource("/orders").route(web::post().to(orders::handlers::create)))
        .service(web::resource("/orders/{id}").route(web::get().to(orders::handlers::get)))
        .service(web::resource("/orders/{id}/pay").route(web::post().to(orders::handlers::pay)))
        .service(web::resource("/orders/{id}/cancel").route(web::post().to(orders::handlers::cancel)))
        .service(web::resource("/orders/{id}/refund").route(web::post().to(orders::handlers::refund)))
        .service(web::resource("/me/orders").route(web::get().to(orders::handlers::my_orders)))
        .service(web::resource("/merchants/{id}/orders").route(web::get().to(orders::handlers::merchant_orders)))
        .service(web::resource("/merchants/{id}/redemptions").route(web::post().to(orders::handlers::redeem)));
}

//! The one route table: every path the service answers, and who may call it.

use actix_web::web;

use crate::{accounts, audit, health, merchants, offers};

/// Routes under the root: probes.
pub fn root(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)));

    // --- merchants (the admin console's calls sit at the root, API.md Conventions)
    cfg.service(web::resource("/admin/merchants").route(web::get().to(merchants::handlers::admin_list)))
        .service(web::resource("/admin/merchants/{id}/approve").route(web::post().to(merchants::handlers::approve)))
        .service(web::resource("/admin/merchants/{id}/reject").route(web::post().to(merchants::handlers::reject)))
        .service(web::resource("/admin/merchants/{id}/suspend").route(web::post().to(merchants::handlers::suspend)))
        .service(web::resource("/admin/merchants/{id}/reinstate").route(web::post().to(merchants::handlers::reinstate)))
        .service(web::resource("/admin/audit-log").route(web::get().to(audit::list_handler)));
}

/// Routes under `/api/v1`.
pub fn api(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/register").route(web::post().to(accounts::handlers::register)))
        .service(web::resource("/auth/login").route(web::post().to(accounts::handlers::login)))
        .service(web::resource("/auth/refresh").route(web::post().to(accounts::handlers::refresh)))
        .service(web::resource("/auth/logout").route(web::post().to(accounts::handlers::logout)))
        .service(web::resource("/me").route(web::get().to(accounts::handlers::me)))
        .service(web::resource("/me/real-name").route(web::post().to(accounts::handlers::real_name)));

    // --- merchants
    cfg.service(
        web::resource("/merchants")
            .route(web::post().to(merchants::handlers::apply))
            .route(web::get().to(merchants::handlers::list)),
    )
    .service(web::resource("/merchants/{id}").route(web::get().to(merchants::handlers::show)))
    .service(web::resource("/merchants/{id}/staff").route(web::post().to(merchants::handlers::add_staff)))
    .service(
        web::resource("/merchants/{id}/staff/{user_id}").route(web::delete().to(merchants::handlers::remove_staff)),
    );

    // --- offers
    cfg.service(web::resource("/merchants/{id}/offers").route(web::post().to(offers::handlers::create)))
        .service(web::resource("/offers").route(web::get().to(offers::handlers::list)))
        .service(
            web::resource("/offers/{id}")
                .route(web::get().to(offers::handlers::show))
                .route(web::patch().to(offers::handlers::patch)),
        );
}

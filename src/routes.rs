//! The one route table: every path the service answers, and who may call it.

use actix_web::web;

use crate::{accounts, campaigns, health, vouchers};

/// Routes under the root: probes.
pub fn root(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)));
    // --- campaigns (admin): API.md puts `/admin` at the root; also under /api/v1.
    campaigns_admin(cfg);
}

/// `/admin/campaigns*`, mounted at the root and under `/api/v1`.
fn campaigns_admin(cfg: &mut web::ServiceConfig) {
    use campaigns::handlers as h;
    cfg.service(
        web::resource("/admin/campaigns")
            .route(web::get().to(h::admin_list))
            .route(web::post().to(h::create)),
    )
    .service(web::resource("/admin/campaigns/{id}/batches").route(web::post().to(h::create_batch)))
    .service(web::resource("/admin/campaigns/{id}/publish").route(web::post().to(h::publish)))
    .service(web::resource("/admin/campaigns/{id}/pause").route(web::post().to(h::pause)))
    .service(web::resource("/admin/campaigns/{id}/resume").route(web::post().to(h::resume)))
    .service(web::resource("/admin/campaigns/{id}/end").route(web::post().to(h::end)));
}

/// Routes under `/api/v1`.
pub fn api(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/register").route(web::post().to(accounts::handlers::register)))
        .service(web::resource("/auth/login").route(web::post().to(accounts::handlers::login)))
        .service(web::resource("/auth/refresh").route(web::post().to(accounts::handlers::refresh)))
        .service(web::resource("/auth/logout").route(web::post().to(accounts::handlers::logout)))
        .service(web::resource("/me").route(web::get().to(accounts::handlers::me)))
        .service(web::resource("/me/real-name").route(web::post().to(accounts::handlers::real_name)));

    // --- campaigns and vouchers
    campaigns_admin(cfg);
    cfg.service(web::resource("/campaigns").route(web::get().to(campaigns::handlers::public_list)))
        .service(web::resource("/campaigns/{id}").route(web::get().to(campaigns::handlers::show)))
        .service(web::resource("/batches/{id}/claim").route(web::post().to(vouchers::handlers::claim)))
        .service(web::resource("/me/vouchers").route(web::get().to(vouchers::handlers::mine)));
}

//! The one route table: every path the service answers, and who may call it.
//!
//! Each table below is written once and gives two things: the function that
//! registers its routes with actix, and a list of `(method, path)` pairs that a
//! test holds against the OpenAPI document, so no route can go undocumented.
//! A path's methods share one resource, so a wrong method is a 405, not a 404.

use actix_web::web;

use crate::{
    accounts, audit, campaigns, dashboard, health, merchants, metrics, offers, orders, reports, vouchers, webhooks,
};
use crate::{lottery, merchant_console, risk, statements};

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

// --- the administrators' dashboard and the merchants' console (HTML, not API: kept out of
// the OpenAPI document; its data comes from /api/v1/admin/..., which checks the role).
route_table!(dashboard_pages, DASHBOARD_ROUTES, {
    "/admin" => { get: dashboard::index },
    "/admin/" => { get: dashboard::index },
    "/admin/app.js" => { get: dashboard::script },
    "/admin/app.css" => { get: dashboard::stylesheet },
    // The merchants' console, served the same way; its data comes from the
    // merchant endpoints, which check membership.
    "/merchant" => { get: merchant_console::index },
    "/merchant/" => { get: merchant_console::index },
    "/merchant/app.js" => { get: merchant_console::script },
    "/merchant/app.css" => { get: merchant_console::stylesheet },
    // What both pages' scripts share (the session, the API client, the language).
    "/common/console.js" => { get: dashboard::common_script },
});

// Routes under `/api/v1`. actix tries them in this order, running each pattern with
// `{…}` segments as a regex, so the two paths a release storm hammers come first
// (measured in a wrk claim storm: matching the fifty-odd patterns that stood before
// the claim's took 15-18% of the HTTP workers' CPU, 4.5% once it came first). No
// other pattern matches their paths, so the order changes no answer.
route_table!(api, API_ROUTES, {
    // --- release storms: claims and lottery entries (see above)
    "/batches/{id}/claim" => { post: vouchers::handlers::claim },
    "/batches/{id}/entries" => { post: lottery::handlers::enter },
    // --- accounts
    "/auth/register" => { post: accounts::handlers::register },
    "/auth/login" => { post: accounts::handlers::login },
    "/auth/refresh" => { post: accounts::handlers::refresh },
    "/auth/logout" => { post: accounts::handlers::logout },
    "/auth/logout-all" => { post: accounts::handlers::logout_all },
    "/me/password" => { post: accounts::handlers::change_password },
    "/admin/users/{id}/disable" => { post: accounts::handlers::disable },
    "/admin/users/{id}/enable" => { post: accounts::handlers::enable },
    "/admin/identities/release" => { post: accounts::handlers::release_identity },
    "/me" => { get: accounts::handlers::me },
    "/me/real-name" => { post: accounts::handlers::real_name },
    // --- orders
    "/orders" => { post: orders::handlers::create },
    "/orders/{id}" => { get: orders::handlers::get },
    "/orders/{id}/pay" => { post: orders::handlers::pay },
    "/orders/{id}/cancel" => { post: orders::handlers::cancel },
    "/orders/{id}/refund" => { post: orders::handlers::refund },
    "/me/orders" => { get: orders::handlers::my_orders },
    "/merchants/{id}/orders" => { get: orders::handlers::merchant_orders },
    "/merchants/{id}/redemptions" => { post: orders::handlers::redeem },
    // --- webhooks
    "/merchants/{id}/webhooks" => { post: webhooks::handlers::create, get: webhooks::handlers::list },
    "/merchants/{id}/webhooks/{webhook_id}" => { delete: webhooks::handlers::delete },
    "/merchants/{id}/webhooks/{webhook_id}/deliveries" => { get: webhooks::handlers::deliveries },
    // --- merchants
    "/merchants" => { post: merchants::handlers::apply, get: merchants::handlers::list },
    "/merchants/{id}" => { get: merchants::handlers::show },
    "/merchants/{id}/staff" => { post: merchants::handlers::add_staff, get: merchants::handlers::list_staff },
    "/merchants/{id}/staff/{user_id}" => { delete: merchants::handlers::remove_staff },
    "/me/merchants" => { get: merchants::handlers::my_merchants },
    "/me/invitations" => { get: merchants::handlers::my_invitations },
    "/me/invitations/{id}/accept" => { post: merchants::handlers::accept_invitation },
    "/me/invitations/{id}/decline" => { post: merchants::handlers::decline_invitation },
    "/admin/merchants" => { get: merchants::handlers::admin_list },
    "/admin/merchants/{id}/approve" => { post: merchants::handlers::approve },
    "/admin/merchants/{id}/reject" => { post: merchants::handlers::reject },
    "/admin/merchants/{id}/suspend" => { post: merchants::handlers::suspend },
    "/admin/merchants/{id}/reinstate" => { post: merchants::handlers::reinstate },
    "/admin/audit-log" => { get: audit::handlers::list },
    // --- offers
    "/merchants/{id}/offers" => { post: offers::handlers::create, get: offers::handlers::merchant_list },
    "/offers" => { get: offers::handlers::list },
    "/offers/{id}" => { get: offers::handlers::show, patch: offers::handlers::patch },
    // --- campaigns and vouchers
    "/admin/campaigns" => { get: campaigns::handlers::admin_list, post: campaigns::handlers::create },
    "/admin/campaigns/{id}/batches" => { post: campaigns::handlers::create_batch },
    "/admin/campaigns/{id}/publish" => { post: campaigns::handlers::publish },
    "/admin/campaigns/{id}/pause" => { post: campaigns::handlers::pause },
    "/admin/campaigns/{id}/resume" => { post: campaigns::handlers::resume },
    "/admin/campaigns/{id}/end" => { post: campaigns::handlers::end },
    "/campaigns" => { get: campaigns::handlers::public_list },
    "/campaigns/{id}" => { get: campaigns::handlers::show },
    "/me/vouchers" => { get: vouchers::handlers::mine },
    "/me/entries" => { get: lottery::handlers::mine },
    "/batches/{id}/draw" => { get: lottery::handlers::show_draw },
    "/batches/{id}/draw/winners" => { get: lottery::handlers::winners },
    "/admin/batches/{id}/draw" => { post: lottery::handlers::draw },
    // --- reports
    "/admin/campaigns/{id}/report" => { get: reports::handlers::campaign_report },
    "/admin/campaigns/{id}/report.csv" => { get: reports::handlers::campaign_report_csv },
    "/admin/settlements" => { get: reports::handlers::settlements },
    "/admin/overview" => { get: reports::handlers::overview },
    // --- money to merchants: statements, reversals, risk (the .csv path before `{id}`)
    "/admin/statements" => { get: statements::handlers::admin_list },
    "/admin/statements/{id}.csv" => { get: statements::handlers::show_csv },
    "/admin/statements/{id}" => { get: statements::handlers::show },
    "/admin/statements/{id}/hold" => { post: statements::handlers::hold },
    "/admin/statements/{id}/release" => { post: statements::handlers::release },
    "/admin/statements/{id}/approve" => { post: statements::handlers::approve },
    "/admin/statements/{id}/paid" => { post: statements::handlers::paid },
    "/merchants/{id}/statements" => { get: statements::handlers::merchant_list },
    "/merchants/{id}/statements/{statement_id}.csv" => { get: statements::handlers::merchant_csv },
    "/admin/orders/{id}/reverse" => { post: statements::handlers::reverse },
    "/admin/risk/merchants" => { get: risk::handlers::queue },
    "/admin/risk/scan" => { post: risk::handlers::scan_now },
});

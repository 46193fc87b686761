//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! annotations and the DTOs' `ToSchema` derives, served at `/api/v1/openapi.json`
//! with Swagger UI (vendored: nothing is fetched) at `/docs`.
//!
//! Handlers annotate their success answers and the business errors they give
//! (409 `sold_out`, 403 for admin-only calls, …). [`StandardErrors`] adds the
//! errors every operation of a given shape can give, from that shape: a body means
//! 400, 413, 415 and 422; a bearer requirement 401; a path id 404; query
//! parameters 422; any operation 503 when the database is unavailable. A test holds
//! this document against the route table so no route goes undocumented.

use std::sync::OnceLock;

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, RefOr, ResponseBuilder, Schema, SchemaFormat, Type};
use utoipa::{Modify, OpenApi};

use crate::error::Code;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "wenlv API",
        version = "1",
        description = "The culture-tourism consumption platform: accounts, merchants, offers, \
                       subsidy campaigns and vouchers, orders, and leverage reports. Money is \
                       integer fen; errors are RFC 9457 problem+json with a stable `code`."
    ),
    paths(
        crate::health::healthz,
        crate::health::readyz,
        crate::metrics::render,
        crate::accounts::handlers::register,
        crate::accounts::handlers::login,
        crate::accounts::handlers::refresh,
        crate::accounts::handlers::logout,
        crate::accounts::handlers::logout_all,
        crate::accounts::handlers::change_password,
        crate::accounts::handlers::disable,
        crate::accounts::handlers::enable,
        crate::accounts::handlers::release_identity,
        crate::accounts::handlers::me,
        crate::accounts::handlers::real_name,
        crate::merchants::handlers::apply,
        crate::merchants::handlers::list,
        crate::merchants::handlers::show,
        crate::merchants::handlers::add_staff,
        crate::merchants::handlers::list_staff,
        crate::merchants::handlers::my_merchants,
        crate::merchants::handlers::my_invitations,
        crate::merchants::handlers::accept_invitation,
        crate::merchants::handlers::decline_invitation,
        crate::merchants::handlers::remove_staff,
        crate::merchants::handlers::admin_list,
        crate::merchants::handlers::approve,
        crate::merchants::handlers::reject,
        crate::merchants::handlers::suspend,
        crate::merchants::handlers::reinstate,
        crate::audit::handlers::list,
        crate::offers::handlers::create,
        crate::offers::handlers::merchant_list,
        crate::offers::handlers::list,
        crate::offers::handlers::show,
        crate::offers::handlers::patch,
        crate::campaigns::handlers::admin_list,
        crate::campaigns::handlers::create,
        crate::campaigns::handlers::create_batch,
        crate::campaigns::handlers::publish,
        crate::campaigns::handlers::pause,
        crate::campaigns::handlers::resume,
        crate::campaigns::handlers::end,
        crate::campaigns::handlers::public_list,
        crate::campaigns::handlers::show,
        crate::vouchers::handlers::claim,
        crate::vouchers::handlers::mine,
        crate::lottery::handlers::enter,
        crate::lottery::handlers::mine,
        crate::lottery::handlers::draw,
        crate::lottery::handlers::show_draw,
        crate::lottery::handlers::winners,
        crate::orders::handlers::create,
        crate::orders::handlers::get,
        crate::orders::handlers::pay,
        crate::orders::handlers::cancel,
        crate::orders::handlers::refund,
        crate::orders::handlers::my_orders,
        crate::orders::handlers::merchant_orders,
        crate::orders::handlers::redeem,
        crate::webhooks::handlers::create,
        crate::webhooks::handlers::list,
        crate::webhooks::handlers::delete,
        crate::webhooks::handlers::deliveries,
        crate::reports::handlers::campaign_report,
        crate::reports::handlers::campaign_report_csv,
        crate::reports::handlers::settlements,
        crate::reports::handlers::overview,
        crate::statements::handlers::admin_list,
        crate::statements::handlers::show,
        crate::statements::handlers::show_csv,
        crate::statements::handlers::hold,
        crate::statements::handlers::release,
        crate::statements::handlers::approve,
        crate::statements::handlers::paid,
        crate::statements::handlers::merchant_list,
        crate::statements::handlers::merchant_csv,
        crate::statements::handlers::reverse,
        crate::risk::handlers::queue,
        crate::risk::handlers::scan_now,
    ),
    modifiers(&StandardErrors, &TaggedOperationIds),
    tags(
        (name = "operations", description = "Probes and metrics"),
        (name = "accounts", description = "Registration, sign-in, real-name verification"),
        (name = "merchants", description = "Merchant applications, review, staff"),
        (name = "audit", description = "Every admin action and merchant status change"),
        (name = "offers", description = "Merchants' offers and the public catalog"),
        (name = "campaigns", description = "Subsidy campaigns and their voucher batches"),
        (name = "vouchers", description = "Claiming vouchers and the resident's wallet"),
        (name = "fair_release", description = "Lottery batches: entries, and the draw anyone can verify"),
        (name = "orders", description = "Orders, payment, redemption at the venue, cancellation and refunds"),
        (name = "reports", description = "Leverage per campaign, settlements, platform totals"),
        (name = "statements", description = "Money to merchants: daily statements, holds, payouts, reversals and clawbacks"),
        (name = "risk", description = "Fraud signals on merchants and the admin risk queue"),
    )
)]
pub struct ApiDoc;

/// The document, built once, with the `District` schema (`domain::District`) open
/// (any string).
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(ApiDoc::openapi)
}

/// The document as a server with these configured districts serves it: the
/// `District` schema lists exactly them.
pub fn document_for(districts: &[String]) -> utoipa::openapi::OpenApi {
    let mut doc = document().clone();
    let schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(districts.iter().map(String::as_str)))
        .description(Some(crate::domain::district::DESCRIPTION))
        .build();
    doc.components
        .get_or_insert_with(Default::default)
        .schemas
        .insert("District".to_owned(), RefOr::T(Schema::Object(schema)));
    doc
}

/// The problem+json schema, `code` listing every stable code.
fn problem_schema() -> Schema {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    let errors = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("Validation errors: every offending field with its messages"))
        .additional_properties(Some(utoipa::openapi::schema::ArrayBuilder::new().items(string())));
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("type", string().format(Some(SchemaFormat::Custom("uri".to_owned()))))
            .property("title", string())
            .property("status", ObjectBuilder::new().schema_type(Type::Integer))
            .property("detail", string())
            .property("code", string().enum_values(Some(codes)))
            .property("errors", errors)
            .required("type")
            .required("title")
            .required("status")
            .required("detail")
            .required("code")
            .build(),
    )
}

fn problem(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Problem"))))
                    .build(),
            )
            .build(),
    )
}

/// Adds the errors an operation of a given shape can give (see the module doc).
pub struct StandardErrors;

impl Modify for StandardErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .schemas
            .insert("Problem".to_owned(), RefOr::T(problem_schema()));
        components.security_schemes.insert(
            "bearer".to_owned(),
            RefOr::T(SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            )),
        );
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                add_standard_errors(operation);
            }
        }
    }
}

/// utoipa names an operation after its handler, and several modules have a
/// `list`, `show` or `create`: prefixing the tag makes every `operationId` unique,
/// as OpenAPI requires (and as client generators need).
pub struct TaggedOperationIds;

impl Modify for TaggedOperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let tag = operation.tags.as_ref().and_then(|t| t.first()).cloned();
                if let (Some(tag), Some(id)) = (tag, operation.operation_id.as_mut()) {
                    *id = format!("{tag}_{id}");
                }
            }
        }
    }
}

fn add_standard_errors(operation: &mut Operation) {
    // Annotated errors name their codes in the description; their body is a Problem.
    for (status, response) in operation.responses.responses.iter_mut() {
        if let RefOr::T(response) = response {
            if status.as_str() >= "400" && response.content.is_empty() {
                if let RefOr::T(filled) = problem(&response.description) {
                    *response = filled;
                }
            }
        }
    }
    let parameters = operation.parameters.clone().unwrap_or_default();
    let has_in = |place: ParameterIn| {
        parameters
            .iter()
            .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == place))
    };
    let mut add = |status: &str, description: &str| {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| problem(description));
    };
    if operation.request_body.is_some() {
        add("400", "malformed_request: the body is not valid JSON");
        add("413", "payload_too_large: the body is over 1 MiB");
        add("415", "unsupported_media_type: the body is not application/json");
        add("422", "validation_failed: invalid, missing or unknown fields");
    }
    if has_in(ParameterIn::Query) {
        add("422", "validation_failed: a query parameter has an unknown value");
    }
    if has_in(ParameterIn::Path) {
        add("404", "not_found: no such object, or not visible to the caller");
    }
    if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
        add("401", "unauthorized: missing, malformed, tampered or expired token");
    }
    add("503", "service_unavailable: the database is busy or down");
}

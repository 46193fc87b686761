//! A district of the platform, as the OpenAPI document names it. Districts come
//! from the config (`platform.districts`), not from code, so this schema is an open
//! string here; the wiring (`openapi::document_for`) lists the configured ones when
//! it serves the document. DTO fields reference it with
//! `#[schema(value_type = crate::domain::District)]`.

/// The OpenAPI schema of a district name (see the module doc).
pub struct District;

impl utoipa::PartialSchema for District {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("A district of the platform (config `platform.districts`)."))
            .into()
    }
}

impl utoipa::ToSchema for District {}

//! Districts of the platform. Unlike categories they are not a fixed list: they come
//! from the config (`platform.districts`, read through
//! `config::PlatformSettings::districts`), so values travel as plain strings checked
//! against that list, and [`District`] only names their schema.

use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};

/// What the `District` schema says of itself.
pub const DESCRIPTION: &str = "A district of the platform (config `platform.districts`).";

/// The OpenAPI schema of a district: any string here; the served document lists the
/// configured districts (`openapi::document_for` replaces this schema at start-up).
pub struct District;

impl utoipa::PartialSchema for District {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(DESCRIPTION))
            .into()
    }
}

impl utoipa::ToSchema for District {}

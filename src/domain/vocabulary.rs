//! Closed vocabularies: the statuses, roles and kinds that the rules speak in.
//!
//! [`text_enum!`](crate::text_enum) declares one Rust enum per concept, each variant
//! with the text stored in the database (columns stay TEXT) and shown on the wire.
//! From that one list it derives everything that used to be written by hand:
//! `as_str`, the list of variants (`ALL`, `NAMES`), parsing (`parse`, `FromStr`,
//! `TryFrom<String>` for diesel's `deserialize_as`), serde, the OpenAPI schema
//! (a string enum named after the type) and diesel's `AsExpression<Text>`, so a
//! query filters with `orders::status.eq(OrderStatus::Paid)`. A typo such as
//! `OrderStatus::Payed` does not compile; the text of a status stands once, in its
//! enum (and in SQL migrations).
//!
//! Declare an enum in the feature that owns the concept (`orders::models`,
//! `vouchers::status`, …); shared ones (category, role) live in `domain`.

use std::fmt;

/// A stored or received text that names no variant of a vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    /// The vocabulary's name (the enum's).
    pub vocabulary: &'static str,
    pub value: String,
    pub allowed: &'static [&'static str],
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "'{}' is not a {}; expected one of: {}",
            self.value,
            self.vocabulary,
            self.allowed.join(", ")
        )
    }
}

impl std::error::Error for UnknownValue {}

/// Declares a closed vocabulary stored as TEXT (see the module doc).
///
/// ```
/// wenlv::text_enum! {
///     /// A light's colour.
///     pub enum Light { Red = "red", Green = "green" }
/// }
/// assert_eq!(Light::parse("red"), Some(Light::Red));
/// assert_eq!(Light::NAMES, &["red", "green"]);
/// ```
#[macro_export]
macro_rules! text_enum {
    (
        $(#[doc = $doc:expr])*
        $vis:vis enum $name:ident {
            $( $(#[doc = $vdoc:expr])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[doc = $vdoc])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every variant's text, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The text stored in the database and shown on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The variant named `raw` exactly, if any.
            pub fn parse(raw: &str) -> Option<$name> {
                match raw {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            fn unknown(raw: &str) -> $crate::domain::vocabulary::UnknownValue {
                $crate::domain::vocabulary::UnknownValue {
                    vocabulary: stringify!($name),
                    value: raw.to_owned(),
                    allowed: Self::NAMES,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::domain::vocabulary::UnknownValue;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                $name::parse(raw).ok_or_else(|| $name::unknown(raw))
            }
        }

        /// What `#[diesel(deserialize_as = String)]` reads a TEXT column through.
        impl ::std::convert::TryFrom<String> for $name {
            type Error = $crate::domain::vocabulary::UnknownValue;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                raw.parse()
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                raw.parse().map_err(::serde::de::Error::custom)
            }
        }

        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                let doc: &[&str] = &[$($doc.trim()),*];
                ::utoipa::openapi::ObjectBuilder::new()
                    .schema_type(::utoipa::openapi::schema::Type::String)
                    .enum_values(Some($name::NAMES.iter().copied()))
                    .description((!doc.is_empty()).then(|| doc.join(" ")))
                    .into()
            }
        }

        impl ::utoipa::ToSchema for $name {}

        impl ::diesel::expression::AsExpression<::diesel::sql_types::Text> for $name {
            type Expression = <&'static str as ::diesel::expression::AsExpression<::diesel::sql_types::Text>>::Expression;
            fn as_expression(self) -> Self::Expression {
                <&'static str as ::diesel::expression::AsExpression<::diesel::sql_types::Text>>::as_expression(self.as_str())
            }
        }

        /// By reference too: `Insertable` and `AsChangeset` derives bind `&field`.
        impl<'a> ::diesel::expression::AsExpression<::diesel::sql_types::Text> for &'a $name {
            type Expression = <&'static str as ::diesel::expression::AsExpression<::diesel::sql_types::Text>>::Expression;
            fn as_expression(self) -> Self::Expression {
                <&'static str as ::diesel::expression::AsExpression<::diesel::sql_types::Text>>::as_expression(self.as_str())
            }
        }

        impl ::diesel::expression::AsExpression<::diesel::sql_types::Nullable<::diesel::sql_types::Text>> for $name {
            type Expression = <&'static str as ::diesel::expression::AsExpression<
                ::diesel::sql_types::Nullable<::diesel::sql_types::Text>,
            >>::Expression;
            fn as_expression(self) -> Self::Expression {
                <&'static str as ::diesel::expression::AsExpression<
                    ::diesel::sql_types::Nullable<::diesel::sql_types::Text>,
                >>::as_expression(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::text_enum! {
        /// A test vocabulary.
        enum Light { Red = "red", Amber = "amber", Green = "green" }
    }

    #[test]
    fn one_list_gives_text_parsing_serde_and_schema() {
        assert_eq!(Light::NAMES, &["red", "amber", "green"]);
        assert_eq!(Light::ALL.len(), 3);
        assert_eq!(Light::Amber.as_str(), "amber");
        assert_eq!("green".parse::<Light>(), Ok(Light::Green));
        let err = "payed".parse::<Light>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "'payed' is not a Light; expected one of: red, amber, green"
        );
        assert_eq!(Light::try_from("red".to_owned()), Ok(Light::Red));
        assert_eq!(serde_json::to_string(&Light::Red).unwrap(), "\"red\"");
        assert_eq!(serde_json::from_str::<Light>("\"amber\"").unwrap(), Light::Amber);
        assert!(serde_json::from_str::<Light>("\"blue\"").is_err());
        let schema = serde_json::to_value(<Light as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["enum"], serde_json::json!(["red", "amber", "green"]));
        assert_eq!(schema["description"], "A test vocabulary.");
    }
}

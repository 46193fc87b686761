//! What the accounts endpoints answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::models::UserRow;
use crate::domain::Role;
use crate::time::utc;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserDto {
    pub id: i64,
    pub phone: String,
    pub display_name: String,
    pub role: Role,
    pub merchant_ids: Vec<i64>,
    pub real_name_verified: bool,
    pub created_at: DateTime<Utc>,
}

impl UserDto {
    pub fn new(user: UserRow, merchant_ids: Vec<i64>) -> UserDto {
        UserDto {
            id: user.id,
            phone: user.phone,
            display_name: user.display_name,
            role: user.role,
            merchant_ids,
            real_name_verified: user.real_name_verified_at.is_some(),
            created_at: utc(user.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds the access token lives.
    pub expires_in: i64,
    pub refresh_token: String,
}

// Request bodies, for the OpenAPI document. Handlers validate bodies with
// `http::form::Form` (which names every bad field at once); these types state the
// same rules for clients and for contract tests.

/// `POST /auth/register`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// A mainland mobile number.
    #[schema(pattern = "^1[3-9][0-9]{9}$", example = "13800138000")]
    pub phone: String,
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    /// Trimmed; 1–64 characters.
    #[schema(min_length = 1, max_length = 64, example = "张三")]
    pub display_name: String,
}

/// `POST /auth/login`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "13800138000")]
    pub phone: String,
    pub password: String,
}

/// `POST /auth/refresh` and `POST /auth/logout`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub refresh_token: String,
}

/// `POST /me/real-name`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RealNameRequest {
    #[schema(min_length = 1, max_length = 50, example = "王小明")]
    pub name: String,
    /// An 18-character resident identity number (GB 11643); its check character is verified.
    #[schema(pattern = "^[0-9]{17}[0-9Xx]$", example = "11010519491231002X")]
    pub id_number: String,
}

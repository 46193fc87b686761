//! What the accounts endpoints answer.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::models::UserRow;
use crate::time::utc;

#[derive(Debug, Serialize)]
pub struct UserDto {
    pub id: i64,
    pub phone: String,
    pub display_name: String,
    pub role: String,
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

#[derive(Debug, Serialize)]
pub struct TokenPair {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
}

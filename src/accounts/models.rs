//! Rows of `users` and `refresh_tokens`, and the insert forms.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{refresh_tokens, users};
use crate::domain::Role;

#[derive(Debug, Clone, Queryable)]
pub struct UserRow {
    pub id: i64,
    pub phone: String,
    pub password_hash: String,
    pub display_name: String,
    #[diesel(deserialize_as = String)]
    pub role: Role,
    pub real_name: Option<String>,
    pub identity_hash: Option<String>,
    pub identity_last4: Option<String>,
    pub real_name_verified_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// `role` holds [`Role::as_str`]: diesel's `Insertable` derive cannot mix the
/// enum's `AsExpression` with the borrowed `&'a str` fields.
#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub phone: &'a str,
    pub password_hash: &'a str,
    pub display_name: &'a str,
    pub role: &'static str,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable)]
pub struct RefreshTokenRow {
    pub id: i64,
    pub user_id: i64,
    pub family: String,
    pub token_hash: String,
    pub expires_at: NaiveDateTime,
    pub spent_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshToken<'a> {
    pub user_id: i64,
    pub family: &'a str,
    pub token_hash: &'a str,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

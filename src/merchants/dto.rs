//! What the merchant endpoints answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::members::{MemberRow, Membership};
use super::models::{InvitationRow, InvitationStatus, MemberRole, MerchantRow, MerchantStatus};
use crate::domain::{Category, District};
use crate::time::utc;

#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantDto {
    pub id: i64,
    pub name: String,
    pub license_no: String,
    pub category: Category,
    #[schema(value_type = District)]
    pub district: String,
    pub address: String,
    pub contact_phone: String,
    pub status: MerchantStatus,
    /// The reason of the latest reject, suspend or reinstate; null before any.
    #[schema(required = true)]
    pub review_note: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<MerchantRow> for MerchantDto {
    fn from(row: MerchantRow) -> Self {
        MerchantDto {
            id: row.id,
            name: row.name,
            license_no: row.license_no,
            category: row.category,
            district: row.district,
            address: row.address,
            contact_phone: row.contact_phone,
            status: row.status,
            review_note: row.review_note,
            created_at: utc(row.created_at),
        }
    }
}

/// `POST /merchants/{id}/staff`: an invitation was sent (the same for any phone).
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationSentDto {
    pub merchant_id: i64,
    pub phone: String,
    pub status: InvitationStatus,
    pub expires_at: DateTime<Utc>,
}

/// `GET /me/invitations`: a pending invitation to the caller's phone.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationDto {
    pub id: i64,
    pub merchant_id: i64,
    pub merchant_name: String,
    pub invited_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl From<InvitationRow> for InvitationDto {
    fn from(row: InvitationRow) -> Self {
        InvitationDto {
            id: row.id,
            merchant_id: row.merchant_id,
            merchant_name: row.merchant_name,
            invited_at: utc(row.invited_at),
            expires_at: utc(row.expires_at),
        }
    }
}

/// The answer to accepting an invitation.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffDto {
    pub merchant_id: i64,
    pub user_id: i64,
    /// Always `staff`.
    #[schema(value_type = String, pattern = "^staff$")]
    pub role: MemberRole,
}

/// `GET /me/merchants`: one merchant the caller owns or staffs.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipDto {
    /// The caller's role there: `owner` (offers, staff, webhooks) or `staff` (redeem).
    pub role: MemberRole,
    pub merchant: MerchantDto,
}

impl From<Membership> for MembershipDto {
    fn from(m: Membership) -> Self {
        MembershipDto {
            role: m.role,
            merchant: MerchantDto::from(m.merchant),
        }
    }
}

/// `GET /merchants/{id}/staff`: one member of the merchant, as its owner sees them.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberDto {
    pub user_id: i64,
    pub display_name: String,
    pub phone: String,
    pub role: MemberRole,
    /// When they became a member (the owner: when the merchant applied).
    pub joined_at: DateTime<Utc>,
}

impl From<MemberRow> for MemberDto {
    fn from(row: MemberRow) -> Self {
        MemberDto {
            user_id: row.user_id,
            display_name: row.display_name,
            phone: row.phone,
            role: row.role,
            joined_at: utc(row.joined_at),
        }
    }
}

// Request bodies, for the OpenAPI document. Handlers validate bodies with
// `http::form::Form`; these types state the same rules (text is trimmed before
// its length is counted).

/// `POST /merchants`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MerchantApplication {
    #[schema(min_length = 1, max_length = 100, example = "廊坊新华书店")]
    pub name: String,
    /// An 18-character unified social credit code (GB 32100), check character verified;
    /// lower case is accepted and stored upper case.
    #[schema(pattern = "^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}$", example = "91131000MA0FXXXX0H")]
    pub license_no: String,
    pub category: Category,
    #[schema(value_type = District)]
    pub district: String,
    #[schema(min_length = 1, max_length = 200)]
    pub address: String,
    /// 5–20 characters of digits, spaces and `-`, with an optional leading `+`.
    #[schema(
        min_length = 5,
        max_length = 20,
        pattern = "^\\+?[0-9 -]*[0-9][0-9 -]*$",
        example = "0316-1234567"
    )]
    pub contact_phone: String,
}

/// `POST /admin/merchants/{id}/reject`, `/suspend`, `/reinstate`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// `POST /merchants/{id}/staff`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffRequest {
    /// The registered user's mainland mobile number.
    #[schema(pattern = "^1[3-9][0-9]{9}$", example = "13800138000")]
    pub phone: String,
}

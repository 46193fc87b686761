//! Campaigns and batches in the database.
//!
//! Every write is one `write_tx`; checks that guard money are conditional UPDATEs
//! whose affected-row count decides, never a read followed by a write in Rust.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

pub use super::models::Move;
use super::models::{Allocation, BatchRow, CampaignRow, CampaignStatus, NewBatch, NewCampaign};
use crate::audit::{self, AuditTarget};
use crate::db::schema::{campaigns, voucher_batches};
use crate::db::{write_tx, DbConnection};
use crate::domain::Category;
use crate::error::{AppError, Code};
use crate::http::PageRequest;
use crate::lottery::seed::DrawSeed;
use crate::time::now;
use crate::vouchers::stock;
use crate::vouchers::usable::UsableWindow;

/// A campaign as an admin asked for it, already validated.
pub struct CampaignDraft {
    pub name: String,
    pub description: String,
    pub budget_fen: i64,
    pub target_leverage: f64,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub eligible_categories: Vec<Category>,
    pub eligible_districts: Vec<String>,
    pub require_real_name: bool,
    pub refund_returns_voucher: bool,
}

/// Creates a draft campaign and audits `campaign.create`.
pub fn create_campaign(conn: &mut DbConnection, actor_id: i64, draft: &CampaignDraft) -> Result<CampaignRow, AppError> {
    let categories: Vec<&str> = draft.eligible_categories.iter().map(|c| c.as_str()).collect();
    let categories = categories.join(",");
    let districts = draft.eligible_districts.join(",");
    write_tx(conn, |conn| {
        let row: CampaignRow = diesel::insert_into(campaigns::table)
            .values(&NewCampaign {
                name: &draft.name,
                description: &draft.description,
                status: CampaignStatus::Draft.as_str(),
                budget_fen: draft.budget_fen,
                reserved_fen: 0,
                target_leverage: draft.target_leverage,
                starts_at: draft.starts_at,
                ends_at: draft.ends_at,
                eligible_categories: &categories,
                eligible_districts: &districts,
                require_real_name: draft.require_real_name,
                refund_returns_voucher: draft.refund_returns_voucher,
                created_by: actor_id,
                created_at: now(),
            })
            .returning(campaigns::all_columns)
            .get_result(conn)?;
        audit::record(conn, actor_id, AuditTarget::Campaign, "create", row.id, None)?;
        Ok(row)
    })
}

/// Moves a campaign with one conditional UPDATE on the allowed source statuses and
/// audits it. No row changed: 404 if the campaign does not exist, else 409.
pub fn transition(conn: &mut DbConnection, actor_id: i64, id: i64, step: Move) -> Result<CampaignRow, AppError> {
    write_tx(conn, |conn| {
        let moved: Option<CampaignRow> = diesel::update(
            campaigns::table
                .find(id)
                .filter(campaigns::status.eq_any(step.from().iter().map(|s| s.as_str()))),
        )
        .set(campaigns::status.eq(step.to()))
        .returning(campaigns::all_columns)
        .get_result(conn)
        .optional()?;
        match moved {
            Some(row) => {
                audit::record(conn, actor_id, AuditTarget::Campaign, step.verb(), id, None)?;
                Ok(row)
            }
            None => {
                let status = status_of(conn, id)?;
                Err(AppError::invalid_state(format!(
                    "a campaign that is {status} cannot {}",
                    step.verb()
                )))
            }
        }
    })
}

/// A campaign's status as stored; 404 when there is no such campaign.
fn status_of(conn: &mut DbConnection, id: i64) -> Result<CampaignStatus, AppError> {
    let status: String = campaigns::table.find(id).select(campaigns::status).first(conn)?;
    Ok(CampaignStatus::try_from(status)?)
}

/// A batch as an admin asked for it, already validated field by field.
pub struct BatchDraft {
    pub name: String,
    pub discount_fen: i64,
    pub min_spend_fen: i64,
    pub quantity: i64,
    pub per_user_limit: i64,
    pub claim_starts_at: NaiveDateTime,
    pub claim_ends_at: NaiveDateTime,
    pub valid_days: i64,
    pub allocation: Allocation,
    /// First-come batches only (the handler refuses it on a lottery batch).
    pub daily_quantity: Option<i64>,
    pub usable: UsableWindow,
}

/// Creates a batch: reserves its face value from the campaign's budget with one
/// conditional UPDATE, inserts it with `remaining = quantity` (and, for a lottery,
/// a fresh secret seed and its published commitment), and audits `batch.create`,
/// all in one transaction. A first-come batch's stock is spread over `stock_shards`
/// rows when that is above 1 (`vouchers::stock`; config `claims.stock_shards`).
pub fn create_batch(
    conn: &mut DbConnection,
    actor_id: i64,
    campaign_id: i64,
    draft: &BatchDraft,
    stock_shards: usize,
) -> Result<BatchRow, AppError> {
    let face = draft
        .discount_fen
        .checked_mul(draft.quantity)
        .ok_or_else(|| AppError::new(Code::BudgetExceeded, "the batch's face value exceeds any budget"))?;
    let seed = (draft.allocation == Allocation::Lottery).then(DrawSeed::generate);
    let (weekdays, hours) = (draft.usable.stored_weekdays(), draft.usable.hours);
    write_tx(conn, |conn| {
        // The window never changes after creation, so reading it first is safe.
        let (status, starts_at, ends_at): (String, NaiveDateTime, NaiveDateTime) = campaigns::table
            .find(campaign_id)
            .select((campaigns::status, campaigns::starts_at, campaigns::ends_at))
            .first(conn)?;
        if CampaignStatus::try_from(status)? == CampaignStatus::Ended {
            return Err(AppError::invalid_state("the campaign has ended"));
        }
        let mut errors = crate::error::FieldErrors::new();
        if draft.claim_starts_at < starts_at {
            errors
                .entry("claim_starts_at".to_owned())
                .or_default()
                .push("must not be before the campaign's starts_at".to_owned());
        }
        if draft.claim_ends_at > ends_at {
            errors
                .entry("claim_ends_at".to_owned())
                .or_default()
                .push("must not be after the campaign's ends_at".to_owned());
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let reserved = diesel::update(
            campaigns::table
                .find(campaign_id)
                .filter(campaigns::status.ne(CampaignStatus::Ended))
                .filter((campaigns::reserved_fen + face).le(campaigns::budget_fen)),
        )
        .set(campaigns::reserved_fen.eq(campaigns::reserved_fen + face))
        .execute(conn)?;
        if reserved == 0 {
            return Err(if status_of(conn, campaign_id)? == CampaignStatus::Ended {
                AppError::invalid_state("the campaign has ended")
            } else {
                AppError::new(
                    Code::BudgetExceeded,
                    format!("the batch's face value of {face} fen exceeds the campaign's unreserved budget"),
                )
            });
        }
        let mut batch: BatchRow = diesel::insert_into(voucher_batches::table)
            .values(&NewBatch {
                campaign_id,
                name: &draft.name,
                discount_fen: draft.discount_fen,
                min_spend_fen: draft.min_spend_fen,
                quantity: draft.quantity,
                remaining: draft.quantity,
                per_user_limit: draft.per_user_limit,
                claim_starts_at: draft.claim_starts_at,
                claim_ends_at: draft.claim_ends_at,
                valid_days: draft.valid_days,
                created_at: now(),
                allocation: draft.allocation.as_str(),
                daily_quantity: draft.daily_quantity,
                usable_weekdays: weekdays.clone(),
                usable_from: hours.map(|h| h.from_text()),
                usable_to: hours.map(|h| h.to_text()),
                draw_seed: seed.as_ref().map(DrawSeed::to_hex),
                commitment: seed.as_ref().map(DrawSeed::commitment),
            })
            .returning(voucher_batches::all_columns)
            .get_result(conn)?;
        // Lottery stock is issued by the draw alone: it stays in one row.
        if draft.allocation == Allocation::FirstCome {
            let own = stock::spread(conn, batch.id, draft.quantity, stock_shards)?;
            if own != batch.remaining {
                diesel::update(voucher_batches::table.find(batch.id))
                    .set(voucher_batches::remaining.eq(own))
                    .execute(conn)?;
                batch.remaining = own;
            }
        }
        audit::record(conn, actor_id, AuditTarget::Batch, "create", batch.id, None)?;
        stock::add_shard_stock(conn, std::slice::from_mut(&mut batch))?;
        Ok(batch)
    })
}

/// One page of campaigns, newest first, of one status or all.
pub fn list(
    conn: &mut DbConnection,
    status: Option<CampaignStatus>,
    page: PageRequest,
) -> QueryResult<Vec<CampaignRow>> {
    let mut query = campaigns::table.into_boxed();
    if let Some(status) = status {
        query = query.filter(campaigns::status.eq(status));
    }
    if let Some(after) = page.after {
        query = query.filter(campaigns::id.lt(after));
    }
    query.order(campaigns::id.desc()).limit(page.fetch()).load(conn)
}

/// A campaign by id; unless `any_status`, only an active one.
pub fn find(conn: &mut DbConnection, id: i64, any_status: bool) -> QueryResult<Option<CampaignRow>> {
    let mut query = campaigns::table.filter(campaigns::id.eq(id)).into_boxed();
    if !any_status {
        query = query.filter(campaigns::status.eq(CampaignStatus::Active));
    }
    query.first(conn).optional()
}

/// The batches of the given campaigns, each campaign's oldest first.
pub fn batches_of(conn: &mut DbConnection, campaign_ids: &[i64]) -> QueryResult<HashMap<i64, Vec<BatchRow>>> {
    let mut by_campaign: HashMap<i64, Vec<BatchRow>> = HashMap::new();
    if campaign_ids.is_empty() {
        return Ok(by_campaign);
    }
    let mut rows: Vec<BatchRow> = voucher_batches::table
        .filter(voucher_batches::campaign_id.eq_any(campaign_ids))
        .order((voucher_batches::campaign_id, voucher_batches::id))
        .load(conn)?;
    stock::add_shard_stock(conn, &mut rows)?;
    for row in rows {
        by_campaign.entry(row.campaign_id).or_default().push(row);
    }
    Ok(by_campaign)
}

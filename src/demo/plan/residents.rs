//! The demo's people: the admin, one owner per merchant and the residents, with ids
//! laid out in that order so the other stages can link to them without reading ids
//! back, and their `users` rows (all sharing one password hash: argon2 costs tens of
//! milliseconds a hash).

use std::ops::Range;

use chrono::{Duration, NaiveDateTime};

use super::clock::Clock;
use super::{DemoSize, ADMIN_ID};
use crate::demo::rows::{Merchant, User};
use crate::domain::Role;

/// Who exists: ids of the merchant owners and of the residents, and when the
/// residents signed up.
pub struct People {
    pub owner_ids: Range<i64>,
    pub resident_ids: Range<i64>,
    pub users_created_at: NaiveDateTime,
}

impl People {
    /// Every user: the admin, the owners and the residents.
    pub fn count(&self) -> i64 {
        1 + (self.owner_ids.end - self.owner_ids.start) + (self.resident_ids.end - self.resident_ids.start)
    }
}

/// The id layout: admin 1, then an owner per merchant, then the residents.
pub fn layout(size: &DemoSize, clock: &Clock) -> People {
    let merchant_total = size.approved_merchants + size.pending_merchants + size.rejected_merchants;
    let owner_ids = (ADMIN_ID + 1)..(ADMIN_ID + 1 + merchant_total as i64);
    let resident_ids = owner_ids.end..(owner_ids.end + size.residents);
    People {
        owner_ids,
        resident_ids,
        users_created_at: clock.days(-400),
    }
}

/// The `n`th resident's phone (from 1).
pub fn resident_phone(n: i64) -> String {
    format!("139{n:08}")
}

/// The `n`th merchant owner's phone (from 1).
fn owner_phone(n: i64) -> String {
    format!("137{n:08}")
}

/// The demo administrator, a month older than the residents.
pub fn admin(phone: &str, password_hash: &str, users_created_at: NaiveDateTime) -> User {
    User {
        id: ADMIN_ID,
        phone: phone.to_owned(),
        password_hash: password_hash.to_owned(),
        display_name: "演示管理员".to_owned(),
        role: Role::Admin,
        created_at: users_created_at - Duration::days(30),
    }
}

/// One owner per merchant, signed up the day before their merchant applied.
pub fn owners(merchants: &[Merchant], first_id: i64, password_hash: &str) -> Vec<User> {
    merchants
        .iter()
        .enumerate()
        .map(|(i, m)| User {
            id: first_id + i as i64,
            phone: owner_phone(i as i64 + 1),
            password_hash: password_hash.to_owned(),
            display_name: format!("{}店主", m.name.chars().take(40).collect::<String>()),
            role: Role::Resident,
            created_at: m.created_at - Duration::days(1),
        })
        .collect()
}

/// The residents with ids in `ids` (a slice of `people.resident_ids`): made a chunk
/// at a time, so 250,000 rows need not sit in memory.
pub fn residents(people: &People, ids: Range<i64>, password_hash: &str) -> Vec<User> {
    let first = people.resident_ids.start;
    ids.map(|uid| {
        let n = uid - first + 1;
        User {
            id: uid,
            phone: resident_phone(n),
            password_hash: password_hash.to_owned(),
            display_name: format!("居民{n:06}"),
            role: Role::Resident,
            created_at: people.users_created_at + Duration::minutes(n % 50_000),
        }
    })
    .collect()
}

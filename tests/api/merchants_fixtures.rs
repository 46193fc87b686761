//! Fixtures for the merchant, offer and audit tests: applications, approvals,
//! offers, and catalog walks.

use serde_json::{json, Value};

use crate::helpers::{credit_code, Actor, Resp, TestApp};

/// A valid application body; `n` makes the credit code unique.
pub fn application(n: u32) -> Value {
    json!({
        "name": format!("新华书店 {n}"),
        "license_no": credit_code(n),
        "category": "bookstore",
        "district": "guangyang",
        "address": "广阳区新华路 1 号",
        "contact_phone": "0316-1234567",
    })
}

impl TestApp {
    /// `owner` applies with `body`; answers the 201 merchant.
    pub async fn apply_with(&self, owner: &Actor, body: Value) -> Value {
        let resp = self.post("/merchants", Some(&owner.token), body).await;
        resp.expect(201, None).clone()
    }

    /// A pending merchant of `owner`; returns its id.
    pub async fn pending_merchant(&self, owner: &Actor, n: u32) -> i64 {
        self.apply_with(owner, application(n)).await["id"].as_i64().expect("id")
    }

    /// An approved merchant of `owner`; returns its id.
    pub async fn approved_merchant(&self, admin: &Actor, owner: &Actor, n: u32) -> i64 {
        let id = self.pending_merchant(owner, n).await;
        self.action(&format!("/admin/merchants/{id}/approve"), Some(&admin.token))
            .await
            .expect(200, None);
        id
    }

    /// An approved merchant with `body` (category, district, name as given).
    pub async fn approved_merchant_with(&self, admin: &Actor, owner: &Actor, body: Value) -> i64 {
        let id = self.apply_with(owner, body).await["id"].as_i64().expect("id");
        self.action(&format!("/admin/merchants/{id}/approve"), Some(&admin.token))
            .await
            .expect(200, None);
        id
    }

    pub async fn suspend_merchant(&self, admin: &Actor, id: i64, reason: &str) -> Resp {
        self.post(
            &format!("/admin/merchants/{id}/suspend"),
            Some(&admin.token),
            json!({"reason": reason}),
        )
        .await
    }

    /// `owner` creates an offer with `body` at merchant `merchant_id`; the 201 offer.
    pub async fn offer_with(&self, owner: &Actor, merchant_id: i64, body: Value) -> Value {
        self.post(&format!("/merchants/{merchant_id}/offers"), Some(&owner.token), body)
            .await
            .expect(201, None)
            .clone()
    }

    /// An offer titled `title`; returns its id.
    pub async fn offer(&self, owner: &Actor, merchant_id: i64, title: &str) -> i64 {
        self.offer_with(owner, merchant_id, json!({"title": title, "price_fen": 5000}))
            .await["id"]
            .as_i64()
            .expect("id")
    }

    /// The owner invites `phone` to the staff of `merchant_id`.
    pub async fn invite_staff(&self, owner: &Actor, merchant_id: i64, phone: &str) -> Resp {
        self.post(
            &format!("/merchants/{merchant_id}/staff"),
            Some(&owner.token),
            json!({ "phone": phone }),
        )
        .await
    }

    /// The id of `user`'s pending invitation to `merchant_id`, if listed.
    pub async fn invitation_id(&self, user: &Actor, merchant_id: i64) -> Option<i64> {
        let list = self.walk("/me/invitations", Some(&user.token)).await;
        list.iter()
            .find(|i| i["merchant_id"] == json!(merchant_id))
            .and_then(|i| i["id"].as_i64())
    }

    /// Makes `staff` staff of `merchant_id`: the owner invites, `staff` accepts. The
    /// answer is the invitation's when it is refused, else the acceptance's (200).
    pub async fn add_staff(&self, owner: &Actor, merchant_id: i64, staff: &Actor) -> Resp {
        let invited = self.invite_staff(owner, merchant_id, &staff.phone).await;
        if invited.status != 202 {
            return invited;
        }
        let id = self
            .invitation_id(staff, merchant_id)
            .await
            .expect("the invitation is listed to its invitee");
        self.action(&format!("/me/invitations/{id}/accept"), Some(&staff.token))
            .await
    }

    /// Every item of a list, following `next_cursor` (`path` already has its query).
    pub async fn walk(&self, path: &str, token: Option<&str>) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = match &cursor {
                Some(c) => format!("{path}{sep}cursor={c}"),
                None => path.to_owned(),
            };
            let resp = self.get(&url, token).await;
            let page = resp.expect(200, None);
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return items,
            }
        }
    }
}

/// The ids of a list's items, in order.
pub fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(|i| i["id"].as_i64().expect("id")).collect()
}

/// Percent-encodes a query value (`q=%` must reach the service as `%`).
pub fn enc(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

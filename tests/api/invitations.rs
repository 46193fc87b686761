//! Issue 13 item 8: staff join by invitation. The owner's answer is the same
//! whether or not the phone has an account, and nobody becomes staff without
//! accepting.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use serde_json::json;
use wenlv::db::schema::staff_invitations;

use crate::helpers::{TestApp, PASSWORD};

#[tokio::test]
async fn an_invitation_answers_the_same_for_any_phone_and_waits_for_consent() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, alice) = (app.resident().await, app.resident().await);
    let id = app.approved_merchant(&admin, &owner, 1).await;

    let known = app.invite_staff(&owner, id, &alice.phone).await;
    let unknown_phone = app.next_phone();
    let unknown = app.invite_staff(&owner, id, &unknown_phone).await;
    for (resp, phone) in [(&known, &alice.phone), (&unknown, &unknown_phone)] {
        let body = resp.expect(202, None);
        let mut keys: Vec<_> = body.as_object().expect("object").keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["expires_at", "merchant_id", "phone", "status"]);
        assert_eq!(body["merchant_id"], json!(id));
        assert_eq!(body["phone"], json!(phone));
        assert_eq!(body["status"], json!("invited"));
        let expires: chrono::DateTime<Utc> = body["expires_at"].as_str().expect("time").parse().expect("rfc 3339");
        let days = app.settings.merchants.staff_invitation_days;
        assert!((expires - Utc::now() - Duration::days(days)).num_seconds().abs() < 60);
    }
    // Not staff until accepted.
    let me = app.get("/me", Some(&alice.token)).await;
    assert_eq!(me.expect(200, None)["merchant_ids"], json!([]));

    // Someone who registers the invited phone later finds the invitation.
    let registered = app
        .post(
            "/auth/register",
            None,
            json!({"phone": unknown_phone, "password": PASSWORD, "display_name": "新人"}),
        )
        .await;
    registered.expect(201, None);
    let late = app.login(&unknown_phone, PASSWORD).await;
    let late_token = late.ok()["access_token"].as_str().expect("token").to_owned();
    let list = app.get("/me/invitations", Some(&late_token)).await;
    let items = list.expect(200, None)["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1);
    let mut keys: Vec<_> = items[0].as_object().expect("object").keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["expires_at", "id", "invited_at", "merchant_id", "merchant_name"]);
    assert_eq!(items[0]["merchant_id"], json!(id));

    // Only the invitee may answer; an answered invitation is gone.
    let invitation = app.invitation_id(&alice, id).await.expect("listed");
    let accept = format!("/me/invitations/{invitation}/accept");
    app.action(&accept, Some(&owner.token))
        .await
        .expect(404, Some("not_found"));
    app.action(&accept, Some(&late_token))
        .await
        .expect(404, Some("not_found"));
    app.action(&accept, None).await.expect(401, Some("unauthorized"));
    let accepted = app.action(&accept, Some(&alice.token)).await;
    assert_eq!(
        accepted.expect(200, None),
        &json!({"merchant_id": id, "user_id": alice.id, "role": "staff"})
    );
    let me = app.get("/me", Some(&alice.token)).await;
    assert_eq!(me.expect(200, None)["merchant_ids"], json!([id]));
    app.action(&accept, Some(&alice.token))
        .await
        .expect(404, Some("not_found"));
    app.action(&format!("/me/invitations/{invitation}/decline"), Some(&alice.token))
        .await
        .expect(404, Some("not_found"));
    assert_eq!(app.invitation_id(&alice, id).await, None);
    // A member cannot be invited again.
    app.invite_staff(&owner, id, &alice.phone)
        .await
        .expect(409, Some("invalid_state"));
}

#[tokio::test]
async fn declined_and_expired_invitations_cannot_be_accepted() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, bob, carol) = (app.resident().await, app.resident().await, app.resident().await);
    let id = app.approved_merchant(&admin, &owner, 1).await;

    app.invite_staff(&owner, id, &bob.phone).await.expect(202, None);
    let invitation = app.invitation_id(&bob, id).await.expect("listed");
    app.action(&format!("/me/invitations/{invitation}/decline"), Some(&bob.token))
        .await
        .expect(204, None);
    app.action(&format!("/me/invitations/{invitation}/accept"), Some(&bob.token))
        .await
        .expect(404, Some("not_found"));
    app.action("/me/invitations/999999/accept", Some(&bob.token))
        .await
        .expect(404, Some("not_found"));

    app.invite_staff(&owner, id, &carol.phone).await.expect(202, None);
    let invitation = app.invitation_id(&carol, id).await.expect("listed");
    let past = (Utc::now() - Duration::hours(1)).naive_utc();
    diesel::update(staff_invitations::table.find(invitation))
        .set(staff_invitations::expires_at.eq(past))
        .execute(&mut app.db())
        .expect("expired");
    assert_eq!(app.invitation_id(&carol, id).await, None);
    app.action(&format!("/me/invitations/{invitation}/accept"), Some(&carol.token))
        .await
        .expect(404, Some("not_found"));
    let me = app.get("/me", Some(&carol.token)).await;
    assert_eq!(me.expect(200, None)["merchant_ids"], json!([]));
}

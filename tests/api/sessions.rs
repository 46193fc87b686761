//! Issue 13 item 9: sign out everywhere, password change, an absolute session
//! lifetime, administrators disabling accounts, and refresh racing logout.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use serde_json::json;
use wenlv::db::schema::refresh_tokens;

use crate::helpers::{TestApp, PASSWORD};

#[tokio::test]
async fn logout_all_ends_every_session_of_the_caller_only() {
    let app = TestApp::spawn().await;
    let alice = app.resident().await;
    let bob = app.resident().await;
    let second = app.login(&alice.phone, PASSWORD).await;
    let second_refresh = second.ok()["refresh_token"].as_str().expect("token").to_owned();

    app.action("/auth/logout-all", None)
        .await
        .expect(401, Some("unauthorized"));
    app.action("/auth/logout-all", Some(&alice.token))
        .await
        .expect(204, None);
    for token in [&alice.refresh_token, &second_refresh] {
        app.post("/auth/refresh", None, json!({ "refresh_token": token }))
            .await
            .expect(401, Some("unauthorized"));
    }
    app.post("/auth/refresh", None, json!({ "refresh_token": bob.refresh_token }))
        .await
        .expect(200, None);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_every_session() {
    let app = TestApp::spawn().await;
    let alice = app.resident().await;
    let new_password = "a-brand-new-password";

    app.post(
        "/me/password",
        Some(&alice.token),
        json!({"current_password": "wrong-password", "new_password": new_password}),
    )
    .await
    .expect(401, Some("invalid_credentials"));
    let resp = app
        .post(
            "/me/password",
            Some(&alice.token),
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    resp.expect(422, Some("validation_failed"));
    assert_eq!(resp.error_fields(), vec!["new_password".to_owned()]);
    let long = "x".repeat(129);
    app.post(
        "/me/password",
        Some(&alice.token),
        json!({"current_password": PASSWORD, "new_password": long}),
    )
    .await
    .expect(422, Some("validation_failed"));

    app.post(
        "/me/password",
        Some(&alice.token),
        json!({"current_password": PASSWORD, "new_password": new_password}),
    )
    .await
    .expect(204, None);
    app.post("/auth/refresh", None, json!({ "refresh_token": alice.refresh_token }))
        .await
        .expect(401, Some("unauthorized"));
    app.login(&alice.phone, PASSWORD)
        .await
        .expect(401, Some("invalid_credentials"));
    app.login(&alice.phone, new_password).await.expect(200, None);
}

#[tokio::test]
async fn a_session_ends_after_its_absolute_lifetime_however_often_refreshed() {
    let app = TestApp::spawn().await;
    let alice = app.resident().await;
    let refreshed = app
        .post("/auth/refresh", None, json!({ "refresh_token": alice.refresh_token }))
        .await;
    let token = refreshed.ok()["refresh_token"].as_str().expect("token").to_owned();
    // The login that started this family was longer ago than session_max_days; its
    // latest token has not expired by itself.
    let started = (Utc::now() - Duration::days(app.settings.auth.session_max_days + 1)).naive_utc();
    let mut conn = app.db();
    diesel::update(refresh_tokens::table.filter(refresh_tokens::user_id.eq(alice.id)))
        .set(refresh_tokens::created_at.eq(started))
        .execute(&mut conn)
        .expect("backdated");
    app.post("/auth/refresh", None, json!({ "refresh_token": token }))
        .await
        .expect(401, Some("unauthorized"));
    // A fresh login starts a fresh session.
    let login = app.login(&alice.phone, PASSWORD).await;
    let fresh = login.ok()["refresh_token"].as_str().expect("token").to_owned();
    app.post("/auth/refresh", None, json!({ "refresh_token": fresh }))
        .await
        .expect(200, None);
}

#[tokio::test]
async fn an_administrator_disables_and_enables_an_account() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let alice = app.resident().await;
    let bob = app.resident().await;
    let path = format!("/admin/users/{}/disable", alice.id);

    app.post(&path, Some(&bob.token), json!({"reason": "spam"}))
        .await
        .expect(403, Some("forbidden"));
    app.post(&path, Some(&admin.token), json!({}))
        .await
        .expect(422, Some("validation_failed"));
    app.post(
        "/admin/users/999999/disable",
        Some(&admin.token),
        json!({"reason": "x"}),
    )
    .await
    .expect(404, Some("not_found"));
    app.post(
        &format!("/admin/users/{}/disable", admin.id),
        Some(&admin.token),
        json!({"reason": "oops"}),
    )
    .await
    .expect(409, Some("invalid_state"));

    let user = app
        .post(&path, Some(&admin.token), json!({"reason": "account takeover"}))
        .await;
    assert_eq!(user.expect(200, None)["id"], json!(alice.id));
    app.post(&path, Some(&admin.token), json!({"reason": "again"}))
        .await
        .expect(409, Some("invalid_state"));
    app.login(&alice.phone, PASSWORD)
        .await
        .expect(401, Some("invalid_credentials"));
    app.post("/auth/refresh", None, json!({ "refresh_token": alice.refresh_token }))
        .await
        .expect(401, Some("unauthorized"));

    let log = app
        .get(
            &format!("/admin/audit-log?target_type=user&target_id={}", alice.id),
            Some(&admin.token),
        )
        .await;
    let items = log.ok()["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["action"], json!("user.disable"));
    assert_eq!(items[0]["reason"], json!("account takeover"));
    assert_eq!(items[0]["actor_id"], json!(admin.id));

    let enable = format!("/admin/users/{}/enable", alice.id);
    app.action(&enable, Some(&admin.token)).await.expect(200, None);
    app.action(&enable, Some(&admin.token))
        .await
        .expect(409, Some("invalid_state"));
    app.login(&alice.phone, PASSWORD).await.expect(200, None);
}

/// Whatever order a refresh and a logout of one token take, once both are answered
/// the session is over: a refresh that won must not leave a live successor.
#[tokio::test]
async fn a_refresh_racing_a_logout_never_leaves_a_live_token() {
    let app = TestApp::spawn().await;
    let alice = app.resident().await;
    for _ in 0..15 {
        let login = app.login(&alice.phone, PASSWORD).await;
        let body = login.ok();
        let (access, refresh) = (
            body["access_token"].as_str().expect("access").to_owned(),
            body["refresh_token"].as_str().expect("refresh").to_owned(),
        );
        let (rotated, logout) = tokio::join!(
            app.post("/auth/refresh", None, json!({ "refresh_token": refresh })),
            app.post("/auth/logout", Some(&access), json!({ "refresh_token": refresh })),
        );
        logout.expect(204, None);
        if rotated.status == 200 {
            let successor = rotated.body["refresh_token"].as_str().expect("refresh").to_owned();
            app.post("/auth/refresh", None, json!({ "refresh_token": successor }))
                .await
                .expect(401, Some("unauthorized"));
        } else {
            rotated.expect(401, Some("unauthorized"));
        }
    }
}

//! Issue 13 item 13: an identity squatted by one account can be released by an
//! administrator, so its owner can bind it; the release is audit-logged.

use serde_json::json;

use crate::helpers::{id_number, TestApp};

#[tokio::test]
async fn an_administrator_releases_a_squatted_identity() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (squatter, owner) = (app.resident().await, app.resident().await);
    let number = id_number(7);
    app.post(
        "/me/real-name",
        Some(&squatter.token),
        json!({"name": "冒名", "id_number": number}),
    )
    .await
    .expect(200, None);
    app.post(
        "/me/real-name",
        Some(&owner.token),
        json!({"name": "本人", "id_number": number}),
    )
    .await
    .expect(409, Some("identity_taken"));

    let body = json!({"user_id": squatter.id, "reason": "owner proved the identity in person"});
    app.post("/admin/identities/release", Some(&owner.token), body.clone())
        .await
        .expect(403, Some("forbidden"));
    app.post(
        "/admin/identities/release",
        Some(&admin.token),
        json!({"user_id": squatter.id}),
    )
    .await
    .expect(422, Some("validation_failed"));
    app.post(
        "/admin/identities/release",
        Some(&admin.token),
        json!({"user_id": 999_999, "reason": "x"}),
    )
    .await
    .expect(404, Some("not_found"));
    let released = app
        .post("/admin/identities/release", Some(&admin.token), body.clone())
        .await;
    let user = released.expect(200, None);
    assert_eq!(user["id"], json!(squatter.id));
    assert_eq!(user["real_name_verified"], json!(false));
    app.post("/admin/identities/release", Some(&admin.token), body)
        .await
        .expect(409, Some("invalid_state"));

    let bound = app
        .post(
            "/me/real-name",
            Some(&owner.token),
            json!({"name": "本人", "id_number": number}),
        )
        .await;
    assert_eq!(bound.expect(200, None)["real_name_verified"], json!(true));

    let log = app
        .get(
            &format!("/admin/audit-log?target_type=user&target_id={}", squatter.id),
            Some(&admin.token),
        )
        .await;
    let items = log.ok()["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["action"], json!("user.identity_release"));
    assert_eq!(items[0]["reason"], json!("owner proved the identity in person"));
}

//! Access-token validation and refresh-token rotation.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::helpers::TestApp;

fn sign(app: &TestApp, claims: serde_json::Value) -> String {
    let key = EncodingKey::from_secret(app.settings.auth.jwt_secret.expose_secret().as_bytes());
    encode(&Header::new(Algorithm::HS256), &claims, &key).expect("encode")
}

fn claims(app: &TestApp, sub: i64) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": sub.to_string(), "role": "resident", "iat": now, "exp": now + 600,
           "iss": app.settings.auth.issuer, "aud": app.settings.auth.audience})
}

#[tokio::test]
async fn a_well_formed_token_is_accepted() {
    let app = TestApp::spawn().await;
    let alice = app.resident().await;
    let token = sign(&app, claims(&app, alice.id));
    app.get("/me", Some(&token)).await.expect(200, None);
}

#[tokio::test]
async fn bad_tokens_are_401() {
    let app = TestApp::spawn().await;
    let alice = app.resident().await;
    let now = chrono::Utc::now().timestamp();

    let mut tampered = alice.token.clone();
    let last = tampered.pop().expect("non-empty");
    tampered.push(if last == 'A' { 'B' } else { 'A' });

    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(&app, alice.id).to_string());
    let alg_none = format!("{header}.{payload}.");

    let mut expired = claims(&app, alice.id);
    expired["exp"] = json!(now - 3600);
    expired["iat"] = json!(now - 4000);
    let mut wrong_aud = claims(&app, alice.id);
    wrong_aud["aud"] = json!("someone-else");
    let mut wrong_iss = claims(&app, alice.id);
    wrong_iss["iss"] = json!("someone-else");
    let mut no_exp = claims(&app, alice.id);
    no_exp.as_object_mut().expect("object").remove("exp");

    let other_key = encode(
        &Header::new(Algorithm::HS256),
        &claims(&app, alice.id),
        &EncodingKey::from_secret(b"a-different-secret-of-enough-length!!"),
    )
    .expect("encode");

    let cases = [
        ("tampered signature", tampered),
        ("alg none", alg_none),
        ("expired", sign(&app, expired)),
        ("wrong aud", sign(&app, wrong_aud)),
        ("wrong iss", sign(&app, wrong_iss)),
        ("no exp", sign(&app, no_exp)),
        ("wrong key", other_key),
        ("garbage", "garbage".to_owned()),
    ];
    for (what, token) in cases {
        let resp = app.get("/me", Some(&token)).await;
        assert_eq!(resp.status, 401, "{what}: {}", resp.text);
        resp.expect(401, Some("unauthorized"));
    }
    let resp = app
        .send(app.client.get(app.url("/me")).header("authorization", "Basic abc"))
        .await;
    resp.expect(401, Some("unauthorized"));
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_its_family() {
    let app = TestApp::spawn().await;
    let alice = app.resident().await;
    let first = alice.refresh_token.clone();

    let rotated = app.post("/auth/refresh", None, json!({"refresh_token": first})).await;
    let pair = rotated.expect(200, None);
    let second = pair["refresh_token"].as_str().expect("refresh").to_owned();
    assert_ne!(second, first);
    app.get("/me", Some(pair["access_token"].as_str().expect("access")))
        .await
        .expect(200, None);

    // The spent one again: refused, and the newer one dies with it.
    app.post("/auth/refresh", None, json!({"refresh_token": first}))
        .await
        .expect(401, Some("unauthorized"));
    app.post("/auth/refresh", None, json!({"refresh_token": second}))
        .await
        .expect(401, Some("unauthorized"));

    // Other sessions of the same user are other families and keep working.
    let other = app.login(&alice.phone, crate::helpers::PASSWORD).await;
    let other_refresh = other.body["refresh_token"].as_str().expect("refresh").to_owned();
    app.post("/auth/refresh", None, json!({"refresh_token": other_refresh}))
        .await
        .expect(200, None);
}

#[tokio::test]
async fn racing_refreshes_of_one_token_yield_at_most_one_pair() {
    let app = TestApp::spawn().await;
    let alice = app.resident().await;
    let attempts = (0..6).map(|_| app.post("/auth/refresh", None, json!({"refresh_token": alice.refresh_token})));
    let results = futures_util::future::join_all(attempts).await;
    let winners: Vec<_> = results.iter().filter(|r| r.status == 200).collect();
    assert!(winners.len() <= 1, "{} refreshes succeeded", winners.len());
    assert!(results.iter().all(|r| r.status == 200 || r.status == 401));
}

#[tokio::test]
async fn unknown_refresh_tokens_are_401() {
    let app = TestApp::spawn().await;
    app.post("/auth/refresh", None, json!({"refresh_token": "nope"}))
        .await
        .expect(401, Some("unauthorized"));
    app.post("/auth/refresh", None, json!({}))
        .await
        .expect(422, Some("validation_failed"));
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = TestApp::spawn().await;
    let alice = app.resident().await;
    app.post("/auth/logout", None, json!({"refresh_token": alice.refresh_token}))
        .await
        .expect(401, Some("unauthorized"));
    let resp = app
        .post(
            "/auth/logout",
            Some(&alice.token),
            json!({"refresh_token": alice.refresh_token}),
        )
        .await;
    assert_eq!(resp.status, 204);
    app.post("/auth/refresh", None, json!({"refresh_token": alice.refresh_token}))
        .await
        .expect(401, Some("unauthorized"));
}

#[tokio::test]
async fn logout_cannot_end_someone_elses_session() {
    let app = TestApp::spawn().await;
    let alice = app.resident().await;
    let bob = app.resident().await;
    let resp = app
        .post(
            "/auth/logout",
            Some(&bob.token),
            json!({"refresh_token": alice.refresh_token}),
        )
        .await;
    assert_eq!(resp.status, 204);
    app.post("/auth/refresh", None, json!({"refresh_token": alice.refresh_token}))
        .await
        .expect(200, None);
}

#[tokio::test]
async fn any_string_that_is_not_a_live_refresh_token_is_401() {
    let app = TestApp::spawn().await;
    let long = "x".repeat(5000);
    for token in ["", "   ", "\u{1F600}\u{202E}", "a/b?c=d&e", long.as_str()] {
        app.post("/auth/refresh", None, json!({ "refresh_token": token }))
            .await
            .expect(401, Some("unauthorized"));
    }
    // A body without the field, or a non-string, is still a shape error.
    app.post("/auth/refresh", None, json!({ "refresh_token": 42 }))
        .await
        .expect(422, Some("validation_failed"));
}

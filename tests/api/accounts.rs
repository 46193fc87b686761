//! Registration, login, `/me` and real-name verification.

use diesel::prelude::*;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::{id_number, TestApp, PASSWORD};

#[tokio::test]
async fn register_returns_the_user_and_login_works() {
    let app = TestApp::spawn().await;
    let resp = app
        .post(
            "/auth/register",
            None,
            json!({"phone": "13800138000", "password": PASSWORD, "display_name": "  张三  "}),
        )
        .await;
    let user = resp.expect(201, None);
    assert_eq!(user["phone"], "13800138000");
    assert_eq!(user["display_name"], "张三", "stored trimmed");
    assert_eq!(user["role"], "resident");
    assert_eq!(user["merchant_ids"], json!([]));
    assert_eq!(user["real_name_verified"], false);
    assert!(user["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    for field in [
        "id",
        "phone",
        "display_name",
        "role",
        "merchant_ids",
        "real_name_verified",
        "created_at",
    ] {
        assert!(user.get(field).is_some(), "{field} missing");
    }
    assert!(user.get("password_hash").is_none());

    let login = app.login("13800138000", PASSWORD).await;
    let tokens = login.expect(200, None);
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let token = tokens["access_token"].as_str().expect("token");
    let me = app.get("/me", Some(token)).await;
    assert_eq!(me.expect(200, None)["id"], user["id"]);
}

#[tokio::test]
async fn a_phone_registers_once() {
    let app = TestApp::spawn().await;
    let body = json!({"phone": "13800138000", "password": PASSWORD, "display_name": "a"});
    app.post("/auth/register", None, body.clone()).await.expect(201, None);
    app.post("/auth/register", None, body)
        .await
        .expect(409, Some("phone_taken"));
}

#[tokio::test]
async fn racing_registrations_of_one_phone_make_one_account() {
    let app = TestApp::spawn().await;
    let body = json!({"phone": "13800138000", "password": PASSWORD, "display_name": "a"});
    let attempts = (0..8).map(|_| app.post("/auth/register", None, body.clone()));
    let results = futures_util::future::join_all(attempts).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    let taken = results.iter().filter(|r| r.status == 409).count();
    assert_eq!((created, taken), (1, 7));
}

#[tokio::test]
async fn register_validates_every_field() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({"phone": "12800138000", "password": PASSWORD, "display_name": "a"}),
            vec!["phone"],
        ),
        (
            json!({"phone": "1380013800", "password": PASSWORD, "display_name": "a"}),
            vec!["phone"],
        ),
        (
            json!({"phone": "13800138000", "password": "short", "display_name": "a"}),
            vec!["password"],
        ),
        (
            json!({"phone": "13800138000", "password": "x".repeat(129), "display_name": "a"}),
            vec!["password"],
        ),
        (
            json!({"phone": "13800138000", "password": PASSWORD, "display_name": "   "}),
            vec!["display_name"],
        ),
        (
            json!({"phone": "13800138000", "password": PASSWORD, "display_name": "名".repeat(65)}),
            vec!["display_name"],
        ),
        (json!({}), vec!["display_name", "password", "phone"]),
        (
            json!({"phone": "bad", "password": "1", "display_name": ""}),
            vec!["display_name", "password", "phone"],
        ),
    ];
    for (body, fields) in cases {
        let resp = app.post("/auth/register", None, body.clone()).await;
        resp.expect(422, Some("validation_failed"));
        assert_eq!(resp.error_fields(), fields, "for {body}");
    }
    // 128 characters (multi-byte) is still fine.
    let ok = json!({"phone": "13800138000", "password": "密".repeat(128), "display_name": "名".repeat(64)});
    app.post("/auth/register", None, ok).await.expect(201, None);
}

#[tokio::test]
async fn role_admin_on_register_is_refused_and_makes_no_admin() {
    let app = TestApp::spawn().await;
    let resp = app
        .post(
            "/auth/register",
            None,
            json!({"phone": "13800138000", "password": PASSWORD, "display_name": "a", "role": "admin"}),
        )
        .await;
    resp.expect(422, Some("validation_failed"));
    assert_eq!(resp.error_fields(), ["role"]);
    use wenlv::db::schema::users;
    let mut conn = app.db();
    let users: i64 = users::table.count().get_result(&mut conn).expect("count");
    let admins: i64 = users::table
        .filter(users::role.eq("admin"))
        .count()
        .get_result(&mut conn)
        .expect("count");
    assert_eq!((users, admins), (0, 0));
}

#[tokio::test]
async fn unknown_phone_and_wrong_password_get_the_same_401() {
    let app = TestApp::spawn().await;
    let someone = app.resident().await;
    let wrong_password = app.login(&someone.phone, "not-the-password").await;
    let unknown_phone = app.login("13700000000", PASSWORD).await;
    let malformed_phone = app.login("nope", PASSWORD).await;
    for resp in [&wrong_password, &unknown_phone, &malformed_phone] {
        resp.expect(401, Some("invalid_credentials"));
        assert_eq!(
            resp.headers.get("www-authenticate").map(|v| v.to_str().ok()),
            Some(Some("Bearer"))
        );
    }
    assert_eq!(wrong_password.text, unknown_phone.text);
    assert_eq!(wrong_password.text, malformed_phone.text);
}

#[tokio::test]
async fn login_requires_both_fields() {
    let app = TestApp::spawn().await;
    let resp = app.post("/auth/login", None, json!({"phone": "13800138000"})).await;
    resp.expect(422, Some("validation_failed"));
    assert_eq!(resp.error_fields(), ["password"]);
}

#[tokio::test]
async fn me_needs_a_token() {
    let app = TestApp::spawn().await;
    let resp = app.get("/me", None).await;
    resp.expect(401, Some("unauthorized"));
    assert!(resp.headers.get("www-authenticate").is_some());
}

#[tokio::test]
async fn a_login_flood_from_one_ip_is_rate_limited() {
    let app = TestApp::spawn_with(|s| s.rate_limit.login_per_minute_per_ip = 5).await;
    for _ in 0..5 {
        app.login("13800138000", "whatever-password")
            .await
            .expect(401, Some("invalid_credentials"));
    }
    let limited = app.login("13800138000", "whatever-password").await;
    limited.expect(429, Some("rate_limited"));
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after));
}

#[tokio::test]
async fn attempts_on_one_phone_are_limited_across_ips() {
    let app = TestApp::spawn_with(|s| s.rate_limit.login_per_minute_per_phone = 3).await;
    for _ in 0..3 {
        app.login("13800138000", "whatever-password").await.expect(401, None);
    }
    app.login("13800138000", PASSWORD)
        .await
        .expect(429, Some("rate_limited"));
    // Another phone from the same IP is not affected.
    app.login("13800138001", "whatever-password").await.expect(401, None);
}

#[tokio::test]
async fn registration_is_rate_limited_per_ip() {
    let app = TestApp::spawn_with(|s| s.rate_limit.register_per_minute_per_ip = 2).await;
    for i in 0..2 {
        let body = json!({"phone": format!("1380013800{i}"), "password": PASSWORD, "display_name": "a"});
        app.post("/auth/register", None, body).await.expect(201, None);
    }
    let body = json!({"phone": "13800138009", "password": PASSWORD, "display_name": "a"});
    app.post("/auth/register", None, body)
        .await
        .expect(429, Some("rate_limited"));
}

#[tokio::test]
async fn rate_limiting_can_be_switched_off() {
    let app = TestApp::spawn_with(|s| {
        s.rate_limit.enabled = false;
        s.rate_limit.login_per_minute_per_ip = 1;
    })
    .await;
    for _ in 0..4 {
        app.login("13800138000", "whatever-password").await.expect(401, None);
    }
}

#[tokio::test]
async fn real_name_verification_binds_one_identity_to_one_account() {
    let app = TestApp::spawn().await;
    let alice = app.resident().await;
    let bob = app.resident().await;
    let number = id_number(1);

    let verified = app
        .post(
            "/me/real-name",
            Some(&alice.token),
            json!({"name": "王小明", "id_number": number}),
        )
        .await;
    assert_eq!(verified.expect(200, None)["real_name_verified"], true);
    // The same identity again on the same account changes nothing.
    app.post(
        "/me/real-name",
        Some(&alice.token),
        json!({"name": "王小明", "id_number": number}),
    )
    .await
    .expect(200, None);
    // The lowercase-x spelling of the same identity is the same identity.
    let x_number = wenlv::domain::id_number::with_check_char("11010519491231002");
    app.post(
        "/me/real-name",
        Some(&bob.token),
        json!({"name": "李四", "id_number": x_number.to_lowercase()}),
    )
    .await
    .expect(200, None);
    let carol = app.resident().await;
    app.post(
        "/me/real-name",
        Some(&carol.token),
        json!({"name": "李四", "id_number": x_number}),
    )
    .await
    .expect(409, Some("identity_taken"));
    // Alice's identity on another account.
    app.post(
        "/me/real-name",
        Some(&carol.token),
        json!({"name": "王小明", "id_number": number}),
    )
    .await
    .expect(409, Some("identity_taken"));
    // Another identity on a verified account.
    app.post(
        "/me/real-name",
        Some(&alice.token),
        json!({"name": "王小明", "id_number": id_number(2)}),
    )
    .await
    .expect(409, Some("invalid_state"));
    assert_eq!(
        app.get("/me", Some(&alice.token)).await.expect(200, None)["real_name_verified"],
        true
    );
    assert_eq!(
        app.get("/me", Some(&carol.token)).await.expect(200, None)["real_name_verified"],
        false
    );
}

#[tokio::test]
async fn real_name_validates_the_check_character_and_name() {
    let app = TestApp::spawn().await;
    let alice = app.resident().await;
    let good = id_number(1);
    let last = good.chars().last().expect("18 chars");
    let wrong_check = format!("{}{}", &good[..17], if last == '0' { '1' } else { '0' });
    for (body, fields) in [
        (json!({"name": "王小明", "id_number": wrong_check}), vec!["id_number"]),
        (json!({"name": "王小明", "id_number": "12345"}), vec!["id_number"]),
        (json!({"name": "", "id_number": good}), vec!["name"]),
        (json!({"name": "名".repeat(51), "id_number": good}), vec!["name"]),
        (json!({"id_number": 110105194912310021_i64}), vec!["id_number", "name"]),
    ] {
        let resp = app.post("/me/real-name", Some(&alice.token), body).await;
        resp.expect(422, Some("validation_failed"));
        assert_eq!(resp.error_fields(), fields);
    }
}

#[tokio::test]
async fn the_database_keeps_only_a_keyed_hash_and_the_last_four() {
    let app = TestApp::spawn().await;
    let alice = app.resident().await;
    let number = id_number(7);
    app.post(
        "/me/real-name",
        Some(&alice.token),
        json!({"name": "王小明", "id_number": number}),
    )
    .await
    .expect(200, None);

    use wenlv::db::schema::users;
    let mut conn = app.db();
    let row: (Option<String>, Option<String>, Option<String>) = users::table
        .find(alice.id)
        .select((users::identity_hash, users::identity_last4, users::real_name))
        .first(&mut conn)
        .expect("row");
    let (hash, last4, _) = row.clone();
    assert_eq!(last4.as_deref(), Some(&number[14..]));
    let hash = hash.expect("hash stored");
    let unkeyed = hex::encode(Sha256::digest(number.as_bytes()));
    assert_ne!(
        hash, unkeyed,
        "an unkeyed hash could be brute-forced back to the number"
    );
    assert!(!hash.contains(&number[..14]));
    // No column of the row holds the number or its first 14 characters.
    let dump = format!("{row:?}");
    assert!(!dump.contains(&number) && !dump.contains(&number[..14]));
}

/// Issue 13 item 2: behind a trusted proxy each client has its own limit; from
/// anyone else the forwarding headers are ignored.
#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_is_limited_alone() {
    let app = TestApp::spawn_with(|s| {
        s.rate_limit.login_per_minute_per_ip = 2;
        s.rate_limit.trusted_proxies = vec!["127.0.0.0/8".to_owned()];
    })
    .await;
    let login_from = |xff: &'static str| {
        app.send(
            app.client
                .post(app.url("/auth/login"))
                .header("x-forwarded-for", xff)
                .json(&json!({"phone": "13800138000", "password": "whatever-password"})),
        )
    };
    for _ in 0..2 {
        login_from("203.0.113.1").await.expect(401, Some("invalid_credentials"));
    }
    login_from("203.0.113.1").await.expect(429, Some("rate_limited"));
    // The client a spoofed left-most entry names is not the key: the right-most
    // untrusted address is.
    login_from("198.51.100.7, 203.0.113.1")
        .await
        .expect(429, Some("rate_limited"));
    // Another client behind the same proxy is not locked out.
    login_from("203.0.113.2").await.expect(401, Some("invalid_credentials"));
    login_from("203.0.113.2, 127.0.0.1")
        .await
        .expect(401, Some("invalid_credentials"));
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let app = TestApp::spawn_with(|s| s.rate_limit.login_per_minute_per_ip = 2).await;
    for n in 0..2 {
        app.send(
            app.client
                .post(app.url("/auth/login"))
                .header("x-forwarded-for", format!("203.0.113.{n}"))
                .json(&json!({"phone": "13800138000", "password": "whatever-password"})),
        )
        .await
        .expect(401, Some("invalid_credentials"));
    }
    app.send(
        app.client
            .post(app.url("/auth/login"))
            .header("x-forwarded-for", "203.0.113.99")
            .json(&json!({"phone": "13800138000", "password": "whatever-password"})),
    )
    .await
    .expect(429, Some("rate_limited"));
}

/// Issue 13 items 2 and 3: register is limited per phone too, and an invalid phone
/// is refused before it is counted (never a key).
#[tokio::test]
async fn registration_is_limited_per_phone_and_invalid_phones_are_never_counted() {
    let app = TestApp::spawn_with(|s| s.rate_limit.register_per_minute_per_phone = 2).await;
    let body = json!({"phone": "13800138000", "password": PASSWORD, "display_name": "a"});
    app.post("/auth/register", None, body.clone()).await.expect(201, None);
    app.post("/auth/register", None, body.clone())
        .await
        .expect(409, Some("phone_taken"));
    app.post("/auth/register", None, body)
        .await
        .expect(429, Some("rate_limited"));
    let other = json!({"phone": "13800138001", "password": PASSWORD, "display_name": "a"});
    app.post("/auth/register", None, other).await.expect(201, None);
    let junk = "9".repeat(10_000);
    for _ in 0..4 {
        app.post(
            "/auth/register",
            None,
            json!({"phone": junk, "password": PASSWORD, "display_name": "a"}),
        )
        .await
        .expect(422, Some("validation_failed"));
    }
}

/// Issue 13 item 2: on PostgreSQL the limits are shared by every instance, so two
/// instances behind a load balancer still allow the configured rate, not twice it.
#[tokio::test]
async fn on_postgresql_two_instances_share_one_limit() {
    let limit = |s: &mut wenlv::config::Settings| s.rate_limit.login_per_minute_per_phone = 4;
    let first = TestApp::spawn_with(limit).await;
    if !first.is_postgres() {
        // One SQLite file is one instance; its counters are in memory.
        return;
    }
    let second = first.spawn_sharing(limit).await;
    for app in [&first, &second, &first, &second] {
        app.login("13800138000", "whatever-password")
            .await
            .expect(401, Some("invalid_credentials"));
    }
    for app in [&first, &second] {
        let limited = app.login("13800138000", "whatever-password").await;
        limited.expect(429, Some("rate_limited"));
        let retry_after: u64 = limited.headers["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!((1..=60).contains(&retry_after));
    }
    // Another phone is its own key.
    second
        .login("13800138001", "whatever-password")
        .await
        .expect(401, Some("invalid_credentials"));
}

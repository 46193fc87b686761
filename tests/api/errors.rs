//! Every error the service gives is problem+json with a stable code, the
//! framework's own included.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn unknown_route_is_404_problem() {
    let app = TestApp::spawn().await;
    app.get("/no/such/thing", None).await.expect(404, Some("not_found"));
    app.get("/healthz/nope", None).await.expect(404, Some("not_found"));
}

#[tokio::test]
async fn wrong_method_is_405_problem() {
    let app = TestApp::spawn().await;
    app.delete("/healthz", None)
        .await
        .expect(405, Some("method_not_allowed"));
    app.get("/auth/login", None)
        .await
        .expect(405, Some("method_not_allowed"));
}

#[tokio::test]
async fn malformed_json_is_400_problem() {
    let app = TestApp::spawn().await;
    for body in ["{", "not json", "{\"phone\": }", ""] {
        let resp = app
            .send(
                app.client
                    .post(app.url("/auth/register"))
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        resp.expect(400, Some("malformed_request"));
    }
}

#[tokio::test]
async fn a_body_without_json_content_type_is_415() {
    let app = TestApp::spawn().await;
    let resp = app
        .send(
            app.client
                .post(app.url("/auth/register"))
                .header("content-type", "text/plain")
                .body("{}"),
        )
        .await;
    resp.expect(415, Some("unsupported_media_type"));
    let resp = app.send(app.client.post(app.url("/auth/register")).body("{}")).await;
    resp.expect(415, Some("unsupported_media_type"));
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413() {
    let app = TestApp::spawn().await;
    let big = json!({"phone": "13800138000", "password": "x".repeat(1024 * 1024 + 10), "display_name": "x"});
    app.post("/auth/register", None, big)
        .await
        .expect(413, Some("payload_too_large"));
}

#[tokio::test]
async fn json_that_is_not_an_object_is_422() {
    let app = TestApp::spawn().await;
    for body in [json!([1, 2]), json!("text"), json!(12), json!(null)] {
        app.post("/auth/register", None, body)
            .await
            .expect(422, Some("validation_failed"));
    }
}

#[tokio::test]
async fn wrong_types_are_422_naming_every_field() {
    let app = TestApp::spawn().await;
    let resp = app
        .post(
            "/auth/register",
            None,
            json!({"phone": 13800138000_i64, "password": ["x"], "display_name": {"a": 1}, "extra": true}),
        )
        .await;
    resp.expect(422, Some("validation_failed"));
    assert_eq!(resp.error_fields(), ["display_name", "extra", "password", "phone"]);
}

#[tokio::test]
async fn a_number_too_large_for_a_double_is_422_not_400() {
    let app = TestApp::spawn().await;
    for body in [r#"{"phone": "13900000000", "password": 1e400}"#, r#"{"phone": -1e400}"#] {
        let resp = app
            .send(
                app.client
                    .post(app.url("/auth/register"))
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        resp.expect(422, Some("validation_failed"));
    }
}

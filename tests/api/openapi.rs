//! The OpenAPI document: valid 3.1, served, and complete against the route table.

use serde_json::Value;

use crate::helpers::TestApp;

#[tokio::test]
async fn every_registered_route_is_in_the_spec() {
    let app = TestApp::spawn().await;
    let spec = app.get("/openapi.json", None).await;
    let spec = spec.expect(200, None);
    assert!(
        spec["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")),
        "{}",
        spec["openapi"]
    );
    let paths = spec["paths"].as_object().expect("paths");
    let registered = wenlv::routes::API_ROUTES
        .iter()
        .map(|(method, path)| (*method, format!("/api/v1{path}")))
        .chain(
            wenlv::routes::ROOT_ROUTES
                .iter()
                .map(|(method, path)| (*method, (*path).to_owned())),
        );
    let mut missing = Vec::new();
    for (method, path) in registered {
        if paths.get(&path).and_then(|item| item.get(method)).is_none() {
            missing.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    assert!(
        missing.is_empty(),
        "routes missing from the OpenAPI document: {missing:?}"
    );
}

#[tokio::test]
async fn operation_ids_are_unique_and_districts_come_from_the_config() {
    let app = TestApp::spawn_with(|settings| settings.platform.districts = vec!["north".into(), "south".into()]).await;
    let spec = app.get("/openapi.json", None).await.body;
    let mut ids = std::collections::HashSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            let id = operation["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_owned()), "{method} {path}: operationId {id} is taken");
        }
    }
    assert_eq!(
        spec["components"]["schemas"]["District"]["enum"],
        serde_json::json!(["north", "south"])
    );
}

#[tokio::test]
async fn every_operation_documents_its_errors_as_problems() {
    let app = TestApp::spawn().await;
    let spec = app.get("/openapi.json", None).await.body;
    let codes = spec["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
        .as_array()
        .expect("codes");
    assert!(codes.contains(&Value::from("sold_out")) && codes.contains(&Value::from("validation_failed")));
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            let responses = operation["responses"].as_object().expect("responses");
            assert!(responses.contains_key("503"), "{method} {path} lacks 503");
            if operation.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(status), "{method} {path} lacks {status}");
                }
            }
            if operation.get("security").is_some() {
                assert!(responses.contains_key("401"), "{method} {path} lacks 401");
            }
            for (status, response) in responses {
                if status.as_str() >= "400" {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{method} {path} {status} is not problem+json"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn swagger_ui_is_served_without_any_download() {
    let app = TestApp::spawn().await;
    let page = app.get("/docs/", None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("swagger"),
        "{}",
        &page.text[..page.text.len().min(300)]
    );
    let redirect = app.send(app.client.get(app.url("/docs"))).await;
    assert_eq!(redirect.status, 200, "followed to /docs/");
}

/// JSON Schema counts `100.0` as an integer, so a client (or schemathesis) that
/// writes whole numbers that way must be understood; `100.5` is still refused.
#[tokio::test]
async fn whole_numbers_written_with_a_fraction_part_are_integers() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let body = |budget: Value| {
        serde_json::json!({"name": "消费季", "budget_fen": budget, "target_leverage": 10,
            "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-12-31T00:00:00Z"})
    };
    let created = app
        .post("/admin/campaigns", Some(&admin.token), body(serde_json::json!(100.0)))
        .await;
    let created = created.expect(201, None);
    assert_eq!(created["budget_fen"], 100);
    let refused = app
        .post("/admin/campaigns", Some(&admin.token), body(serde_json::json!(100.5)))
        .await;
    let refused = refused.expect(422, Some("validation_failed"));
    assert!(refused["errors"]["budget_fen"].is_array(), "{refused}");
}

/// Found by schemathesis on PostgreSQL, which cannot take a NUL character in a
/// statement: a NUL in a query parameter or a body string is bad input (422) on
/// both engines, never a 500.
#[tokio::test]
async fn nul_characters_are_refused_as_bad_input() {
    let app = TestApp::spawn().await;
    app.get("/merchants?q=a%00b", None)
        .await
        .expect(422, Some("validation_failed"));
    app.get("/offers?q=%00", None)
        .await
        .expect(422, Some("validation_failed"));
    let body = serde_json::json!({"phone": "13900000009", "password": "long-enough-1", "display_name": "a\u{0}b"});
    let refused = app.post("/auth/register", None, body).await;
    let refused = refused.expect(422, Some("validation_failed"));
    assert!(refused["errors"]["display_name"].is_array(), "{refused}");
}

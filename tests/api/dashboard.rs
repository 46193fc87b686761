//! The dashboard's static assets at `/admin`: embedded, with content types, cache
//! validators and a content-security policy; no data without an admin token.

use crate::helpers::TestApp;

#[tokio::test]
async fn the_page_and_its_assets_are_served_with_their_content_types() {
    let app = TestApp::spawn().await;
    for (path, content_type, marker) in [
        ("/admin", "text/html; charset=utf-8", "/admin/app.js"),
        ("/admin/app.js", "text/javascript; charset=utf-8", "/admin/overview"),
        ("/common/console.js", "text/javascript; charset=utf-8", "/auth/refresh"),
        ("/admin/app.css", "text/css; charset=utf-8", ".topbar"),
    ] {
        let resp = app.get_root(path, None).await;
        assert_eq!(resp.status, 200, "{path}");
        assert_eq!(resp.content_type(), content_type, "{path}");
        assert!(resp.text.contains(marker), "{path} should contain {marker}");
        assert_eq!(resp.headers["cache-control"], "no-cache", "{path}");
        assert_eq!(resp.headers["x-content-type-options"], "nosniff", "{path}");
        let csp = resp.headers["content-security-policy"].to_str().expect("ascii");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(resp.headers.contains_key("etag"), "{path}");
    }
}

#[tokio::test]
async fn both_consoles_load_the_shared_script_before_their_own() {
    let app = TestApp::spawn().await;
    for (page, own) in [("/admin", "/admin/app.js"), ("/merchant", "/merchant/app.js")] {
        let html = app.get_root(page, None).await.text;
        let shared = html.find("<script src=\"/common/console.js\" defer>");
        let own_script = html.find(&format!("<script src=\"{own}\" defer>"));
        assert!(shared.is_some() && own_script.is_some(), "{page} loads both scripts");
        assert!(
            shared < own_script,
            "{page}: the shared script comes first (deferred scripts run in order)"
        );
    }
    // The shared script is served under the same policy and cache rules as the pages' own.
    let shared = app.get_root("/common/console.js", None).await;
    assert!(shared.text.contains("window.WenlvConsole"));
    let own = app.get_root("/merchant/app.js", None).await;
    assert_eq!(
        shared.headers["content-security-policy"],
        own.headers["content-security-policy"]
    );
    assert_ne!(shared.headers["etag"], own.headers["etag"]);
}

#[tokio::test]
async fn a_trailing_slash_serves_the_page_too() {
    let app = TestApp::spawn().await;
    let resp = app.get_root("/admin/", None).await;
    assert_eq!(resp.status, 200);
    assert!(resp.text.starts_with("<!doctype html>"));
}

#[tokio::test]
async fn a_matching_etag_is_answered_304_without_a_body() {
    let app = TestApp::spawn().await;
    let first = app.get_root("/admin/app.js", None).await;
    let etag = first.headers["etag"].to_str().expect("ascii").to_owned();
    let again = app
        .send(
            app.client
                .get(format!("{}/admin/app.js", app.address))
                .header("If-None-Match", &etag),
        )
        .await;
    assert_eq!(again.status, 304);
    assert!(again.text.is_empty());
    assert_eq!(again.headers["etag"].to_str().expect("ascii"), etag);
    let stale = app
        .send(
            app.client
                .get(format!("{}/admin/app.js", app.address))
                .header("If-None-Match", "\"something-else\""),
        )
        .await;
    assert_eq!(stale.status, 200);
    // Each asset has its own tag.
    let page = app.get_root("/admin", None).await;
    assert_ne!(page.headers["etag"], first.headers["etag"]);
}

#[tokio::test]
async fn unknown_dashboard_paths_and_methods_are_problems() {
    let app = TestApp::spawn().await;
    app.get_root("/admin/nothing-here.js", None)
        .await
        .expect(404, Some("not_found"));
    app.send(app.client.post(format!("{}/admin", app.address)))
        .await
        .expect(405, Some("method_not_allowed"));
}

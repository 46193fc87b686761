use crate::helpers::TestApp;

#[tokio::test]
async fn healthz_and_readyz_answer_200() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz", None).await.status, 200);
    assert_eq!(app.get("/readyz", None).await.status, 200);
}

#[tokio::test]
async fn readyz_is_503_when_the_database_does_not_answer() {
    // A pool whose database cannot be opened: the service is up, not ready.
    let app = TestApp::spawn().await;
    let mut settings = app.settings.clone();
    settings.database.url = if app.is_postgres() {
        "postgres://postgres@127.0.0.1:1/none".to_owned()
    } else {
        "/proc/wenlv-cannot-create/wenlv.db".to_owned()
    };
    settings.database.connection_timeout_ms = 200;
    let pool = r2d2::Pool::builder()
        .max_size(1)
        .min_idle(Some(0))
        .connection_timeout(std::time::Duration::from_millis(200))
        .build_unchecked(wenlv::db::ConnectionManager::new(&settings.database.url, 100));
    let result = wenlv::db::run(&pool, |_c| Ok(())).await;
    let error = result.expect_err("no connection");
    assert_eq!(error.code(), wenlv::error::Code::ServiceUnavailable);
}

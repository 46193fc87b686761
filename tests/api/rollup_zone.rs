//! The report rollup's days are in `platform.timezone`; the zone it was built in is
//! stored, a differently configured instance refuses to start, and
//! `wenlv rebuild-rollup` rebuilds it in the configured zone (issue 13).

use wenlv::startup::Application;

use crate::helpers::TestApp;

#[tokio::test]
async fn a_changed_time_zone_refuses_to_start_until_the_rollup_is_rebuilt() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(5)).await;
    let buyer = app.resident().await;
    app.paid_order(&buyer.token, shop.offer_id, None).await;

    let mut moved = app.settings.clone();
    moved.platform.timezone = "America/New_York".to_owned();
    let refused = Application::build(moved.clone())
        .err()
        .expect("another zone is refused");
    assert!(refused.to_string().contains("rebuild-rollup"), "{refused}");

    wenlv::cli::rebuild_rollup(&moved).expect("rebuilt in the new zone");
    Application::build(moved).expect("starts in the zone the rollup was built in");
    let refused = Application::build(app.settings.clone())
        .err()
        .expect("the old zone is now the other one");
    assert!(refused.to_string().contains("America/New_York"), "{refused}");
}

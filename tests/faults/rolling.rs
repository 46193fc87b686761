//! A rolling restart: two instances of the real binary on one database behind
//! HAProxy (round robin, health checks on `/readyz`), a storm going through it;
//! SIGTERM one, start it again, then the other. Each exits 0, and the clients see
//! no 5xx and no dropped request. Runs on the engine the suite uses; needs haproxy.

use std::time::{Duration, Instant};

use crate::helpers::TestApp;
use crate::support::{check_books, free_port, residents, Haproxy, Instance, Storm};
use crate::{serial, skip};

const STOCK: i64 = 100_000;
/// How long `/readyz` answers 503 before the listener closes: above HAProxy's
/// `inter 1s fall 2` with room for a slow check.
const DRAIN_MS: u64 = 3_000;

#[tokio::test]
async fn a_rolling_restart_behind_haproxy_drops_nothing() {
    let _serial = serial().await;
    let test = "a_rolling_restart_behind_haproxy_drops_nothing";
    if !Haproxy::available() {
        return skip(test, "haproxy is not installed (apt-get install haproxy)");
    }
    let app = TestApp::spawn_with(|s| s.orders.sweep_interval_seconds = 0).await;
    let shop = app.shop(Some(STOCK)).await;
    let residents = residents(&app, 6).await;
    let url = app.settings.database.url.clone();
    let dir = tempfile::tempdir().expect("temp dir");
    let env = [
        ("WENLV__SERVER__SHUTDOWN_DRAIN_MS", DRAIN_MS.to_string()),
        ("WENLV__SERVER__SHUTDOWN_TIMEOUT_SECONDS", "10".to_owned()),
        // A sweeper running, to be stopped at shutdown too.
        ("WENLV__ORDERS__SWEEP_INTERVAL_SECONDS", "1".to_owned()),
    ];
    let log = |name: &str| dir.path().join(format!("{name}.log"));
    let ports = [free_port(), free_port()];
    let mut instances = [
        Instance::start(&url, ports[0], &log("a"), &env).await,
        Instance::start(&url, ports[1], &log("b"), &env).await,
    ];
    let haproxy = Haproxy::start(dir.path(), &[("a", ports[0]), ("b", ports[1])]).await;

    let storm = Storm::start(&haproxy.base, &residents, &shop);
    storm.wait_for_orders(20, Duration::from_secs(60)).await;
    for (i, name) in ["a", "b"].into_iter().enumerate() {
        let pid = instances[i].pid();
        let asked = Instant::now();
        instances[i].sigterm();
        // From the first moment: not ready, yet still serving (the drain). The
        // pause only lets the signal be delivered.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let probe = reqwest::Client::new();
        let ready = probe.get(format!("{}/readyz", instances[i].base)).send().await;
        let alive = probe.get(format!("{}/healthz", instances[i].base)).send().await;
        let (ready, alive) = (
            ready.map(|r| r.status().as_u16()).map_err(|e| e.to_string()),
            alive.map(|r| r.status().as_u16()).map_err(|e| e.to_string()),
        );
        eprintln!("rolling: {name} right after SIGTERM: /readyz {ready:?}, /healthz {alive:?}");
        let status = instances[i].wait_exit(Duration::from_secs(30)).await;
        eprintln!(
            "rolling: {name} (pid {pid}) exited {status} {:?} after SIGTERM",
            asked.elapsed()
        );
        assert_eq!(ready, Ok(503), "{name}: /readyz right after SIGTERM");
        assert_eq!(alive, Ok(200), "{name}: still serving while it drains");
        assert!(status.success(), "{name} exited {status} after SIGTERM");
        // As a deploy does (a new binary to fetch, a host to patch): the instance
        // stays away until the load balancer has taken it out.
        let down = haproxy.wait_until(name, "DOWN", Duration::from_secs(20)).await;
        eprintln!("rolling: {name} DOWN in HAProxy {down:?} after its exit");
        let orders = storm.orders();
        instances[i] = Instance::start(&url, ports[i], &log(name), &env).await;
        let up = haproxy.wait_until(name, "UP", Duration::from_secs(20)).await;
        eprintln!("rolling: {name} back and UP in HAProxy after {up:?}");
        storm.wait_for_orders(orders + 10, Duration::from_secs(60)).await;
    }
    let settle = Instant::now();
    storm.wait_for_success_after(settle, Duration::from_secs(10)).await;
    let tally = storm.stop().await;
    eprintln!("rolling: {}", tally.summary());
    if !tally.bad.is_empty() || !tally.transport_errors.is_empty() {
        for name in ["a", "b"] {
            eprintln!(
                "--- {name}.log\n{}",
                std::fs::read_to_string(log(name)).unwrap_or_default()
            );
        }
    }

    assert!(
        tally.bad.is_empty() && tally.unavailable() == 0,
        "clients saw 5xx: {:?}\n{}",
        &tally.bad[..tally.bad.len().min(10)],
        tally.summary()
    );
    assert!(
        tally.transport_errors.is_empty(),
        "requests without an answer: {:?}",
        tally.transport_errors
    );
    check_books(&mut app.db(), &tally, shop.offer_id, STOCK);
}

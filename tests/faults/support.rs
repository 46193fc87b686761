//! What the fault tests start and watch: a private PostgreSQL cluster, the real
//! `wenlv` binary, HAProxy, and a storm of residents claiming, ordering and paying
//! that tallies every answer.

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::{json, Value};
use wenlv::db::schema::{orders, vouchers};

use crate::helpers::{Actor, TestApp};
use crate::order_fixtures::{check_invariants, Shop};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `TEST_DATABASE_URL`, when set (CI sets it): the PostgreSQL faults run.
pub fn test_database_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
}

// ------------------------------------------------------------------ PostgreSQL

/// A PostgreSQL cluster of the test's own, in a temp dir on a free port, so that
/// restarting it disturbs nobody else. Stopped and removed on drop.
pub struct PrivateCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl PrivateCluster {
    /// Initialises and starts a cluster, or says why it cannot here.
    pub fn start() -> Result<PrivateCluster, String> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|_| "no PostgreSQL server binaries under /usr/lib/postgresql".to_owned())?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
            .max()
            .ok_or("no initdb/pg_ctl under /usr/lib/postgresql/*/bin")?;
        let dir = tempfile::Builder::new()
            .prefix("wenlv-faults-pg")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        if is_root() {
            // initdb refuses to run as root: the cluster belongs to `postgres`.
            let status = Command::new("chown")
                .arg("postgres")
                .arg(dir.path())
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !status.success() {
                return Err("cannot chown the cluster's dir to postgres".to_owned());
            }
        }
        let cluster = PrivateCluster {
            bin,
            dir,
            port: free_port(),
        };
        let data = cluster.data();
        cluster.run("initdb", &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"])?;
        cluster.pg_ctl("start")?;
        Ok(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_string_lossy().into_owned()
    }

    /// Runs a server binary as the cluster's owner.
    fn run(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let tool = self.bin.join(tool);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&tool);
            c
        } else {
            Command::new(&tool)
        };
        let output = command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{}: {e}", tool.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} {args:?}: {}{}",
                tool.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// `pg_ctl start|stop|restart`, waiting until it is done; stops are `fast`
    /// (sessions terminated with 57P01, as in a failover or an operator's restart).
    pub fn pg_ctl(&self, action: &str) -> Result<(), String> {
        let data = self.data();
        let log = self.dir.path().join("server.log").to_string_lossy().into_owned();
        let socket_dir = self.dir.path().to_string_lossy().into_owned();
        let options = format!(
            "-p {} -k {socket_dir} -c listen_addresses=127.0.0.1 -c max_connections=60 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off",
            self.port
        );
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-w", "-t", "60", "-m", "fast", "-o", &options, action,
            ],
        )
    }

    /// The URL of a new database `name` on this cluster.
    pub fn create_database(&self, name: &str) -> String {
        let server = format!("postgres://postgres@127.0.0.1:{}", self.port);
        let mut conn = PgConnection::establish(&format!("{server}/postgres")).expect("private cluster answers");
        diesel::connection::SimpleConnection::batch_execute(&mut conn, &format!("CREATE DATABASE \"{name}\""))
            .expect("create database");
        format!("{server}/{name}?sslmode=disable")
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.run("pg_ctl", &["-D", &data, "-w", "-m", "immediate", "stop"]);
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

// ------------------------------------------------------------------ the binary

/// The real `wenlv` binary serving `database_url` on `port`.
pub struct Instance {
    child: Child,
    pub base: String,
}

impl Instance {
    pub async fn start(database_url: &str, port: u16, log: &Path, env: &[(&str, String)]) -> Instance {
        let config_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("instance log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_wenlv"));
        command
            .env("WENLV_CONFIG_DIR", config_dir)
            .env("WENLV_ENV", "test")
            .env("DATABASE_URL", database_url)
            .env("WENLV__SERVER__PORT", port.to_string())
            .env("WENLV__RATE_LIMIT__ENABLED", "false")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("the wenlv binary starts");
        let instance = Instance {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(r) = client.get(format!("{}/readyz", instance.base)).send().await {
                if r.status().as_u16() == 200 {
                    return instance;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the wenlv binary did not become ready on port {port}");
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "SIGTERM sent");
    }

    /// Waits (up to `limit`) for the process to exit.
    pub async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let asked = Instant::now();
        while asked.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("wenlv did not exit within {limit:?}");
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------ HAProxy

/// HAProxy in front of `servers`, round robin, health-checking `/readyz`. Server
/// connections are closed after each answer (`http-server-close`), so every
/// request opens a new one: an instance that closed its listener before HAProxy
/// took it out shows at once (kept-alive connections would hide it for a while).
pub struct Haproxy {
    child: Child,
    pub base: String,
    stats: String,
}

impl Haproxy {
    pub fn available() -> bool {
        Command::new("haproxy")
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    pub async fn start(dir: &Path, servers: &[(&str, u16)]) -> Haproxy {
        let (port, stats_port) = (free_port(), free_port());
        let mut cfg = format!(
            "global\n  maxconn 2000\n\
             defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n  timeout check 2s\n\
             frontend fe\n  bind 127.0.0.1:{port}\n  default_backend be\n\
             listen stats\n  bind 127.0.0.1:{stats_port}\n  stats enable\n  stats uri /stats\n\
             backend be\n  balance roundrobin\n  option http-server-close\n  option httpchk GET /readyz\n  http-check expect status 200\n\
             \x20 default-server inter 1s fall 2 rise 2\n"
        );
        for (name, port) in servers {
            cfg.push_str(&format!("  server {name} 127.0.0.1:{port} check\n"));
        }
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, cfg).expect("haproxy.cfg");
        let log = std::fs::File::create(dir.join("haproxy.log")).expect("haproxy log");
        let child = Command::new("haproxy")
            .arg("-f")
            .arg(&path)
            .arg("-db")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("haproxy starts");
        let haproxy = Haproxy {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stats: format!("http://127.0.0.1:{stats_port}/stats;csv"),
        };
        for (name, _) in servers {
            haproxy.wait_until(name, "UP", Duration::from_secs(20)).await;
        }
        haproxy
    }

    /// The status HAProxy gives server `name` (`UP`, `DOWN`, `UP 1/2`, …).
    pub async fn status(&self, name: &str) -> Option<String> {
        let csv = reqwest::get(&self.stats).await.ok()?.text().await.ok()?;
        csv.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            (fields.first() == Some(&"be") && fields.get(1) == Some(&name)).then(|| fields[17].to_owned())
        })
    }

    pub async fn wait_until(&self, name: &str, status: &str, limit: Duration) -> Duration {
        let started = Instant::now();
        while started.elapsed() < limit {
            if self.status(name).await.as_deref() == Some(status) {
                return started.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("HAProxy did not see {name} {status} within {limit:?}");
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------ the storm

/// Every answer the storm got, by what it was.
#[derive(Default, Debug)]
pub struct Tally {
    /// "claim 201", "order 503", "pay 200", … → count.
    pub answers: BTreeMap<String, usize>,
    /// 5xx other than a proper 503 (`service_unavailable` with `Retry-After`).
    pub bad: Vec<String>,
    /// Requests that got no HTTP answer at all.
    pub transport_errors: Vec<String>,
    /// Vouchers answered 201, with their resident.
    pub vouchers: Vec<(i64, i64)>,
    /// Orders answered 201, with their resident.
    pub orders: Vec<(i64, i64)>,
    /// Orders whose payment was answered 200.
    pub paid: Vec<i64>,
    /// When each 2xx came.
    pub successes: Vec<Instant>,
}

impl Tally {
    pub fn unavailable(&self) -> usize {
        self.answers
            .iter()
            .filter(|(k, _)| k.ends_with(" 503"))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn first_success_after(&self, at: Instant) -> Option<Duration> {
        self.successes.iter().filter(|s| **s >= at).min().map(|s| *s - at)
    }

    pub fn summary(&self) -> String {
        format!(
            "answers {:?}; bad {}; transport errors {}",
            self.answers,
            self.bad.len(),
            self.transport_errors.len()
        )
    }
}

/// Residents claiming a voucher, ordering with it and paying, round after round,
/// until stopped; a 503 makes them wait its `Retry-After` (at most 0.2 s here).
pub struct Storm {
    stop: Arc<AtomicBool>,
    pub tally: Arc<Mutex<Tally>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Storm {
    pub fn start(base: &str, residents: &[Actor], shop: &Shop) -> Storm {
        let stop = Arc::new(AtomicBool::new(false));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let tasks = residents
            .iter()
            .map(|r| {
                tokio::spawn(resident(
                    format!("{base}/api/v1"),
                    r.clone(),
                    shop.batch_id,
                    shop.offer_id,
                    stop.clone(),
                    tally.clone(),
                ))
            })
            .collect();
        Storm { stop, tally, tasks }
    }

    pub fn orders(&self) -> usize {
        self.tally.lock().expect("tally").orders.len()
    }

    /// Waits until at least `n` orders were answered 201 in all.
    pub async fn wait_for_orders(&self, n: usize, limit: Duration) {
        let started = Instant::now();
        while self.orders() < n {
            assert!(
                started.elapsed() < limit,
                "the storm made {} orders in {limit:?}; {}",
                self.orders(),
                self.tally.lock().expect("tally").summary()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits (up to `limit`) for a 2xx after `at`; returns how long after `at` it came.
    pub async fn wait_for_success_after(&self, at: Instant, limit: Duration) -> Option<Duration> {
        while at.elapsed() < limit {
            if let Some(after) = self.tally.lock().expect("tally").first_success_after(at) {
                return Some(after);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    pub async fn stop(self) -> Tally {
        self.stop.store(true, Ordering::SeqCst);
        for task in self.tasks {
            task.await.expect("resident task");
        }
        Arc::try_unwrap(self.tally)
            .expect("the storm's only tally")
            .into_inner()
            .expect("tally")
    }
}

async fn resident(
    api: String,
    actor: Actor,
    batch_id: i64,
    offer_id: i64,
    stop: Arc<AtomicBool>,
    tally: Arc<Mutex<Tally>>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let call = |what: &'static str, url: String, body: Option<Value>| {
        let (client, token, tally) = (client.clone(), actor.token.clone(), tally.clone());
        async move {
            let mut request = client.post(url).bearer_auth(token);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    tally
                        .lock()
                        .expect("tally")
                        .transport_errors
                        .push(format!("{what}: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    return None;
                }
            };
            let status = response.status().as_u16();
            let retry_after = response.headers().contains_key("retry-after");
            let body: Value = response.json().await.unwrap_or(Value::Null);
            {
                let mut t = tally.lock().expect("tally");
                *t.answers.entry(format!("{what} {status}")).or_default() += 1;
                let proper_503 = status == 503 && retry_after && body["code"] == json!("service_unavailable");
                if status >= 500 && !proper_503 {
                    t.bad.push(format!("{what} {status} retry-after={retry_after} {body}"));
                }
                if (200..300).contains(&status) {
                    t.successes.push(Instant::now());
                }
            }
            if status == 503 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Some((status, body))
        }
    };
    while !stop.load(Ordering::SeqCst) {
        // Once the resident holds `per_user_limit` vouchers (409), orders go on
        // without one.
        let voucher_id = match call("claim", format!("{api}/batches/{batch_id}/claim"), None).await {
            Some((201, voucher)) => {
                let id = voucher["id"].as_i64().expect("voucher id");
                tally.lock().expect("tally").vouchers.push((id, actor.id));
                Some(id)
            }
            Some((409, _)) => None,
            _ => continue,
        };
        let body = json!({"offer_id": offer_id, "quantity": 1, "voucher_id": voucher_id});
        let Some((201, order)) = call("order", format!("{api}/orders"), Some(body)).await else {
            continue;
        };
        let order_id = order["id"].as_i64().expect("order id");
        tally.lock().expect("tally").orders.push((order_id, actor.id));
        if let Some((200, _)) = call("pay", format!("{api}/orders/{order_id}/pay"), None).await {
            tally.lock().expect("tally").paid.push(order_id);
        }
    }
}

/// The storm's books against the database: every 201 has its row (with its
/// resident), every 200 payment its paid order, and DESIGN.md's invariants hold.
pub fn check_books(conn: &mut wenlv::db::DbConnection, tally: &Tally, offer_id: i64, initial_stock: i64) {
    for &(id, user) in &tally.vouchers {
        let owner: Option<i64> = vouchers::table
            .find(id)
            .select(vouchers::user_id)
            .first(conn)
            .optional()
            .expect("vouchers");
        assert_eq!(
            owner,
            Some(user),
            "voucher {id} answered 201 has no row of its resident"
        );
    }
    for &(id, user) in &tally.orders {
        let owner: Option<i64> = orders::table
            .find(id)
            .select(orders::user_id)
            .first(conn)
            .optional()
            .expect("orders");
        assert_eq!(owner, Some(user), "order {id} answered 201 has no row of its resident");
    }
    for &id in &tally.paid {
        let status: String = orders::table
            .find(id)
            .select(orders::status)
            .first(conn)
            .expect("paid order");
        assert!(
            status == "paid" || status == "redeemed",
            "order {id} paid 200 is {status}"
        );
    }
    check_invariants(conn, &HashMap::from([(offer_id, initial_stock)]));
}

/// `n` residents registered and signed in.
pub async fn residents(app: &TestApp, n: usize) -> Vec<Actor> {
    let mut all = Vec::new();
    for _ in 0..n {
        all.push(app.resident().await);
    }
    all
}

/// Polls `/readyz` at `base` until 200; returns how long it took.
pub async fn wait_ready(base: &str, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    while started.elapsed() < limit {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status().as_u16() == 200 {
                return Some(started.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

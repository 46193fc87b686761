//! `TestApp`: the real service on a random port with its own fresh database, and
//! helpers that speak its HTTP API like a client would.
//!
//! The database is a temp-file SQLite by default; with `TEST_DATABASE_URL` set to a
//! PostgreSQL server URL (`postgres://postgres@127.0.0.1:5432`) each test gets a
//! fresh PostgreSQL database, dropped when the test ends.

// Not every test module uses every helper.
#![allow(dead_code)]

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use wenlv::config::{self, Settings};
use wenlv::db::{ConnectionManager, DbConnection};
use wenlv::startup::Application;

pub const PASSWORD: &str = "correct-horse-42";

pub enum TestDb {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        server_url: String,
        name: String,
    },
    /// A database the test made and cleans up itself (a private cluster, …).
    External,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { server_url, name } = self {
            if let Ok(mut conn) = PgConnection::establish(&format!("{server_url}/postgres")) {
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
            }
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    /// This instance's clock: tests move it (claims and entries decide by it).
    pub clock: wenlv::time::Clock,
    phone_counter: AtomicU64,
    // Dropped last: the database outlives the requests that use it.
    _db: TestDb,
}

/// A signed-in user as tests see it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: i64,
    pub phone: String,
    pub token: String,
    pub refresh_token: String,
}

/// An answer: status, headers and body (JSON when it parses, else `Value::Null`).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts the status and, for errors, the problem+json shape and `code`.
    #[track_caller]
    pub fn expect(&self, status: u16, code: Option<&str>) -> &Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        if status >= 400 {
            assert_eq!(self.content_type(), "application/problem+json", "body: {}", self.text);
            assert_eq!(self.body["status"], json!(status));
            if let Some(code) = code {
                assert_eq!(self.body["code"], json!(code), "body: {}", self.text);
            }
        }
        &self.body
    }

    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert!(
            (200..300).contains(&self.status),
            "status {}: {}",
            self.status,
            self.text
        );
        &self.body
    }

    /// The fields named in a validation problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}

fn test_settings() -> Settings {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut settings = config::load_from(&dir, "test", false).expect("test config loads");
    settings.server.host = "127.0.0.1".to_owned();
    settings.server.port = 0;
    settings
}

fn fresh_database(settings: &mut Settings) -> TestDb {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(server_url) if !server_url.is_empty() => {
            let server_url = server_url.trim_end_matches('/').to_owned();
            let name = format!("wenlv_test_{}", hex::encode(rand::random::<[u8; 8]>()));
            let mut conn = PgConnection::establish(&format!("{server_url}/postgres"))
                .expect("TEST_DATABASE_URL names a reachable PostgreSQL server");
            conn.batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .expect("create test database");
            // No TLS to the loopback test server: with libpq's default
            // `sslmode=prefer`, connections still open in server threads use OpenSSL
            // while the test process exits and OpenSSL's exit handler tears it down,
            // which can crash the process after every test has passed.
            settings.database.url = format!("{server_url}/{name}?sslmode=disable");
            TestDb::Postgres { server_url, name }
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            settings.database.url = dir.path().join("wenlv.db").to_string_lossy().into_owned();
            TestDb::Sqlite(dir)
        }
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// Spawns with settings changed by `customize` (rate limits, timeouts, …).
    pub async fn spawn_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = test_settings();
        let db = fresh_database(&mut settings);
        customize(&mut settings);
        let app = Application::build(settings.clone()).expect("application builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let clock = app.clock();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .expect("client"),
            settings,
            clock,
            phone_counter: AtomicU64::new(0),
            _db: db,
        }
    }

    /// Spawns on a database the test made itself (`database_url`), with settings
    /// changed by `customize`; the test owns the database's lifetime.
    pub async fn spawn_on(database_url: &str, customize: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = test_settings();
        settings.database.url = database_url.to_owned();
        customize(&mut settings);
        let app = Application::build(settings.clone()).expect("application builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let clock = app.clock();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .expect("client"),
            settings,
            clock,
            phone_counter: AtomicU64::new(0),
            _db: TestDb::External,
        }
    }

    /// Another instance of the service on this test's database (this one keeps
    /// owning it): what several instances behind a load balancer look like.
    pub async fn spawn_sharing(&self, customize: impl FnOnce(&mut Settings)) -> TestApp {
        TestApp::spawn_on(&self.settings.database.url, customize).await
    }

    pub fn is_postgres(&self) -> bool {
        self.settings.database.url.starts_with("postgres")
    }

    /// A direct connection to the test's database, for checking invariants.
    pub fn db(&self) -> DbConnection {
        ConnectionManager::new(&self.settings.database.url, 5000)
            .establish()
            .expect("direct connection")
    }

    /// `/api/v1` + path, except for the probes and docs at the root. (`/admin/...`
    /// is an API path here; the dashboard's root pages go through `get_root`.)
    pub fn url(&self, path: &str) -> String {
        let root = ["/healthz", "/readyz", "/metrics", "/docs"];
        if root
            .iter()
            .any(|r| path == *r || path.starts_with(&format!("{r}/")) || path.starts_with(&format!("{r}?")))
        {
            format!("{}{path}", self.address)
        } else {
            format!("{}/api/v1{path}", self.address)
        }
    }

    /// GET a path at the root, outside `/api/v1` (dashboard pages, docs).
    pub async fn get_root(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(Self::with_token(
            self.client.get(format!("{}{path}", self.address)),
            token,
        ))
        .await
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Resp {
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body read");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    fn with_token(request: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::RequestBuilder {
        match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(Self::with_token(self.client.get(self.url(path)), token))
            .await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(Self::with_token(self.client.post(self.url(path)).json(&body), token))
            .await
    }

    /// POST with no body (action calls: approve, claim, pay, …).
    pub async fn action(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(Self::with_token(self.client.post(self.url(path)), token))
            .await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(Self::with_token(self.client.patch(self.url(path)).json(&body), token))
            .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(Self::with_token(self.client.delete(self.url(path)), token))
            .await
    }

    /// A phone number no other user of this test has.
    pub fn next_phone(&self) -> String {
        let n = self.phone_counter.fetch_add(1, Ordering::Relaxed);
        format!("139{:08}", n)
    }

    pub async fn login(&self, phone: &str, password: &str) -> Resp {
        self.post("/auth/login", None, json!({"phone": phone, "password": password}))
            .await
    }

    /// `n` new residents, registered 50 at a time so that set-up does not drown
    /// the test server.
    pub async fn residents(&self, n: usize) -> Vec<Actor> {
        let mut all = Vec::with_capacity(n);
        while all.len() < n {
            let wave = (all.len()..n.min(all.len() + 50)).map(|_| self.resident());
            all.extend(futures_util::future::join_all(wave).await);
        }
        all
    }

    /// Registers and signs in a new resident.
    pub async fn resident(&self) -> Actor {
        let phone = self.next_phone();
        let registered = self
            .post(
                "/auth/register",
                None,
                json!({"phone": phone, "password": PASSWORD, "display_name": "居民"}),
            )
            .await;
        registered.expect(201, None);
        self.signed_in(&phone, registered.body["id"].as_i64().expect("id"))
            .await
    }

    async fn signed_in(&self, phone: &str, id: i64) -> Actor {
        let login = self.login(phone, PASSWORD).await;
        let tokens = login.expect(200, None);
        Actor {
            id,
            phone: phone.to_owned(),
            token: tokens["access_token"].as_str().expect("access token").to_owned(),
            refresh_token: tokens["refresh_token"].as_str().expect("refresh token").to_owned(),
        }
    }

    /// Creates an administrator the way operators do (the CLI's code path) and signs in.
    pub async fn admin(&self) -> Actor {
        let phone = self.next_phone();
        let hashing = wenlv::auth::password::PasswordHashing::new(self.settings.auth.argon2).expect("argon2");
        let hash = hashing.hash_blocking(PASSWORD).expect("hash");
        let mut conn = self.db();
        let user = wenlv::accounts::repo::create_user(&mut conn, &phone, &hash, "管理员", wenlv::domain::Role::Admin)
            .expect("admin created");
        self.signed_in(&phone, user.id).await
    }
}

/// A valid resident identity number, different for each `n`.
pub fn id_number(n: u32) -> String {
    // Region 131002 (Langfang), born January 1990, sequence number from `n`.
    let day = (n / 1000) % 28 + 1;
    wenlv::domain::id_number::with_check_char(&format!("131002199001{day:02}{:03}", n % 1000))
}

/// A valid unified social credit code, different for each `n`.
pub fn credit_code(n: u32) -> String {
    wenlv::domain::credit_code::with_check_char(&format!("91131000MA{:07}", n % 10_000_000)).expect("valid alphabet")
}

//! The real `wenlv` binary (`env!("CARGO_BIN_EXE_wenlv")`) as a child process on a
//! test's database: started on a free port with the test config plus extra
//! environment, waited for on `/healthz`, and killed with SIGKILL (no shutdown code
//! runs), as a crashed or OOM-killed instance would be. Dropping a `Server` kills
//! and reaps it, so no test leaves one behind.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The binary serving a database on a free port.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    /// Starts the binary on `database_url` (rate limits off) and waits until it
    /// answers `/healthz`.
    pub async fn start(database_url: &str) -> Server {
        Server::start_with(database_url, &[]).await
    }

    /// As [`Server::start`], with extra `WENLV__…` settings.
    pub async fn start_with(database_url: &str, env: &[(&str, &str)]) -> Server {
        let server = Server::spawn(database_url, env);
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client.get(format!("{}/healthz", server.base)).send().await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the wenlv binary did not come up at {}", server.base);
    }

    /// Starts the binary without waiting for it: to kill it at any point of its life,
    /// start-up included.
    pub fn spawn(database_url: &str, env: &[(&str, &str)]) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let config_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut command = Command::new(env!("CARGO_BIN_EXE_wenlv"));
        command
            .env("WENLV_CONFIG_DIR", config_dir)
            .env("WENLV_ENV", "test")
            .env("DATABASE_URL", database_url)
            .env("WENLV__SERVER__PORT", port.to_string())
            .env("WENLV__RATE_LIMIT__ENABLED", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("the wenlv binary starts");
        // Owned by `Server` at once, so that its Drop reaps the child on every path.
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// SIGKILL (std's kill on Unix), then reap.
    pub fn kill(&mut self) {
        // It may have exited already (a failed start): reaping is what matters.
        let _ = self.child.kill();
        self.child.wait().expect("reaped");
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

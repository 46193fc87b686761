//! Building the running service: pool, migrations, shared state, the HTTP server
//! with its middleware, and the background order sweeper. `main` and the test harness
//! both start the service through [`Application::build`].
//!
//! Graceful shutdown ([`Shutdown`]): `/readyz` turns 503 first, then after
//! `server.shutdown_drain_ms` the server stops accepting, requests in flight get
//! `server.shutdown_timeout_seconds` to finish, and the sweeper ends its pass before
//! the process exits 0. actix's own signal handling is off: `main` owns the signals.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::ErrorHandlers;
use actix_web::{web, App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::auth::client_ip::TrustedProxies;
use crate::auth::jwt::TokenKeys;
use crate::auth::password::PasswordHashing;
use crate::auth::rate_limit::RateLimiter;
use crate::config::Settings;
use crate::db::{self, Pool};
use crate::error::{problem_for_framework_errors, AppError};
use crate::payments;
use crate::state::AppState;
use crate::vouchers::desk::ClaimDesk;
use crate::{http, orders, routes, statements};

pub struct Application {
    port: u16,
    server: Server,
    pool: Pool,
    sweep_interval: Duration,
    webhooks: crate::config::WebhookSettings,
    webhook_client: reqwest::Client,
    /// The webhook sender's own connections; none when it does not run.
    sender_pool: Option<Pool>,
    settings: Arc<Settings>,
    shutting_down: Arc<AtomicBool>,
    drain: Duration,
    limiter: Arc<RateLimiter>,
    limiter_sweep_interval: Duration,
    /// PostgreSQL: the counters are in the database, shared by every instance.
    shared_rate_limits: bool,
    clock: crate::time::Clock,
}

/// Begins this instance's graceful shutdown; cheap to clone into a signal task.
#[derive(Clone)]
pub struct Shutdown {
    shutting_down: Arc<AtomicBool>,
    server: ServerHandle,
    drain: Duration,
}

impl Shutdown {
    /// Marks the instance not ready (`/readyz` 503), waits the drain delay while
    /// still serving, then stops accepting and waits for requests in flight
    /// (bounded by `server.shutdown_timeout_seconds`).
    pub async fn begin(&self) {
        if self.shutting_down.swap(true, Ordering::SeqCst) {
            return;
        }
        tracing::info!(drain_ms = self.drain.as_millis() as u64, "shutting down: draining");
        if !self.drain.is_zero() {
            tokio::time::sleep(self.drain).await;
        }
        tracing::info!("shutting down: no longer accepting, finishing requests in flight");
        self.server.stop(true).await;
    }

    /// Stops at once: connections are closed, requests in flight are cut off (their
    /// transactions roll back). For an operator who signals a second time.
    pub async fn now(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.server.stop(false).await;
    }
}

impl Application {
    /// Opens the database, migrates it, binds the listener, and builds the server
    /// (not yet running: `run_until_stopped` drives it).
    pub fn build(settings: Settings) -> anyhow::Result<Application> {
        crate::metrics::install();
        let pool = db::build_pool(&settings.database)?;
        {
            let mut conn = pool.get()?;
            let applied = db::migrations::run_pending(&mut conn)?;
            if applied > 0 {
                tracing::info!(applied, "database migrated");
            }
            crate::reports::rollup::check_zone(&mut conn, settings.timezone())?;
        }
        let sweep_interval = Duration::from_secs(settings.orders.sweep_interval_seconds);
        let drain = Duration::from_millis(settings.server.shutdown_drain_ms);
        let shutting_down = Arc::new(AtomicBool::new(false));
        let webhooks = settings.webhooks.clone();
        let webhook_client = crate::webhooks::sender::client(&webhooks)?;
        let sender_pool =
            (webhooks.poll_interval_ms > 0).then(|| crate::webhooks::sender::pool(&settings.database, &webhooks));
        let shared_rate_limits = settings.database.engine() == db::Engine::Postgres;
        let limiter = Arc::new(RateLimiter::new(settings.rate_limit.max_tracked_keys));
        let limiter_sweep_interval = Duration::from_secs(settings.rate_limit.sweep_interval_seconds);
        let trusted_proxies =
            TrustedProxies::parse(&settings.rate_limit.trusted_proxies).map_err(|e| anyhow::anyhow!(e))?;
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))?;
        let port = listener.local_addr()?.port();
        let clock = crate::time::Clock::system(settings.timezone());
        let settings = Arc::new(settings);
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            payments: payments::from_settings(&settings.payments)?,
            identity: crate::identity::from_settings(&settings.identity)?,
            tokens: TokenKeys::new(&settings.auth),
            passwords: PasswordHashing::new(settings.auth.argon2)?,
            limiter: limiter.clone(),
            trusted_proxies,
            settings: settings.clone(),
            shutting_down: shutting_down.clone(),
            clock: clock.clone(),
        });
        let server = run(listener, state)?;
        Ok(Application {
            port,
            server,
            pool,
            sweep_interval,
            webhooks,
            webhook_client,
            sender_pool,
            settings,
            shutting_down,
            drain,
            limiter,
            limiter_sweep_interval,
            shared_rate_limits,
            clock,
        })
    }

    /// This instance's clock (claims and entries decide by it). Tests move it to
    /// the minutes around a platform-local midnight; nothing else sets it.
    pub fn clock(&self) -> crate::time::Clock {
        self.clock.clone()
    }

    /// What stops this instance gracefully (a signal task, or a test).
    pub fn shutdown(&self) -> Shutdown {
        Shutdown {
            shutting_down: self.shutting_down.clone(),
            server: self.server.handle(),
            drain: self.drain,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the server stops, with this instance's order sweeper beside it
    /// (config `orders.sweep_interval_seconds`; 0 runs none), and its other jobs
    /// (webhook sender, draw, statements, SQLite's checkpointer). The sweeper is
    /// asked to stop once the server has, and finishes the pass it is in first.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        // SQLite's WAL checkpoints, off the request path (`db::checkpoint`); the
        // service's connections leave them to it.
        let checkpointer = match crate::db::checkpoint::Checkpointer::start(&self.settings.database) {
            Ok(checkpointer) => checkpointer,
            Err(error) => {
                tracing::error!(error = %error, "cannot start the SQLite checkpointer");
                return Err(std::io::Error::other(format!("{error:#}")));
            }
        };
        let (stop_sweeper, stop) = tokio::sync::watch::channel(false);
        let sweeper = (!self.sweep_interval.is_zero()).then(|| {
            tokio::spawn(orders::sweeper::run_forever(
                self.pool.clone(),
                self.sweep_interval,
                stop,
            ))
        });
        let webhooks = &self.webhooks;
        let sender = self.sender_pool.clone().map(|sender_pool| {
            tokio::spawn(crate::webhooks::sender::run_forever(
                sender_pool,
                self.pool.clone(),
                webhooks.clone(),
                self.webhook_client.clone(),
                stop_sweeper.subscribe(),
            ))
        });
        let shared = self.shared_rate_limits.then(|| self.pool.clone());
        let limiter_sweeper = tokio::spawn(crate::auth::rate_limit::sweep_forever(
            self.limiter.clone(),
            shared,
            self.limiter_sweep_interval,
        ));
        // The statements' closing job (config `settlement.close_interval_seconds`; 0
        // runs none). Aborting it mid-pass is safe: a day closes in one transaction.
        let close_interval = Duration::from_secs(self.settings.settlement.close_interval_seconds);
        let closer = (!close_interval.is_zero()).then(|| {
            tokio::spawn(statements::closer::run_forever(
                self.pool.clone(),
                self.settings.clone(),
                close_interval,
            ))
        });
        // The lottery's draw job (config `lottery.draw_interval_ms`; 0 runs none).
        // Aborting it mid-draw is safe: a draw resumes where its last chunk committed.
        let lottery = &self.settings.lottery;
        let drawer = (lottery.draw_interval_ms > 0).then(|| {
            tokio::spawn(crate::lottery::draw::run_forever(
                self.pool.clone(),
                Arc::new(lottery.clone()),
            ))
        });
        let result = self.server.await;
        if let Some(checkpointer) = checkpointer {
            tokio::task::spawn_blocking(move || checkpointer.stop()).await.ok();
        }
        limiter_sweeper.abort();
        if let Some(drawer) = drawer {
            drawer.abort();
        }
        let _ = stop_sweeper.send(true);
        if let Some(sender) = sender {
            if let Err(error) = sender.await {
                tracing::warn!(error = %error, "webhook sender task failed");
            }
        }
        if let Some(sweeper) = sweeper {
            if let Err(error) = sweeper.await {
                tracing::warn!(error = %error, "sweeper task failed");
            }
        }
        if let Some(closer) = closer {
            closer.abort();
        }
        result
    }

    /// `main`'s way to serve: until SIGTERM or SIGINT, then a graceful shutdown; a
    /// second signal during it stops at once.
    pub async fn run_until_signalled(self) -> std::io::Result<()> {
        let shutdown = self.shutdown();
        tokio::spawn(async move {
            let signal = wait_for_signal().await;
            tracing::info!(signal, "shutdown requested");
            let graceful = shutdown.clone();
            tokio::spawn(async move { graceful.begin().await });
            let again = wait_for_signal().await;
            tracing::warn!(signal = again, "second signal: stopping now");
            shutdown.now().await;
        });
        self.run_until_stopped().await
    }
}

/// The first SIGTERM (what orchestrators send) or SIGINT (Ctrl-C).
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(error) => {
            tracing::error!(error = %error, "cannot listen for SIGTERM; stopping on Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "SIGINT",
    }
}

fn run(listener: TcpListener, state: web::Data<AppState>) -> anyhow::Result<Server> {
    let workers = match state.settings.server.workers {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        n => n,
    };
    // The served document lists this server's configured districts.
    let spec = crate::openapi::document_for(&state.settings.platform.districts);
    let state_shutdown_timeout = state.settings.server.shutdown_timeout_seconds;
    // One claim desk per instance, shared by every worker (its queues and memory).
    let claims = web::Data::from(ClaimDesk::new(
        state.pool.clone(),
        state.settings.claims.clone(),
        state.clock.clone(),
    ));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(claims.clone())
            .app_data(http::json_config())
            .app_data(http::path_config())
            .app_data(http::query_config())
            .wrap(ErrorHandlers::new().default_handler(problem_for_framework_errors))
            .wrap(actix_web::middleware::from_fn(crate::error::i18n::localize))
            .wrap(actix_web::middleware::from_fn(crate::metrics::track))
            .wrap(TracingLogger::default())
            .configure(routes::root)
            .configure(routes::dashboard_pages)
            .service(web::resource("/docs").route(web::get().to(|| async {
                actix_web::HttpResponse::Found()
                    .insert_header(("Location", "/docs/"))
                    .finish()
            })))
            // Before the /api/v1 scope, which would otherwise answer openapi.json with 404.
            .service(utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}").url("/api/v1/openapi.json", spec.clone()))
            .service(web::scope("/api/v1").configure(routes::api))
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(AppError::not_found())
            }))
    })
    .workers(workers)
    // Signals are `main`'s (`run_until_signalled`): readiness must turn 503 before
    // the listener closes, which actix's own SIGTERM handling would not do.
    .disable_signals()
    .shutdown_timeout(state_shutdown_timeout)
    .listen(listener)?
    .run();
    Ok(server)
}

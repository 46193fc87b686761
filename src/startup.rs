//! Building the running service: pool, migrations, shared state, the HTTP server
//! with its middleware, and the background order sweeper. `main` and the test harness
//! both start the service through [`Application::build`].

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::ErrorHandlers;
use actix_web::{web, App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::auth::jwt::TokenKeys;
use crate::auth::password::PasswordHashing;
use crate::auth::rate_limit::RateLimiter;
use crate::config::Settings;
use crate::db::{self, Pool};
use crate::error::{problem_for_framework_errors, AppError};
use crate::payments;
use crate::state::AppState;
use crate::{http, orders, routes, statements};

pub struct Application {
    port: u16,
    server: Server,
    pool: Pool,
    sweep_interval: Duration,
    settings: Arc<Settings>,
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
        }
        let sweep_interval = Duration::from_secs(settings.orders.sweep_interval_seconds);
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))?;
        let port = listener.local_addr()?.port();
        let settings = Arc::new(settings);
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            payments: payments::from_settings(&settings.payments)?,
            tokens: TokenKeys::new(&settings.auth),
            passwords: PasswordHashing::new(settings.auth.argon2)?,
            limiter: RateLimiter::default(),
            settings: settings.clone(),
        });
        let server = run(listener, state)?;
        Ok(Application {
            port,
            server,
            pool,
            sweep_interval,
            settings,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the server stops, with this instance's order sweeper beside it
    /// (config `orders.sweep_interval_seconds`; 0 runs none).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let sweeper = (!self.sweep_interval.is_zero())
            .then(|| tokio::spawn(orders::sweeper::run_forever(self.pool.clone(), self.sweep_interval)));
        // The statements' closing job (config `settlement.close_interval_seconds`; 0 runs none).
        let close_interval = Duration::from_secs(self.settings.settlement.close_interval_seconds);
        let closer = (!close_interval.is_zero()).then(|| {
            tokio::spawn(statements::closer::run_forever(
                self.pool.clone(),
                self.settings.clone(),
                close_interval,
            ))
        });
        let result = self.server.await;
        if let Some(sweeper) = sweeper {
            sweeper.abort();
        }
        if let Some(closer) = closer {
            closer.abort();
        }
        result
    }
}

fn run(listener: TcpListener, state: web::Data<AppState>) -> anyhow::Result<Server> {
    let workers = match state.settings.server.workers {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        n => n,
    };
    // The served document lists this server's configured districts.
    let spec = crate::openapi::document_for(&state.settings.platform.districts);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(http::json_config())
            .app_data(http::path_config())
            .app_data(http::query_config())
            .wrap(ErrorHandlers::new().default_handler(problem_for_framework_errors))
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
    .listen(listener)?
    .run();
    Ok(server)
}

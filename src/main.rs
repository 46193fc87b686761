//! The `wenlv` binary: `wenlv` / `wenlv serve` migrates and serves; `wenlv migrate`;
//! `wenlv create-admin --phone P`; `wenlv seed-demo [--small]`; `wenlv rebuild-rollup`;
//! `wenlv close-statements --through YYYY-MM-DD`;
//! `wenlv verify-draw --commitment HEX --seed HEX --entries N --quantity Q`.

use wenlv::{cli, config, startup::Application, telemetry};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // An auditor's tool: public data only, so no configuration is read.
    if args.first().map(String::as_str) == Some("verify-draw") {
        return cli::verify_draw(&args[1..]);
    }
    let settings = config::load()?;
    telemetry::init(&settings.log);
    let env = config::environment();
    if config::allows_development_secrets(&env) {
        tracing::warn!("{}", config::secrets_mode_line(&env));
    } else {
        tracing::info!("{}", config::secrets_mode_line(&env));
    }
    match args.first().map(String::as_str) {
        None | Some("serve") => serve(settings),
        Some("migrate") => cli::migrate(&settings),
        Some("create-admin") => cli::create_admin(&settings, &args[1..]),
        Some("seed-demo") => cli::seed_demo(&settings, &args[1..]),
        Some("rebuild-rollup") => cli::rebuild_rollup(&settings),
        Some("close-statements") => cli::close_statements(&settings, &args[1..]),
        Some(other) => anyhow::bail!(
            "unknown command {other:?}; commands: serve, migrate, create-admin, seed-demo, rebuild-rollup, close-statements, verify-draw"
        ),
    }
}

fn serve(settings: config::Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings)?;
        tracing::info!(port = app.port(), "wenlv serving");
        // SIGTERM: /readyz 503, drain, finish requests in flight, exit 0.
        app.run_until_signalled().await?;
        tracing::info!("wenlv stopped");
        Ok(())
    })
}

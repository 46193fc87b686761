//! Logging: `tracing` to stdout, filtered by `RUST_LOG` or config `log.level`.
//! Requests run inside tracing-actix-web's root span, so every line logged while
//! serving one carries its `request_id`.

use tracing_subscriber::EnvFilter;

use crate::config::LogSettings;

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let result = if settings.json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // Err only means a subscriber is already installed.
    drop(result);
}

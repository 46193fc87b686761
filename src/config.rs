//! Settings: `config/default.toml`, overlaid by `config/$WENLV_ENV.toml`, then by
//! `WENLV__SECTION__KEY` environment variables, then `DATABASE_URL`.
//!
//! Every section denies unknown keys, so a typo in a config file or a variable name
//! stops the service at start-up instead of being silently ignored.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub rate_limit: RateLimitSettings,
    pub log: LogSettings,
    pub platform: PlatformSettings,
    pub orders: OrderSettings,
    pub idempotency: IdempotencySettings,
    pub payments: PaymentSettings,
    pub settlement: SettlementSettings,
    pub risk: RiskSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// 0 means one worker per core.
    pub workers: usize,
    /// Graceful shutdown: how long requests in flight may take to finish after
    /// SIGTERM before their connections are closed.
    pub shutdown_timeout_seconds: u64,
    /// Graceful shutdown: how long `/readyz` answers 503 while the server still
    /// accepts, so a load balancer's health check takes the instance out first.
    pub shutdown_drain_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    pub connection_timeout_ms: u64,
    pub sqlite_busy_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub jwt_secret: SecretString,
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl_seconds: i64,
    pub refresh_token_ttl_days: i64,
    pub identity_hash_key: SecretString,
    pub argon2: Argon2Settings,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Settings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    pub enabled: bool,
    pub login_per_minute_per_ip: u32,
    pub login_per_minute_per_phone: u32,
    pub register_per_minute_per_ip: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub level: String,
    pub json: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformSettings {
    pub timezone: String,
    /// The districts merchants sit in and campaigns may be limited to (checked
    /// non-empty at start-up); the one list every handler validates against.
    pub districts: Vec<String>,
}

impl PlatformSettings {
    /// The configured districts, as the `choice` parsers want them.
    pub fn districts(&self) -> Vec<&str> {
        self.districts.iter().map(String::as_str).collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderSettings {
    /// Seconds an order may stay `pending_payment`.
    pub payment_timeout: i64,
    pub sweep_interval_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdempotencySettings {
    pub ttl_hours: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentSettings {
    pub provider: String,
}

/// Daily statements (API.md, Money to merchants).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettlementSettings {
    /// Whole days a closed day waits before its statements close (1: T+1).
    pub holding_days: i64,
    /// How often each instance's closing job looks for work; 0 runs none.
    pub close_interval_seconds: u64,
}

/// Thresholds of the fraud signals (API.md, Risk).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskSettings {
    /// `repeat_pairs`: voucher orders of one resident at one merchant in one campaign.
    pub repeat_pair_orders: i64,
    /// `redemption_burst`: redemptions at one merchant within one minute.
    pub burst_redemptions: i64,
    /// `threshold_gaming`: voucher orders a merchant needs before its share is judged.
    pub threshold_gaming_min_orders: i64,
    /// `threshold_gaming`: the share of near-threshold orders that is suspicious
    /// whatever the platform does…
    pub threshold_gaming_min_share: f64,
    /// …or this many times the rest of the platform's share, whichever is higher.
    pub threshold_gaming_factor: f64,
    /// A merchant whose score reaches this gets its newly closed statements held.
    pub hold_score: f64,
    /// Order ids listed as evidence per signal, at most.
    pub evidence_limit: usize,
}

/// The environment name from `WENLV_ENV` (`development` when unset).
pub fn environment() -> String {
    std::env::var("WENLV_ENV").unwrap_or_else(|_| "development".to_owned())
}

/// The config directory: `WENLV_CONFIG_DIR`, else `config/` in the working directory.
pub fn config_dir() -> PathBuf {
    std::env::var_os("WENLV_CONFIG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("config"))
}

/// Loads the settings the way the service does at start-up, and checks them.
pub fn load() -> anyhow::Result<Settings> {
    let env = environment();
    let settings = load_from(&config_dir(), &env, true)?;
    settings.check(&env)?;
    Ok(settings)
}

/// Loads `default.toml` and `<env>.toml` from `dir`; with `from_process_env`, the
/// `WENLV__…` variables and `DATABASE_URL` too.
pub fn load_from(dir: &Path, env: &str, from_process_env: bool) -> anyhow::Result<Settings> {
    let mut builder = config::Config::builder()
        .add_source(config::File::from(dir.join("default.toml")).required(true))
        .add_source(config::File::from(dir.join(format!("{env}.toml"))).required(false));
    if from_process_env {
        builder = builder.add_source(
            config::Environment::with_prefix("WENLV")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("platform.districts"),
        );
        if let Ok(url) = std::env::var("DATABASE_URL") {
            builder = builder.set_override("database.url", url)?;
        }
    }
    let settings: Settings = builder.build()?.try_deserialize()?;
    Ok(settings)
}

impl Settings {
    /// Refuses settings that must never reach production, and nonsense anywhere.
    pub fn check(&self, env: &str) -> anyhow::Result<()> {
        if env == "production" {
            let defaults = load_from(&config_dir(), "default", false)?;
            let secrets = [
                ("auth.jwt_secret", &self.auth.jwt_secret, &defaults.auth.jwt_secret),
                (
                    "auth.identity_hash_key",
                    &self.auth.identity_hash_key,
                    &defaults.auth.identity_hash_key,
                ),
            ];
            for (name, secret, default) in secrets {
                if secret.expose_secret() == default.expose_secret() {
                    anyhow::bail!("{name} is the development default; set a secret for production");
                }
                if secret.expose_secret().len() < 32 {
                    anyhow::bail!("{name} is shorter than 32 bytes");
                }
            }
        }
        if self.auth.access_token_ttl_seconds <= 0 || self.auth.access_token_ttl_seconds > 900 {
            anyhow::bail!("auth.access_token_ttl_seconds must be between 1 and 900");
        }
        if self.platform.timezone.parse::<chrono_tz::Tz>().is_err() {
            anyhow::bail!(
                "platform.timezone {:?} is not an IANA time zone",
                self.platform.timezone
            );
        }
        if self.platform.districts.is_empty() {
            anyhow::bail!("platform.districts must name at least one district");
        }
        if self.payments.provider != "sandbox" {
            anyhow::bail!(
                "payments.provider {:?} is unknown (known: sandbox)",
                self.payments.provider
            );
        }
        if self.settlement.holding_days < 0 {
            anyhow::bail!("settlement.holding_days must be 0 or more");
        }
        let risk = &self.risk;
        if risk.repeat_pair_orders < 2 || risk.burst_redemptions < 2 || risk.threshold_gaming_min_orders < 1 {
            anyhow::bail!("risk thresholds must be at least 2 orders (1 for threshold_gaming_min_orders)");
        }
        // Written as the accepted ranges, so NaN is refused too.
        let sane = risk.threshold_gaming_min_share > 0.0
            && risk.threshold_gaming_min_share <= 1.0
            && risk.threshold_gaming_factor >= 1.0
            && risk.hold_score > 0.0;
        if !sane {
            anyhow::bail!("risk: threshold_gaming_min_share in (0, 1], threshold_gaming_factor >= 1, hold_score > 0");
        }
        Ok(())
    }

    /// The platform's time zone (checked at start-up).
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.platform.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }
}

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
    pub claims: ClaimSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// 0 means one worker per core.
    pub workers: usize,
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
    pub districts: Vec<String>,
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

/// Coalesced claims (`vouchers::desk`): how claims of one batch are grouped into
/// one transaction, how many may wait, and how long an instance trusts what it
/// remembers about a batch's campaign.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimSettings {
    /// false: every claim is its own transaction (the plain path, no queue, no memory).
    pub enabled: bool,
    /// The most claims one transaction commits.
    pub max_group: usize,
    /// How long a busy writer may wait for a group to fill; an idle writer never waits.
    pub max_wait_ms: u64,
    /// Claims of one batch that may wait in this instance; past it, 503 `overloaded`.
    pub max_queue: usize,
    /// The `Retry-After` seconds of an `overloaded` answer.
    pub retry_after_seconds: u64,
    /// How long a remembered campaign status is trusted for answers from memory.
    pub memory_ttl_ms: u64,
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
        if self.claims.max_group == 0 || self.claims.max_queue == 0 {
            anyhow::bail!("claims.max_group and claims.max_queue must be at least 1");
        }
        if self.payments.provider != "sandbox" {
            anyhow::bail!(
                "payments.provider {:?} is unknown (known: sandbox)",
                self.payments.provider
            );
        }
        Ok(())
    }

    /// The platform's time zone (checked at start-up).
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.platform.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }
}

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
    pub webhooks: WebhookSettings,
    /// Optional section: absent means `/metrics` is open.
    #[serde(default)]
    pub metrics: MetricsSettings,
    pub claims: ClaimSettings,
    pub lottery: LotterySettings,
    pub settlement: SettlementSettings,
    pub risk: RiskSettings,
    pub merchants: MerchantSettings,
    pub identity: IdentitySettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySettings {
    /// The real-name verification service (`identity::from_settings`).
    pub provider: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantSettings {
    /// How long a staff invitation can be accepted.
    pub staff_invitation_days: i64,
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
    /// SQLite only: WAL pages after which a commit copies the WAL back into the
    /// database file (`PRAGMA wal_autocheckpoint`), when no background
    /// checkpointer runs (`sqlite_checkpoint_interval_ms = 0`).
    pub sqlite_wal_autocheckpoint_pages: u32,
    /// SQLite only: how often a background thread checkpoints the WAL, so that no
    /// request does (`db::checkpoint`); 0 leaves it to the committing connections.
    pub sqlite_checkpoint_interval_ms: u64,
}

impl DatabaseSettings {
    /// The engine `url` selects.
    pub fn engine(&self) -> crate::db::Engine {
        crate::db::Engine::from_url(&self.url)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub jwt_secret: SecretString,
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl_seconds: i64,
    pub refresh_token_ttl_days: i64,
    /// A login session (a refresh-token family) ends this many days after the login,
    /// however often it is refreshed.
    pub session_max_days: i64,
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
    pub register_per_minute_per_phone: u32,
    /// Proxies (addresses or CIDR networks) whose `X-Forwarded-For`/`Forwarded`
    /// headers name the client; from anyone else the headers are ignored.
    pub trusted_proxies: Vec<String>,
    /// At most this many keys are tracked per instance; new keys are refused past it.
    pub max_tracked_keys: usize,
    /// How often expired windows are dropped.
    pub sweep_interval_seconds: u64,
    /// `POST /orders` per resident per minute (stock hoarding by re-ordering).
    pub orders_per_minute_per_resident: u32,
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
    /// How many unpaid orders (within their payment window) one resident may hold;
    /// another `POST /orders` is 409 `invalid_state`.
    pub max_unpaid_per_resident: i64,
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
    /// Sandbox only: how long each call takes (imitates the network; tests race on it).
    #[serde(default)]
    pub sandbox_delay_ms: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// When set, `GET /metrics` needs `Authorization: Bearer <it>` (else 401).
    #[serde(default)]
    pub bearer_token: Option<SecretString>,
}

/// Merchants' webhooks: who may be called, and the sender's clock.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Accept `http://` URLs to a loopback host (development and tests).
    pub allow_http_loopback: bool,
    /// How often each instance's sender looks for due deliveries (0 runs none).
    pub poll_interval_ms: u64,
    /// Deliveries one instance claims per pass.
    pub batch: i64,
    /// The sender's own database connections, apart from `database.max_connections`.
    pub sender_connections: u32,
    /// The sender's pause between passes while every request connection is in use.
    pub yield_to_requests_ms: u64,
    /// Time allowed for one POST, connection included.
    pub timeout_ms: u64,
    /// How long a claimed delivery is this instance's before another may take it over.
    pub lease_ms: i64,
    /// The first retry's delay; each next one doubles, up to `retry_max_ms`.
    pub retry_initial_ms: i64,
    pub retry_max_ms: i64,
    /// After this long since the event, a failed delivery is given up.
    pub retry_window_seconds: i64,
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
    /// Rows a new first-come batch's stock is spread over (`vouchers::stock`), so
    /// that several instances claiming it take different row locks. Unset: 8 on
    /// PostgreSQL, 1 on SQLite (whose write lock is global, so shards gain nothing);
    /// 1 keeps the whole stock in `voucher_batches.remaining`. Applies to batches
    /// made from then on: a batch keeps the layout it was made with.
    #[serde(default)]
    pub stock_shards: Option<usize>,
}

/// Stock shards of a new batch when `claims.stock_shards` is unset.
const DEFAULT_STOCK_SHARDS_POSTGRES: usize = 8;
/// The most stock shards a batch may have: each is a row read by every claim group.
pub const MAX_STOCK_SHARDS: usize = 64;

impl ClaimSettings {
    /// The stock shards of a batch made now on `engine`.
    pub fn stock_shards_on(&self, engine: crate::db::Engine) -> usize {
        self.stock_shards.unwrap_or(match engine {
            crate::db::Engine::Postgres => DEFAULT_STOCK_SHARDS_POSTGRES,
            crate::db::Engine::Sqlite => 1,
        })
    }
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

/// The draw of lottery batches (`lottery::draw`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LotterySettings {
    /// How often each instance's draw job looks for closed entry windows; 0 runs none.
    pub draw_interval_ms: u64,
    /// How long after `claim_ends_at` the job waits before drawing.
    pub draw_after_close_ms: u64,
    /// Winners' vouchers issued per transaction of a draw.
    pub winners_per_transaction: usize,
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

/// The shortest secret (in bytes) accepted outside development and test.
pub const MIN_SECRET_BYTES: usize = 32;

/// Whether `env` may run on the public development secrets: only `development`
/// (also what an unset `WENLV_ENV` means) and `test`. Every other name — `prod`,
/// `staging`, a typo — is treated as a real deployment, so a misnamed environment
/// fails closed instead of signing tokens with a secret printed in the repository.
pub fn allows_development_secrets(env: &str) -> bool {
    matches!(env, "development" | "test")
}

/// Whether `env` names a production environment (`production`, `prod`, `prod-eu`…),
/// where `seed-demo` must never write made-up accounts with known passwords.
pub fn is_production(env: &str) -> bool {
    env.to_ascii_lowercase().starts_with("prod")
}

/// The one start-up line saying which secret policy is in force.
pub fn secrets_mode_line(env: &str) -> String {
    if allows_development_secrets(env) {
        format!(
            "environment {env:?}: development mode, default secrets allowed (never expose this instance; \
             any other WENLV_ENV requires auth.jwt_secret and auth.identity_hash_key of {MIN_SECRET_BYTES}+ bytes)"
        )
    } else {
        format!("environment {env:?}: deployment mode, secrets checked (non-default, {MIN_SECRET_BYTES}+ bytes)")
    }
}

/// `url` with any password replaced by `***`, for logs and terminal output.
pub fn redact_database_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_owned()
            };
            let tail = redact_query_password(tail);
            format!("{scheme}://{masked}@{host}{tail}")
        }
        None => format!("{scheme}://{authority}{}", redact_query_password(tail)),
    }
}

/// libpq also takes `?password=…` in the query string.
fn redact_query_password(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
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
                .with_list_parse_key("platform.districts")
                .with_list_parse_key("rate_limit.trusted_proxies"),
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
        if !allows_development_secrets(env) {
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
                    anyhow::bail!(
                        "{name} is the public development default; WENLV_ENV={env:?} needs a secret of its own"
                    );
                }
                if secret.expose_secret().len() < MIN_SECRET_BYTES {
                    anyhow::bail!("{name} is shorter than {MIN_SECRET_BYTES} bytes (WENLV_ENV={env:?})");
                }
            }
        }
        if self.auth.access_token_ttl_seconds <= 0 || self.auth.access_token_ttl_seconds > 900 {
            anyhow::bail!("auth.access_token_ttl_seconds must be between 1 and 900");
        }
        crate::auth::client_ip::TrustedProxies::parse(&self.rate_limit.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("rate_limit.trusted_proxies: {e}"))?;
        if self.rate_limit.max_tracked_keys == 0 || self.rate_limit.sweep_interval_seconds == 0 {
            anyhow::bail!("rate_limit.max_tracked_keys and rate_limit.sweep_interval_seconds must be at least 1");
        }
        if self.merchants.staff_invitation_days <= 0 {
            anyhow::bail!("merchants.staff_invitation_days must be at least 1");
        }
        if self.auth.session_max_days <= 0 {
            anyhow::bail!("auth.session_max_days must be at least 1");
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
        crate::identity::from_settings(&self.identity)?;
        if self.claims.max_group == 0 || self.claims.max_queue == 0 {
            anyhow::bail!("claims.max_group and claims.max_queue must be at least 1");
        }
        if self.claims.stock_shards.is_some_and(|n| n == 0 || n > MAX_STOCK_SHARDS) {
            anyhow::bail!("claims.stock_shards must be between 1 and {MAX_STOCK_SHARDS}");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_development_and_test_allow_the_default_secrets() {
        assert!(allows_development_secrets("development"));
        assert!(allows_development_secrets("test"));
        for env in ["production", "prod", "staging", "Development", ""] {
            assert!(!allows_development_secrets(env), "{env}");
        }
    }

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            redact_database_url("postgres://app:s3cret@db:5432/wenlv?sslmode=require"),
            "postgres://app:***@db:5432/wenlv?sslmode=require"
        );
        assert_eq!(
            redact_database_url("postgresql://db/wenlv?user=app&password=s3cret"),
            "postgresql://db/wenlv?user=app&password=***"
        );
        assert_eq!(
            redact_database_url("postgres://app@db/wenlv"),
            "postgres://app@db/wenlv"
        );
        assert_eq!(redact_database_url("data/wenlv.db"), "data/wenlv.db");
    }
}

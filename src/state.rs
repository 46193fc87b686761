//! What every handler can reach: the shared state of one running instance.
//!
//! This module sits on the bottom floor (DESIGN.md, Layout): it imports no feature
//! and nothing of the wiring, so handlers, extractors and background jobs can all
//! depend on it while `startup` builds it. Nothing here is per-user: the service
//! keeps no session state, so any number of instances can share one database.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::auth::client_ip::TrustedProxies;
use crate::auth::jwt::TokenKeys;
use crate::auth::password::PasswordHashing;
use crate::auth::rate_limit::RateLimiter;
use crate::config::Settings;
use crate::db::Pool;
use crate::identity::IdentityVerifier;
use crate::payments::PaymentProvider;
use crate::time::Clock;

pub struct AppState {
    pub pool: Pool,
    pub settings: Arc<Settings>,
    pub tokens: TokenKeys,
    pub passwords: PasswordHashing,
    pub limiter: Arc<RateLimiter>,
    /// `rate_limit.trusted_proxies`, parsed.
    pub trusted_proxies: TrustedProxies,
    /// The payment provider named by config `payments.provider`.
    pub payments: Box<dyn PaymentProvider>,
    /// The real-name verifier named by config `identity.provider`.
    pub identity: Box<dyn IdentityVerifier>,
    /// Set at the first moment of a graceful shutdown (SIGTERM), before the server
    /// stops accepting: `/readyz` answers 503 from then on so that a load balancer
    /// drains this instance while it still serves what it is sent.
    pub shutting_down: Arc<AtomicBool>,
    /// This instance's clock for the calendar rules of claims and entries (claim
    /// windows, the daily cap's platform-local day).
    pub clock: Clock,
}

impl AppState {
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}

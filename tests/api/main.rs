//! Black-box tests over real HTTP: one binary, one fresh database per test (SQLite
//! by default, PostgreSQL with `TEST_DATABASE_URL`). See `helpers.rs`.

mod helpers;
mod merchants_fixtures;

mod accounts;
mod architecture;
mod audit;
mod auth_tokens;
mod campaigns;
mod campaigns_fixtures;
mod causal;
mod crash;
mod daily_cap;
mod dashboard;
mod demo;
mod entry_storm;
mod errors;
mod fair_release;
mod health;
mod hoarding;
mod i18n;
mod idempotency;
mod identities;
mod invitations;
mod lottery_draw;
mod merchant_console;
mod merchants;
mod metrics;
mod offers;
mod openapi;
mod order_fixtures;
mod orders;
mod pay_checks;
mod report_figures;
mod reports;
mod risk;
mod rollup_zone;
mod secrets;
mod server_process;
mod sessions;
mod statement_fixtures;
mod statements;
mod statements_crash;
mod sweeper;
mod vouchers;
mod webhooks;

//! wenlv (文旅): the backend of a city's culture-tourism consumption platform.
//!
//! Residents claim subsidy vouchers from campaigns the city funds and spend them at
//! approved merchants; administrators watch how much consumption each yuan of
//! subsidy drove. The contract is `shared/API.md`; the design `shared/DESIGN.md`.
//!
//! Layout: `startup` builds the server, `routes` is the one route table, each
//! feature module (`accounts`, …) owns its handlers, DTOs, rows and queries, and
//! `db` is the one database code path for SQLite and PostgreSQL.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod campaigns;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod health;
pub mod http;
pub mod idempotency;
pub mod identity;
pub mod lottery;
pub mod merchant_console;
pub mod merchants;
pub mod metrics;
pub mod offers;
pub mod openapi;
pub mod orders;
pub mod payments;
pub mod reports;
pub mod risk;
pub mod routes;
pub mod search;
pub mod startup;
pub mod state;
pub mod statements;
pub mod telemetry;
pub mod time;
pub mod vouchers;
pub mod webhooks;

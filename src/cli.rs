//! Command-line tasks besides serving: `migrate`, `create-admin`, `seed-demo` and
//! `rebuild-rollup`, `close-statements`.

use std::io::BufRead;

use crate::accounts::repo;
use crate::auth::password::PasswordHashing;
use crate::config::Settings;
use crate::db::{self, ConnectionManager};
use crate::domain::{Password, Phone, Role};

fn connect(settings: &Settings) -> anyhow::Result<db::DbConnection> {
    ConnectionManager::from_settings(&settings.database).establish()
}

/// `wenlv migrate`: applies pending migrations and says how many.
pub fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let mut conn = connect(settings)?;
    let applied = db::migrations::run_pending(&mut conn)?;
    println!("applied {applied} migration(s)");
    Ok(())
}

/// `wenlv rebuild-rollup`: recomputes the report rollup from the orders in the
/// configured `platform.timezone` and records that zone (after changing it; the
/// service refuses to start until this ran). Safe to run while serving: one
/// transaction.
pub fn rebuild_rollup(settings: &Settings) -> anyhow::Result<()> {
    let mut conn = connect(settings)?;
    db::migrations::run_pending(&mut conn)?;
    let tz = settings.timezone();
    crate::reports::rollup::rebuild(&mut conn, tz)?;
    println!("report rollup rebuilt in time zone {}", tz.name());
    Ok(())
}

/// `wenlv create-admin --phone P`: the password comes from `WENLV_ADMIN_PASSWORD`,
/// else the first line of standard input. An existing admin is left as it is.
pub fn create_admin(settings: &Settings, args: &[String]) -> anyhow::Result<()> {
    let phone_arg = match args {
        [flag, phone] if flag == "--phone" => phone,
        _ => anyhow::bail!("usage: wenlv create-admin --phone <11-digit phone>"),
    };
    let phone = Phone::parse(phone_arg).map_err(|e| anyhow::anyhow!("phone {e}"))?;
    let mut conn = connect(settings)?;
    db::migrations::run_pending(&mut conn)?;
    if let Some(existing) = repo::find_by_phone(&mut conn, phone.as_str())? {
        if existing.role == Role::Admin {
            println!(
                "admin {} already exists (id {}); nothing changed",
                phone.as_str(),
                existing.id
            );
            return Ok(());
        }
        anyhow::bail!(
            "{} is registered as a resident; use another phone for the admin",
            phone.as_str()
        );
    }
    let raw = match std::env::var("WENLV_ADMIN_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let password = Password::parse(&raw).map_err(|e| anyhow::anyhow!("password {e}"))?;
    let hash = PasswordHashing::new(settings.auth.argon2)?.hash_blocking(password.expose())?;
    let user = repo::create_user(&mut conn, phone.as_str(), &hash, "Administrator", Role::Admin)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("created admin {} (id {})", phone.as_str(), user.id);
    Ok(())
}

/// The demo administrator's phone (`wenlv seed-demo`).
pub const DEMO_ADMIN_PHONE: &str = "13800000000";
/// The demo administrator's password unless `WENLV_ADMIN_PASSWORD` names one.
const DEMO_ADMIN_PASSWORD: &str = "wenlv-admin-2026";
/// The one password of every demo resident and merchant owner.
const DEMO_RESIDENT_PASSWORD: &str = "wenlv-demo-2026";

/// `wenlv seed-demo [--small]`: fills an empty database with a Langfang-scale demo
/// (`--small`: a small town of the same shape) and prints how to sign in.
pub fn seed_demo(settings: &Settings, args: &[String]) -> anyhow::Result<()> {
    let size = match args {
        [] => crate::demo::DemoSize::langfang(),
        [flag] if flag == "--small" => crate::demo::DemoSize::small(),
        _ => anyhow::bail!("usage: wenlv seed-demo [--small]"),
    };
    let env = crate::config::environment();
    if crate::config::is_production(&env) {
        anyhow::bail!("seed-demo writes accounts with published passwords; refused in WENLV_ENV={env:?}");
    }
    let admin_password = std::env::var("WENLV_ADMIN_PASSWORD").unwrap_or_else(|_| DEMO_ADMIN_PASSWORD.to_owned());
    Password::parse(&admin_password).map_err(|e| anyhow::anyhow!("WENLV_ADMIN_PASSWORD {e}"))?;
    let mut conn = connect(settings)?;
    db::migrations::run_pending(&mut conn)?;
    eprintln!(
        "seeding {} ...",
        crate::config::redact_database_url(&settings.database.url)
    );
    let options = crate::demo::DemoOptions {
        size,
        admin_phone: DEMO_ADMIN_PHONE.to_owned(),
        admin_password: admin_password.clone(),
        resident_password: DEMO_RESIDENT_PASSWORD.to_owned(),
        quiet: false,
    };
    let summary = crate::demo::seed(&mut conn, settings, &options)?;
    let planted = crate::risk::plant::plant(&mut conn, settings.timezone(), crate::time::now())?;
    crate::risk::repo::refresh(&mut conn, &settings.risk)?;
    println!(
        "demo data written in {:.1} s: {} users, {} merchants, {} offers, {} campaigns ({} batches), {} vouchers, {} orders",
        summary.elapsed.as_secs_f64(),
        summary.users,
        summary.merchants,
        summary.offers,
        summary.campaigns,
        summary.batches,
        summary.vouchers,
        summary.orders
    );
    println!(
        "a drawn lottery: campaign {}, batch {} with {} entries and {} winners (verify it: GET /api/v1/batches/{}/draw), {} orders since the draw",
        summary.lottery.campaign_id,
        summary.lottery.batch_id,
        summary.lottery.entries,
        summary.lottery.winners,
        summary.lottery.batch_id,
        summary.lottery.orders
    );
    println!(
        "planted fraud for the risk queue: threshold gaming at merchant {}, a ring of repeat pairs at {}, a redemption burst at {} ({} orders)",
        planted.threshold_gaming, planted.repeat_pairs, planted.redemption_burst, planted.orders
    );
    println!();
    println!("  administrator: phone {DEMO_ADMIN_PHONE}, password {admin_password}");
    println!(
        "  residents:     phones {} .. {}, password {DEMO_RESIDENT_PASSWORD}",
        summary.first_resident_phone, summary.last_resident_phone
    );
    println!();
    println!(
        "Serve it (`cargo run --release`) and open http://{}:{}/admin",
        settings.server.host, settings.server.port
    );
    Ok(())
}

/// `wenlv close-statements --through YYYY-MM-DD`: closes now every day up to that
/// date that has ended (platform time) and is not closed yet, without waiting for
/// the holding period, and prints how many statements it closed.
pub fn close_statements(settings: &Settings, args: &[String]) -> anyhow::Result<()> {
    let through = match args {
        [flag, day] if flag == "--through" => chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map_err(|_| anyhow::anyhow!("--through takes a date, YYYY-MM-DD"))?,
        _ => anyhow::bail!("usage: wenlv close-statements --through YYYY-MM-DD"),
    };
    let mut conn = connect(settings)?;
    db::migrations::run_pending(&mut conn)?;
    let closed = crate::statements::closer::close_now_through(&mut conn, settings, through)?;
    println!("closed {closed} statement(s) through {through}");
    Ok(())
}

/// `wenlv verify-draw --commitment HEX --seed HEX --entries N --quantity Q`: checks a
/// published seed against its commitment and prints the winning entry numbers, one
/// a line, from public data alone (no database, no configuration). Exits non-zero
/// when the seed does not match.
pub fn verify_draw(args: &[String]) -> anyhow::Result<()> {
    const USAGE: &str = "usage: wenlv verify-draw --commitment HEX --seed HEX --entries N --quantity Q";
    let mut commitment = None;
    let mut seed = None;
    let mut entries = None;
    let mut quantity = None;
    for pair in args.chunks(2) {
        match pair {
            [flag, value] if flag == "--commitment" => commitment = Some(value.to_ascii_lowercase()),
            [flag, value] if flag == "--seed" => seed = Some(value.clone()),
            [flag, value] if flag == "--entries" => entries = value.parse::<i64>().ok().filter(|n| *n >= 0),
            [flag, value] if flag == "--quantity" => quantity = value.parse::<i64>().ok().filter(|n| *n >= 0),
            _ => anyhow::bail!(USAGE),
        }
    }
    let (Some(commitment), Some(seed), Some(entries), Some(quantity)) = (commitment, seed, entries, quantity) else {
        anyhow::bail!(USAGE);
    };
    let seed = crate::lottery::seed::DrawSeed::from_hex(&seed)
        .ok_or_else(|| anyhow::anyhow!("--seed takes 64 hex digits (32 bytes)"))?;
    if seed.commitment() != commitment {
        anyhow::bail!(
            "seed does NOT match the commitment: SHA-256 of the seed is {}",
            seed.commitment()
        );
    }
    println!("seed matches the commitment (SHA-256 of the seed's 32 bytes)");
    println!(
        "algorithm {}; winning entry numbers of {entries} entries for {quantity} prizes, ascending:",
        crate::lottery::rank::ALGORITHM
    );
    for entry_no in crate::lottery::rank::winners(seed.bytes(), entries, quantity) {
        println!("{entry_no}");
    }
    Ok(())
}

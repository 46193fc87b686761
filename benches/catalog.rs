//! Catalog browsing at Langfang scale: 2,035 merchants, 20,000 offers.
//!
//! `cargo bench --bench catalog -- [--engine sqlite|postgres] [--clients 64] [--requests 20000]`
//!
//! Set-up (not timed) writes the data straight into the database. Then C clients
//! browse through the service, a mix of `GET /offers` with filters (category,
//! district, both, merchant, text search) and deep pages, `GET /offers/{id}` and
//! `GET /merchants` with filters; the baseline runs the very same SELECTs (the
//! service's own repo functions) straight against the database from as many
//! threads as the service has pooled connections. Prints both rates, p99, and the
//! ratio (goal: ≥ 0.5 of the direct rate, p99 < 20 ms).

mod common;

use std::sync::Arc;

use common::{drive_direct, drive_http, ms, report, Args, BenchDb};
use diesel::connection::SimpleConnection;
use wenlv::db::DbConnection;
use wenlv::domain::Category;
use wenlv::error::{AppError, Code};
use wenlv::http::{encode_cursor, PageRequest};
use wenlv::merchants::repo::{self as merchant_repo, PublicFilter};
use wenlv::offers::repo::{self as offer_repo, CatalogFilter};

const MERCHANTS: usize = 2_035;
const OFFERS: usize = 20_000;
/// Words in offer titles and merchant names, so searches find something.
const WORDS: &[&str] = &[
    "书店",
    "影城",
    "话剧",
    "博物馆",
    "非遗",
    "剪纸",
    "民宿",
    "温泉",
    "夜游",
    "Ticket",
    "Family",
    "Weekend",
];

/// Every 20th merchant is pending and every 40th suspended; every 25th offer inactive.
fn merchant_status(m: usize) -> &'static str {
    if m % 20 == 7 {
        "pending"
    } else if m % 40 == 13 {
        "suspended"
    } else {
        "approved"
    }
}

fn seed(db: &BenchDb, districts: &[String]) {
    let mut conn = db.connect();
    let at = "2026-11-26 02:00:00";
    let mut sql = format!(
        "INSERT INTO users (phone, password_hash, display_name, role, created_at) \
         VALUES ('13700000000', 'x', 'owner', 'resident', '{at}');"
    );
    let mut rows = Vec::new();
    for m in 0..MERCHANTS {
        let name = format!("{}{m} 号店", WORDS[m % WORDS.len()]);
        let license = wenlv::domain::credit_code::with_check_char(&format!("91131000MA{m:07}")).expect("code");
        rows.push(format!(
            "('{name}', '{license}', '{}', '{}', '地址 {m}', '0316-1234567', '{}', 1, '{}', '{at}')",
            Category::NAMES[m % Category::NAMES.len()],
            districts[(m / Category::NAMES.len()) % districts.len()],
            merchant_status(m),
            name.to_lowercase(),
        ));
    }
    for chunk in rows.chunks(500) {
        sql.push_str(&format!(
            "INSERT INTO merchants (name, license_no, category, district, address, contact_phone, status, \
             owner_id, search_text, created_at) VALUES {};",
            chunk.join(",")
        ));
    }
    let mut rows = Vec::new();
    for o in 0..OFFERS {
        // Offers of one merchant are spread over time, as in life.
        let merchant = (o * 7919) % MERCHANTS + 1;
        let title = format!("{} 套票 {o}", WORDS[(o / 3) % WORDS.len()]);
        let description = format!("适用于 {} 的优惠", WORDS[(o / 5) % WORDS.len()]);
        let status = if o % 25 == 0 { "inactive" } else { "active" };
        rows.push(format!(
            "({merchant}, '{title}', '{description}', {}, NULL, '{status}', '{}', '{at}', '{at}')",
            1000 + o % 50_000,
            wenlv::search::offer_text(&title, &description),
        ));
    }
    for chunk in rows.chunks(1000) {
        sql.push_str(&format!(
            "INSERT INTO offers (merchant_id, title, description, price_fen, stock, status, search_text, \
             created_at, updated_at) VALUES {};",
            chunk.join(",")
        ));
    }
    sql.push_str(match db.engine {
        wenlv::db::Engine::Sqlite => "ANALYZE;",
        wenlv::db::Engine::Postgres => "ANALYZE merchants; ANALYZE offers;",
    });
    conn.batch_execute(&sql).expect("seed");
}

/// One browsing request: its path, and the same SELECT run directly.
#[derive(Clone)]
enum Request {
    Offers(CatalogFilter, PageRequest),
    Offer(i64),
    Merchants(PublicFilter, PageRequest),
}

impl Request {
    fn path(&self) -> String {
        let mut query: Vec<String> = Vec::new();
        let (base, page) = match self {
            Request::Offer(id) => return format!("/api/v1/offers/{id}"),
            Request::Offers(f, page) => {
                if let Some(c) = &f.category {
                    query.push(format!("category={c}"));
                }
                if let Some(d) = &f.district {
                    query.push(format!("district={d}"));
                }
                if let Some(m) = f.merchant_id {
                    query.push(format!("merchant_id={m}"));
                }
                if let Some(q) = &f.q {
                    query.push(format!("q={}", encode(q)));
                }
                ("/api/v1/offers", page)
            }
            Request::Merchants(f, page) => {
                if let Some(c) = &f.category {
                    query.push(format!("category={c}"));
                }
                if let Some(d) = &f.district {
                    query.push(format!("district={d}"));
                }
                if let Some(q) = &f.q {
                    query.push(format!("q={}", encode(q)));
                }
                ("/api/v1/merchants", page)
            }
        };
        query.push(format!("limit={}", page.limit));
        if let Some(after) = page.after {
            query.push(format!("cursor={}", encode_cursor(after)));
        }
        format!("{base}?{}", query.join("&"))
    }

    fn run_direct(&self, conn: &mut DbConnection) -> String {
        let outcome = match self {
            Request::Offers(f, page) => offer_repo::catalog(conn, f, *page).map(|_| ()).map_err(AppError::from),
            Request::Offer(id) => offer_repo::find_visible(conn, *id, None).map(|_| ()),
            Request::Merchants(f, page) => merchant_repo::list_approved(conn, f, *page)
                .map(|_| ())
                .map_err(AppError::from),
        };
        match outcome {
            Ok(()) => "ok",
            // An inactive offer or one of a merchant that is not approved: hidden.
            Err(e) if e.code() == Code::NotFound => "not_found",
            Err(_) => "error",
        }
        .to_owned()
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// How many kinds of request the mix has.
const KINDS: usize = 12;

/// The mix: a deterministic spread over filters, pages and single offers.
fn request(i: usize, districts: &[String]) -> Request {
    let category = || Some(Category::ALL[(i / 13) % Category::ALL.len()]);
    let district = || Some(districts[(i / 7) % districts.len()].clone());
    let word = || Some(WORDS[(i / 11) % WORDS.len()].to_lowercase());
    let first = PageRequest { limit: 20, after: None };
    let deep = PageRequest {
        limit: 20,
        after: Some(((i * 104_729) % OFFERS) as i64 + 1),
    };
    let offers = |f: CatalogFilter, page| Request::Offers(f, page);
    match i % KINDS {
        0 => offers(CatalogFilter::default(), first),
        1 => offers(CatalogFilter::default(), deep),
        2 => offers(
            CatalogFilter {
                category: category(),
                ..Default::default()
            },
            first,
        ),
        3 => offers(
            CatalogFilter {
                district: district(),
                ..Default::default()
            },
            deep,
        ),
        4 => offers(
            CatalogFilter {
                category: category(),
                district: district(),
                ..Default::default()
            },
            first,
        ),
        5 => offers(
            CatalogFilter {
                merchant_id: Some(((i * 31) % MERCHANTS) as i64 + 1),
                ..Default::default()
            },
            first,
        ),
        6 => offers(
            CatalogFilter {
                q: word(),
                ..Default::default()
            },
            first,
        ),
        7 => offers(
            CatalogFilter {
                q: word(),
                category: category(),
                ..Default::default()
            },
            first,
        ),
        8 | 9 => Request::Offer(((i * 7_793) % OFFERS) as i64 + 1),
        10 => Request::Merchants(
            PublicFilter {
                category: category(),
                ..Default::default()
            },
            first,
        ),
        _ => Request::Merchants(
            PublicFilter {
                district: district(),
                q: word(),
                ..Default::default()
            },
            first,
        ),
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let clients: usize = args.get("clients", 64);
    let requests: usize = args.get("requests", 20_000);
    let db = BenchDb::fresh(args.engine());
    let settings = common::settings(&db);
    let connections = settings.database.max_connections as usize;
    let districts = settings.platform.districts.clone();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    println!(
        "catalog benchmark: {:?}, {MERCHANTS} merchants, {OFFERS} offers, {clients} clients, {requests} requests, \
         {connections} pooled connections, {cores} cores",
        db.engine
    );
    let address = common::spawn(settings);
    seed(&db, &districts);

    let mix: Arc<Vec<Request>> = Arc::new((0..requests).map(|i| request(i, &districts)).collect());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients + 8)
        .build()
        .expect("client");
    let run = |jobs: usize| {
        let (client, address, mix) = (client.clone(), address.clone(), mix.clone());
        drive_http(clients, jobs, move |i| {
            let url = format!("{address}{}", mix[i % mix.len()].path());
            let client = client.clone();
            async move {
                match client.get(&url).send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        // Read the whole body: a client does.
                        match r.bytes().await {
                            Ok(_) => status.to_string(),
                            Err(_) => "error".to_owned(),
                        }
                    }
                    Err(_) => "error".to_owned(),
                }
            }
        })
    };
    // Warm-up (not counted): opens the connections, fills the caches.
    run(requests / 10).await;
    let service = run(requests).await;

    let baseline_mix = mix.clone();
    let (baseline, kinds) = tokio::task::spawn_blocking(move || {
        let baseline = drive_direct(&db, connections, requests, |i, conn| baseline_mix[i].run_direct(conn));
        // Where the time goes: each kind of request alone, one connection.
        let kinds: Vec<(usize, f64)> = (0..KINDS)
            .map(|kind| {
                let stats = drive_direct(&db, 1, 100, |i, conn| {
                    baseline_mix[(i * KINDS + kind) % baseline_mix.len()].run_direct(conn)
                });
                (kind, ms(stats.percentile(0.99)))
            })
            .collect();
        (baseline, kinds)
    })
    .await
    .expect("baseline");

    println!();
    report(
        "catalog requests/s: service (HTTP, JSON) vs the same SELECTs run directly",
        &service,
        &baseline,
        0.5,
    );
    let p99 = ms(service.percentile(0.99));
    println!(
        "service p99 {p99:.2} ms (goal < 20 ms: {})",
        if p99 < 20.0 { "met" } else { "NOT met" }
    );
    let per_kind: Vec<String> = kinds.iter().map(|(k, p99)| format!("{k}: {p99:.2}")).collect();
    println!("direct p99 ms by request kind (see `request`): {}", per_kind.join(", "));
    let failures = service.jobs() - service.count("200") - service.count("404");
    assert_eq!(failures, 0, "unexpected answers: {:?}", service.outcomes);
}

//! The demo's data, generated in memory before anything is written: merchants with
//! offers, campaigns with batches, claimed vouchers and a year of orders.
//!
//! Everything is derived from a fixed seed, so two runs make the same city. The
//! generator keeps the invariants of DESIGN.md by construction:
//! - a batch's `remaining` is its quantity less the vouchers claimed from it, and no
//!   resident holds more than `per_user_limit` of a batch (slots 1..=limit);
//! - a voucher is `used` exactly when its order is `paid` or `redeemed`, `locked`
//!   exactly when its order is `pending_payment`; a cancelled order gives it back
//!   (`available`), a refund voids it (or gives it back where the campaign says so);
//! - `reserved_fen` is the batches' face value less the voided vouchers', within the
//!   budget; `payable_fen = gross_fen − subsidy_fen`, and gross meets the min spend;
//! - orders with a voucher fall inside the voucher's life and the campaign's window,
//!   at merchants of the campaign's categories; offer stock is what is left to sell.

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Weekday};
use chrono_tz::Tz;
use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::rows::{Audit, Batch, Campaign, Member, Merchant, Offer, Order, Payment, Voucher};
use crate::domain::credit_code;

/// How big a city to make.
#[derive(Debug, Clone, Copy)]
pub struct DemoSize {
    pub residents: i64,
    pub approved_merchants: usize,
    pub pending_merchants: usize,
    pub rejected_merchants: usize,
    pub orders: usize,
}

impl DemoSize {
    /// Langfang's scale: 2,035 merchants, 250,000 residents, 56,000 orders a year.
    pub fn langfang() -> DemoSize {
        DemoSize {
            residents: 250_000,
            approved_merchants: 2_035,
            pending_merchants: 12,
            rejected_merchants: 3,
            orders: 56_000,
        }
    }

    /// A small town with the same shape, for tests.
    pub fn small() -> DemoSize {
        DemoSize {
            residents: 600,
            approved_merchants: 60,
            pending_merchants: 3,
            rejected_merchants: 1,
            orders: 1_500,
        }
    }
}

/// Where the ids of each kind of user start: the admin is 1, merchant owners follow,
/// then the residents.
pub const ADMIN_ID: i64 = 1;

pub struct Dataset {
    pub owner_ids: std::ops::Range<i64>,
    pub resident_ids: std::ops::Range<i64>,
    pub users_created_at: NaiveDateTime,
    pub merchants: Vec<Merchant>,
    pub members: Vec<Member>,
    pub offers: Vec<Offer>,
    pub campaigns: Vec<Campaign>,
    pub batches: Vec<Batch>,
    pub vouchers: Vec<Voucher>,
    pub orders: Vec<Order>,
    pub payments: Vec<Payment>,
    pub audits: Vec<Audit>,
}

impl Dataset {
    /// Rows to write, for the progress bar.
    pub fn row_count(&self) -> u64 {
        let users = 1 + (self.owner_ids.end - self.owner_ids.start) + (self.resident_ids.end - self.resident_ids.start);
        (users as usize
            + self.merchants.len()
            + self.members.len()
            + self.offers.len()
            + self.campaigns.len()
            + self.batches.len()
            + self.vouchers.len()
            + self.orders.len()
            + self.payments.len()
            + self.audits.len()) as u64
    }
}

struct CategoryStyle {
    category: &'static str,
    weight: u32,
    nouns: &'static [&'static str],
    offers: &'static [&'static str],
    /// Price range in yuan.
    price: (i64, i64),
}

const STYLES: &[CategoryStyle] = &[
    CategoryStyle {
        category: "bookstore",
        weight: 12,
        nouns: &["书店", "书局", "书房", "阅读空间"],
        offers: &[
            "文学经典套装",
            "儿童绘本礼盒",
            "历史读物精选",
            "畅销小说",
            "阅读年卡",
            "文具礼包",
            "咖啡阅读套餐",
        ],
        price: (30, 260),
    },
    CategoryStyle {
        category: "cinema",
        weight: 6,
        nouns: &["影城", "电影院", "国际影城"],
        offers: &[
            "2D 电影票",
            "3D 电影票",
            "IMAX 电影票",
            "双人观影套餐",
            "家庭观影套餐",
            "爆米花可乐套餐",
        ],
        price: (35, 160),
    },
    CategoryStyle {
        category: "performance",
        weight: 6,
        nouns: &["剧场", "大剧院", "演艺中心", "音乐厅"],
        offers: &[
            "话剧门票",
            "音乐会门票",
            "相声专场",
            "儿童剧门票",
            "评剧专场",
            "舞剧门票",
        ],
        price: (80, 680),
    },
    CategoryStyle {
        category: "scenic_spot",
        weight: 8,
        nouns: &["景区", "生态园", "湿地公园", "古镇"],
        offers: &["成人门票", "家庭套票", "夜游票", "年卡", "观光车票", "研学一日游"],
        price: (40, 300),
    },
    CategoryStyle {
        category: "museum",
        weight: 4,
        nouns: &["博物馆", "美术馆", "纪念馆", "艺术馆"],
        offers: &["特展门票", "讲解服务", "文物修复体验", "亲子研学课", "馆藏图录"],
        price: (20, 120),
    },
    CategoryStyle {
        category: "cultural_creative",
        weight: 12,
        nouns: &["文创店", "创意工坊", "设计馆", "礼品店"],
        offers: &[
            "城市主题明信片",
            "文创帆布包",
            "景泰蓝书签",
            "定制茶具",
            "非遗香囊",
            "城市手绘地图",
        ],
        price: (30, 480),
    },
    CategoryStyle {
        category: "heritage_craft",
        weight: 6,
        nouns: &["非遗工坊", "手作坊", "传习所"],
        offers: &[
            "景泰蓝掐丝体验",
            "花丝镶嵌课",
            "剪纸体验",
            "内画鼻烟壶体验",
            "扎染体验",
            "木版年画拓印",
        ],
        price: (60, 600),
    },
    CategoryStyle {
        category: "dining",
        weight: 22,
        nouns: &["餐厅", "食府", "小馆", "酒楼"],
        offers: &[
            "双人套餐",
            "四人家庭餐",
            "特色烤鸭",
            "驴肉火烧套餐",
            "下午茶",
            "商务午餐",
        ],
        price: (60, 520),
    },
    CategoryStyle {
        category: "lodging",
        weight: 12,
        nouns: &["酒店", "民宿", "度假村", "客栈"],
        offers: &["标准间一晚", "大床房一晚", "家庭房一晚", "温泉套房", "周末度假套餐"],
        price: (220, 1200),
    },
    CategoryStyle {
        category: "sports",
        weight: 6,
        nouns: &["体育馆", "健身中心", "滑雪场", "游泳馆"],
        offers: &["游泳次卡", "羽毛球场地", "健身月卡", "滑雪半日票", "攀岩体验"],
        price: (30, 400),
    },
    CategoryStyle {
        category: "other",
        weight: 6,
        nouns: &["文化中心", "艺术空间", "研学基地"],
        offers: &["手工课", "书法体验课", "研学活动", "讲座门票"],
        price: (20, 200),
    },
];

const BRANDS: &[&str] = &[
    "墨香", "文渊", "和合", "丰华", "启明", "拾光", "燕南", "潮白", "运河", "永定", "京津", "龙河", "荣盛", "书韵",
    "星河", "锦绣", "长乐", "云起", "青禾", "北辰", "瑞祥", "知行", "时光", "半亩", "松风", "明月", "百家", "新华",
    "兰亭", "东篱", "万象", "嘉禾",
];

fn district_label(key: &str) -> &str {
    match key {
        "guangyang" => "广阳",
        "anci" => "安次",
        "development_zone" => "开发区",
        "sanhe" => "三河",
        "bazhou" => "霸州",
        "xianghe" => "香河",
        "dachang" => "大厂",
        "guan" => "固安",
        "yongqing" => "永清",
        "wenan" => "文安",
        "dacheng" => "大城",
        other => other,
    }
}

/// Rough population weights of Langfang's districts; other names weigh 5.
fn district_weight(key: &str) -> u32 {
    match key {
        "sanhe" => 18,
        "guangyang" => 14,
        "anci" => 10,
        "bazhou" => 10,
        "guan" => 9,
        "development_zone" => 8,
        "xianghe" => 7,
        "wenan" => 7,
        "yongqing" => 5,
        "dacheng" => 5,
        "dachang" => 4,
        _ => 5,
    }
}

struct BatchSpec {
    name: &'static str,
    discount_yuan: i64,
    min_spend_yuan: i64,
    per_user_limit: i64,
    valid_days: i64,
    /// Claim window, in days after the campaign starts.
    claim_from: i64,
    claim_to: i64,
    /// True: exactly as many vouchers as were claimed (the batch sold out).
    sells_out: bool,
}

struct CampaignSpec {
    name: &'static str,
    description: &'static str,
    categories: &'static [&'static str],
    status: &'static str,
    /// Window, in days from now.
    starts: i64,
    ends: i64,
    refund_returns_voucher: bool,
    /// Percent of the orders that use this campaign's vouchers.
    share: usize,
    batches: &'static [BatchSpec],
}

const CAMPAIGNS: &[CampaignSpec] = &[
    CampaignSpec {
        name: "春季书香消费券",
        description: "全民阅读月：全市书店与文创店满额立减。",
        categories: &["bookstore", "cultural_creative"],
        status: "ended",
        starts: -330,
        ends: -240,
        refund_returns_voucher: false,
        share: 22,
        batches: &[
            BatchSpec {
                name: "满100减30",
                discount_yuan: 30,
                min_spend_yuan: 100,
                per_user_limit: 1,
                valid_days: 30,
                claim_from: 0,
                claim_to: 45,
                sells_out: true,
            },
            BatchSpec {
                name: "满50减15",
                discount_yuan: 15,
                min_spend_yuan: 50,
                per_user_limit: 2,
                valid_days: 30,
                claim_from: 30,
                claim_to: 85,
                sells_out: false,
            },
        ],
    },
    CampaignSpec {
        name: "惠民观演季（影院·演出）",
        description: "电影与现场演出消费券，暑期加码。",
        categories: &["cinema", "performance"],
        status: "active",
        starts: -200,
        ends: 40,
        refund_returns_voucher: true,
        share: 26,
        batches: &[
            BatchSpec {
                name: "观影券 满60减20",
                discount_yuan: 20,
                min_spend_yuan: 60,
                per_user_limit: 2,
                valid_days: 14,
                claim_from: 0,
                claim_to: 235,
                sells_out: false,
            },
            BatchSpec {
                name: "演出券 满200减50",
                discount_yuan: 50,
                min_spend_yuan: 200,
                per_user_limit: 1,
                valid_days: 30,
                claim_from: 10,
                claim_to: 235,
                sells_out: false,
            },
            BatchSpec {
                name: "暑期加码 满100减30",
                discount_yuan: 30,
                min_spend_yuan: 100,
                per_user_limit: 1,
                valid_days: 14,
                claim_from: 40,
                claim_to: 100,
                sells_out: false,
            },
        ],
    },
    CampaignSpec {
        name: "金秋文旅·景区畅游",
        description: "景区、博物馆与非遗工坊消费券。",
        categories: &["scenic_spot", "museum", "heritage_craft"],
        status: "active",
        starts: -95,
        ends: 45,
        refund_returns_voucher: false,
        share: 18,
        batches: &[
            BatchSpec {
                name: "景区券 满200减40",
                discount_yuan: 40,
                min_spend_yuan: 200,
                per_user_limit: 1,
                valid_days: 30,
                claim_from: 0,
                claim_to: 130,
                sells_out: false,
            },
            BatchSpec {
                name: "博物馆·非遗 满80减20",
                discount_yuan: 20,
                min_spend_yuan: 80,
                per_user_limit: 2,
                valid_days: 30,
                claim_from: 0,
                claim_to: 130,
                sells_out: false,
            },
        ],
    },
    CampaignSpec {
        name: "全城文旅消费券",
        description: "全品类通用，每月一期。",
        categories: &[],
        status: "active",
        starts: -150,
        ends: 30,
        refund_returns_voucher: false,
        share: 16,
        batches: &[
            BatchSpec {
                name: "第一期 满500减50",
                discount_yuan: 50,
                min_spend_yuan: 500,
                per_user_limit: 1,
                valid_days: 21,
                claim_from: 0,
                claim_to: 20,
                sells_out: false,
            },
            BatchSpec {
                name: "第二期 满500减50",
                discount_yuan: 50,
                min_spend_yuan: 500,
                per_user_limit: 1,
                valid_days: 21,
                claim_from: 60,
                claim_to: 80,
                sells_out: false,
            },
            BatchSpec {
                name: "第三期 满500减50",
                discount_yuan: 50,
                min_spend_yuan: 500,
                per_user_limit: 1,
                valid_days: 21,
                claim_from: 120,
                claim_to: 140,
                sells_out: false,
            },
        ],
    },
    CampaignSpec {
        name: "新春文旅消费季（筹备中）",
        description: "下一季的草稿：批次已设好，尚未发布。",
        categories: &[],
        status: "draft",
        starts: 50,
        ends: 110,
        refund_returns_voucher: false,
        share: 0,
        batches: &[BatchSpec {
            name: "新春券 满200减50",
            discount_yuan: 50,
            min_spend_yuan: 200,
            per_user_limit: 1,
            valid_days: 30,
            claim_from: 0,
            claim_to: 60,
            sells_out: false,
        }],
    },
];

/// Share of orders without a voucher, in percent (what merchant-wide leverage sees).
const PLAIN_ORDER_SHARE: usize = 100 - 22 - 26 - 18 - 16;

/// A bijection on 0..10^12 (the multiplier is prime, not 2 or 5): distinct ids give
/// distinct, unsequential-looking 12-digit codes.
fn scramble(id: i64, multiplier: i64, offset: i64) -> String {
    let m: i128 = 1_000_000_000_000;
    format!(
        "{:012}",
        ((id as i128 * multiplier as i128 + offset as i128) % m + m) % m
    )
}

struct Clock {
    now: NaiveDateTime,
    tz: Tz,
}

impl Clock {
    fn days(&self, d: i64) -> NaiveDateTime {
        self.now + Duration::days(d)
    }

    /// The local calendar day of a UTC instant.
    fn local_day(&self, t: NaiveDateTime) -> NaiveDate {
        self.tz.from_utc_datetime(&t).date_naive()
    }

    /// A local day and minute of day, as UTC.
    fn at(&self, day: NaiveDate, minute: i64) -> Option<NaiveDateTime> {
        let local = day.and_hms_opt(0, 0, 0)? + Duration::minutes(minute);
        self.tz.from_local_datetime(&local).earliest().map(|t| t.naive_utc())
    }
}

fn is_weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A shopping minute of the day: 09:30–21:30, busiest in the afternoon and evening.
fn shopping_minute(rng: &mut StdRng) -> i64 {
    let a: i64 = rng.gen_range(570..1290);
    let b: i64 = rng.gen_range(780..1290);
    if rng.gen_bool(0.5) {
        a
    } else {
        b
    }
}

struct MerchantPick {
    id: i64,
    category: &'static str,
    /// Indexes into `offers` of this merchant's active offers.
    offers: Vec<usize>,
}

/// Makes the whole dataset. `payment_timeout` is how long the few orders left
/// waiting for payment have before the service's sweeper cancels them.
pub fn generate(
    size: DemoSize,
    districts: &[String],
    tz: Tz,
    now: NaiveDateTime,
    payment_timeout: Duration,
    seed: u64,
) -> anyhow::Result<Dataset> {
    let mut rng = StdRng::seed_from_u64(seed);
    let clock = Clock { now, tz };
    let districts: Vec<String> = if districts.is_empty() {
        vec!["guangyang".to_owned()]
    } else {
        districts.to_vec()
    };
    let district_pick = WeightedIndex::new(districts.iter().map(|d| district_weight(d)))?;
    let style_pick = WeightedIndex::new(STYLES.iter().map(|s| s.weight))?;

    let merchant_total = size.approved_merchants + size.pending_merchants + size.rejected_merchants;
    let owner_ids = (ADMIN_ID + 1)..(ADMIN_ID + 1 + merchant_total as i64);
    let resident_ids = owner_ids.end..(owner_ids.end + size.residents);
    let users_created_at = clock.days(-400);

    let mut audits_unsorted: Vec<Audit> = Vec::new();

    // ---- merchants and their offers
    let mut merchants = Vec::with_capacity(merchant_total);
    let mut members = Vec::with_capacity(merchant_total);
    let mut offers: Vec<Offer> = Vec::new();
    let mut picks: Vec<MerchantPick> = Vec::new();
    let mut name_counts: HashMap<String, usize> = HashMap::new();
    for i in 0..merchant_total {
        let id = i as i64 + 1;
        let owner_id = owner_ids.start + i as i64;
        let style = &STYLES[style_pick.sample(&mut rng)];
        let district = &districts[district_pick.sample(&mut rng)];
        let status = if i < size.approved_merchants {
            "approved"
        } else if i < size.approved_merchants + size.pending_merchants {
            "pending"
        } else {
            "rejected"
        };
        let base = format!(
            "{}{}{}",
            district_label(district),
            BRANDS.choose(&mut rng).unwrap_or(&"文旅"),
            style.nouns.choose(&mut rng).unwrap_or(&"商户")
        );
        let seen = name_counts.entry(base.clone()).or_insert(0);
        *seen += 1;
        let name = if *seen == 1 {
            base
        } else {
            format!("{base}（{}店）", seen)
        };
        let created_at = if status == "pending" {
            // The review queue is oldest first: later ids applied later.
            clock.days(-5)
                + Duration::hours(8 * (i - size.approved_merchants) as i64)
                + Duration::minutes(rng.gen_range(0..400))
        } else {
            clock.days(-390) + Duration::minutes(rng.gen_range(0..20_000))
        };
        let license_no = credit_code::with_check_char(&format!("91131000MA{:07}", id)).unwrap_or_default();
        let review_note = (status == "rejected").then(|| "营业执照经营范围与申报类别不符".to_owned());
        if status != "pending" {
            audits_unsorted.push(Audit {
                id: 0,
                actor_id: ADMIN_ID,
                action: if status == "approved" {
                    "merchant.approve"
                } else {
                    "merchant.reject"
                },
                target_type: "merchant",
                target_id: id,
                reason: review_note.clone(),
                created_at: created_at + Duration::hours(rng.gen_range(2..72)),
            });
        }
        merchants.push(Merchant {
            id,
            search_text: name.to_lowercase(),
            name,
            license_no,
            category: style.category,
            district: district.clone(),
            address: format!(
                "廊坊市{}{}路{}号",
                district_label(district),
                ["新华", "和平", "光明", "银河", "永兴", "建设", "金光", "艺术"]
                    .choose(&mut rng)
                    .unwrap_or(&"新华"),
                rng.gen_range(1..400)
            ),
            contact_phone: format!("0316-{}", rng.gen_range(2_000_000..9_000_000)),
            status,
            review_note,
            owner_id,
            created_at,
        });
        members.push(Member {
            merchant_id: id,
            user_id: owner_id,
            role: "owner",
            created_at,
        });
        if status != "approved" {
            continue;
        }
        let mut pick = MerchantPick {
            id,
            category: style.category,
            offers: Vec::new(),
        };
        let count = rng.gen_range(5..=15);
        let offer_created = created_at + Duration::days(4);
        for k in 0..count {
            let title = format!(
                "{}{}",
                style.offers.choose(&mut rng).unwrap_or(&"体验券"),
                if k >= style.offers.len() {
                    format!(" · {}号", k + 1)
                } else {
                    String::new()
                }
            );
            let description = format!("{}，到店出示核销码使用。", merchants[i].name);
            // Prices end in 0 or 8 yuan, as shops price.
            let yuan = rng.gen_range(style.price.0..=style.price.1) / 10 * 10 + if rng.gen_bool(0.3) { 8 } else { 0 };
            let active = k == 0 || rng.gen_bool(0.95);
            let stock = rng.gen_bool(0.15).then(|| rng.gen_range(20..500));
            if active {
                pick.offers.push(offers.len());
            }
            offers.push(Offer {
                id: offers.len() as i64 + 1,
                merchant_id: id,
                search_text: format!("{title} {description}").to_lowercase(),
                title,
                description,
                price_fen: yuan.max(1) * 100,
                stock,
                status: if active { "active" } else { "inactive" },
                created_at: offer_created,
                updated_at: offer_created,
            });
        }
        picks.push(pick);
    }
    // Popularity: a few merchants sell a lot, most a little.
    let mut popularity: Vec<f64> = (1..=picks.len())
        .map(|rank| 1.0 / ((rank + 5) as f64).powf(0.7))
        .collect();
    popularity.shuffle(&mut rng);

    // ---- campaigns, batches, claims
    let voucher_orders_total = size.orders * (100 - PLAIN_ORDER_SHARE) / 100;
    let mut campaigns = Vec::new();
    let mut batches = Vec::new();
    struct Claim {
        batch: usize,
        user_id: i64,
        slot: i64,
        claimed_at: NaiveDateTime,
        expires_at: NaiveDateTime,
        /// The order made with it, as an index into `orders_unsorted`.
        order: Option<usize>,
    }
    let mut claims: Vec<Claim> = Vec::new();
    let mut held: HashMap<(usize, i64), i64> = HashMap::new();
    for (c, spec) in CAMPAIGNS.iter().enumerate() {
        let campaign_id = c as i64 + 1;
        let starts_at = clock
            .at(clock.local_day(clock.days(spec.starts)), 0)
            .unwrap_or(clock.days(spec.starts));
        let ends_at = clock
            .at(clock.local_day(clock.days(spec.ends)), 0)
            .unwrap_or(clock.days(spec.ends));
        let created_at = (starts_at - Duration::days(14)).min(now - Duration::days(2));
        let orders_here = voucher_orders_total * spec.share / 100;
        // About 62% of claimed vouchers get used.
        let claims_here = orders_here * 100 / 62;
        let per_batch = claims_here / spec.batches.len().max(1);
        let mut face_value = 0;
        audits_unsorted.push(Audit {
            id: 0,
            actor_id: ADMIN_ID,
            action: "campaign.create",
            target_type: "campaign",
            target_id: campaign_id,
            reason: None,
            created_at,
        });
        if spec.status != "draft" {
            audits_unsorted.push(Audit {
                id: 0,
                actor_id: ADMIN_ID,
                action: "campaign.publish",
                target_type: "campaign",
                target_id: campaign_id,
                reason: None,
                created_at: starts_at - Duration::days(1),
            });
        }
        if spec.status == "ended" {
            audits_unsorted.push(Audit {
                id: 0,
                actor_id: ADMIN_ID,
                action: "campaign.end",
                target_type: "campaign",
                target_id: campaign_id,
                reason: Some("活动期满".to_owned()),
                created_at: ends_at,
            });
        }
        for b in spec.batches {
            let batch_index = batches.len();
            let claim_starts_at = starts_at + Duration::days(b.claim_from);
            let claim_ends_at = (starts_at + Duration::days(b.claim_to)).min(ends_at);
            let wanted = if spec.status == "draft" { 0 } else { per_batch };
            // Claims happen from the window's start until it closes or until now.
            let claim_until = claim_ends_at.min(now - Duration::hours(1));
            let mut made = 0i64;
            if claim_until > claim_starts_at {
                let span = (claim_until - claim_starts_at).num_minutes().max(1);
                for _ in 0..wanted {
                    // A rush in the first days after a release, then a steady trickle.
                    let minute = if rng.gen_bool(0.4) {
                        rng.gen_range(0..span.min(3 * 1440))
                    } else {
                        rng.gen_range(0..span)
                    };
                    let claimed_at =
                        claim_starts_at + Duration::minutes(minute) + Duration::seconds(rng.gen_range(0..60));
                    // A resident who still may claim from this batch.
                    let mut found = None;
                    for _ in 0..20 {
                        let user_id = rng.gen_range(resident_ids.clone());
                        let slot = held.get(&(batch_index, user_id)).copied().unwrap_or(0) + 1;
                        if slot <= b.per_user_limit {
                            found = Some((user_id, slot));
                            break;
                        }
                    }
                    let Some((user_id, slot)) = found else { continue };
                    held.insert((batch_index, user_id), slot);
                    claims.push(Claim {
                        batch: batch_index,
                        user_id,
                        slot,
                        claimed_at,
                        expires_at: (claimed_at + Duration::days(b.valid_days)).min(ends_at),
                        order: None,
                    });
                    made += 1;
                }
            }
            let quantity = if b.sells_out && made > 0 {
                made
            } else {
                ((made + made / 4) / 100 + 1) * 100
            };
            let discount_fen = b.discount_yuan * 100;
            face_value += discount_fen * quantity;
            batches.push(Batch {
                id: batch_index as i64 + 1,
                campaign_id,
                name: b.name.to_owned(),
                discount_fen,
                min_spend_fen: b.min_spend_yuan * 100,
                quantity,
                remaining: quantity - made,
                per_user_limit: b.per_user_limit,
                claim_starts_at,
                claim_ends_at,
                valid_days: b.valid_days,
                created_at: created_at + Duration::hours(1),
            });
            audits_unsorted.push(Audit {
                id: 0,
                actor_id: ADMIN_ID,
                action: "batch.create",
                target_type: "batch",
                target_id: batch_index as i64 + 1,
                reason: None,
                created_at: created_at + Duration::hours(1),
            });
        }
        // Budgets are round sums a little above what the batches reserve.
        let budget_fen = ((face_value * 6 / 5) / 1_000_000 + 1) * 1_000_000;
        campaigns.push(Campaign {
            id: campaign_id,
            name: spec.name.to_owned(),
            description: spec.description.to_owned(),
            status: spec.status,
            budget_fen,
            reserved_fen: face_value,
            target_leverage: 10.0,
            starts_at,
            ends_at,
            eligible_categories: spec.categories.join(","),
            eligible_districts: String::new(),
            require_real_name: false,
            refund_returns_voucher: spec.refund_returns_voucher,
            created_by: ADMIN_ID,
            created_at,
        });
    }

    // Merchants each campaign's vouchers may be spent at, with their popularity.
    let eligible: Vec<Option<WeightedIndex<f64>>> = CAMPAIGNS
        .iter()
        .map(|spec| {
            let weights = picks.iter().zip(&popularity).map(|(p, w)| {
                if spec.categories.is_empty() || spec.categories.contains(&p.category) {
                    *w
                } else {
                    0.0
                }
            });
            WeightedIndex::new(weights).ok()
        })
        .collect();
    let everyone = WeightedIndex::new(popularity.iter().copied()).ok();

    // ---- orders
    struct Draft {
        user_id: i64,
        merchant: usize,
        offer: usize,
        quantity: i64,
        claim: Option<usize>,
        created_at: NaiveDateTime,
        status: &'static str,
        paid_at: Option<NaiveDateTime>,
        redeemed_at: Option<NaiveDateTime>,
        cancelled_at: Option<NaiveDateTime>,
        refunded_at: Option<NaiveDateTime>,
    }
    let mut drafts: Vec<Draft> = Vec::new();
    let latest = now - Duration::minutes(30);

    // Lifecycle after creation: most are paid and redeemed, some refunded or cancelled.
    let settle = |rng: &mut StdRng, created_at: NaiveDateTime| {
        let roll: f64 = rng.gen();
        let paid_at = created_at + Duration::seconds(rng.gen_range(20..600));
        if roll < 0.04 {
            let cancelled = created_at + Duration::seconds(rng.gen_range(60..900));
            return ("cancelled", None, None, Some(cancelled.min(now)), None);
        }
        if roll < 0.10 {
            let refunded = (paid_at + Duration::minutes(rng.gen_range(30..4000))).min(now);
            return ("refunded", Some(paid_at), None, None, Some(refunded));
        }
        let redeemed = paid_at + Duration::minutes(rng.gen_range(10..(5 * 1440)));
        if redeemed < now && rng.gen_bool(0.93) {
            ("redeemed", Some(paid_at), Some(redeemed), None, None)
        } else {
            ("paid", Some(paid_at), None, None, None)
        }
    };

    // Claims in time order, so each campaign's vouchers are spent in a believable way.
    claims.sort_by_key(|c| c.claimed_at);
    let mut voucher_orders_by_campaign: Vec<usize> = vec![0; CAMPAIGNS.len()];
    let mut order_claims: Vec<usize> = (0..claims.len()).collect();
    order_claims.shuffle(&mut rng);
    for ci in order_claims {
        let campaign_index = (batches[claims[ci].batch].campaign_id - 1) as usize;
        let spec = &CAMPAIGNS[campaign_index];
        let target = voucher_orders_total * spec.share / 100;
        if voucher_orders_by_campaign[campaign_index] >= target {
            continue;
        }
        let Some(merchants_here) = &eligible[campaign_index] else {
            continue;
        };
        let (user_id, claimed_at, expires_at) = (claims[ci].user_id, claims[ci].claimed_at, claims[ci].expires_at);
        let min_spend_fen = batches[claims[ci].batch].min_spend_fen;
        // Most vouchers are spent within days; weekends pull purchases forward.
        let life_days = (expires_at - claimed_at).num_days().max(1);
        let delay: f64 = rng.gen::<f64>().powi(2) * life_days as f64;
        let mut day = clock.local_day(claimed_at + Duration::minutes((delay * 1440.0) as i64));
        if !is_weekend(day) && rng.gen_bool(0.3) {
            let to_saturday = (6 - day.weekday().number_from_monday() as i64).max(0);
            day += Duration::days(to_saturday + rng.gen_range(0..2));
        }
        let Some(mut created_at) = clock.at(day, shopping_minute(&mut rng)) else {
            continue;
        };
        if created_at <= claimed_at {
            created_at = claimed_at + Duration::minutes(rng.gen_range(5..180));
        }
        // Bought and paid while the voucher and the campaign are good.
        let deadline = expires_at.min(latest) - Duration::minutes(20);
        if created_at > deadline {
            // Past the voucher's life (or in the future): any time within it instead.
            let span = (deadline - claimed_at).num_minutes();
            if span < 10 {
                continue;
            }
            created_at = claimed_at + Duration::minutes(rng.gen_range(5..span));
        }
        // An offer whose price times a small quantity meets the min spend.
        let mut chosen = None;
        for _ in 0..30 {
            let m = merchants_here.sample(&mut rng);
            let Some(&offer) = picks[m].offers.choose(&mut rng) else {
                continue;
            };
            let price = offers[offer].price_fen;
            // Residents spend a little over the threshold, so most baskets land
            // just above the min spend; pricier items are bought less often.
            if price > min_spend_fen * 6 / 5 && !rng.gen_bool(0.2) {
                continue;
            }
            let need = ((min_spend_fen + price - 1) / price).max(1);
            if need <= 6 {
                let extra = if rng.gen_bool(0.15) { 1 } else { 0 };
                chosen = Some((m, offer, need + extra));
                break;
            }
        }
        let Some((merchant, offer, quantity)) = chosen else {
            continue;
        };
        let (status, paid_at, redeemed_at, cancelled_at, refunded_at) = settle(&mut rng, created_at);
        claims[ci].order = Some(drafts.len());
        drafts.push(Draft {
            user_id,
            merchant,
            offer,
            quantity,
            claim: Some(ci),
            created_at,
            status,
            paid_at,
            redeemed_at,
            cancelled_at,
            refunded_at,
        });
        voucher_orders_by_campaign[campaign_index] += 1;
    }

    // A few orders waiting for payment right now, with vouchers still good.
    let pending_wanted = (size.orders / 5000).clamp(2, 12);
    let mut pending_made = 0;
    for ci in 0..claims.len() {
        if pending_made >= pending_wanted {
            break;
        }
        let campaign_index = (batches[claims[ci].batch].campaign_id - 1) as usize;
        if claims[ci].order.is_some()
            || CAMPAIGNS[campaign_index].status != "active"
            || claims[ci].expires_at < now + Duration::hours(2)
        {
            continue;
        }
        let Some(merchants_here) = &eligible[campaign_index] else {
            continue;
        };
        let m = merchants_here.sample(&mut rng);
        let Some(&offer) = picks[m].offers.choose(&mut rng) else {
            continue;
        };
        let price = offers[offer].price_fen;
        let quantity = ((batches[claims[ci].batch].min_spend_fen + price - 1) / price).max(1);
        if quantity > 99 {
            continue;
        }
        claims[ci].order = Some(drafts.len());
        drafts.push(Draft {
            user_id: claims[ci].user_id,
            merchant: m,
            offer,
            quantity,
            claim: Some(ci),
            created_at: now - Duration::minutes(rng.gen_range(1..10)),
            status: "pending_payment",
            paid_at: None,
            redeemed_at: None,
            cancelled_at: None,
            refunded_at: None,
        });
        pending_made += 1;
    }

    // Orders without a voucher, all year round, busier at weekends and in holidays.
    if let Some(everyone) = &everyone {
        let plain = size.orders.saturating_sub(drafts.len());
        let first_day = clock.local_day(clock.days(-365));
        let mut made = 0;
        while made < plain {
            let day = first_day + Duration::days(rng.gen_range(0..365));
            let season = match day.month() {
                7 | 8 => 1.3,
                10 => 1.35,
                1 | 2 => 1.15,
                _ => 1.0,
            };
            let weight = if is_weekend(day) { 1.8 } else { 1.0 } * season;
            if rng.gen::<f64>() * 2.5 > weight {
                continue;
            }
            let Some(created_at) = clock.at(day, shopping_minute(&mut rng)) else {
                continue;
            };
            if created_at > latest {
                continue;
            }
            let m = everyone.sample(&mut rng);
            let Some(&offer) = picks[m].offers.choose(&mut rng) else {
                continue;
            };
            let (status, paid_at, redeemed_at, cancelled_at, refunded_at) = settle(&mut rng, created_at);
            drafts.push(Draft {
                user_id: rng.gen_range(resident_ids.clone()),
                merchant: m,
                offer,
                quantity: if rng.gen_bool(0.7) { 1 } else { rng.gen_range(2..=4) },
                claim: None,
                created_at,
                status,
                paid_at,
                redeemed_at,
                cancelled_at,
                refunded_at,
            });
            made += 1;
        }
    }

    // ---- ids in time order (claims are sorted already), then the vouchers' final states
    let mut draft_order: Vec<usize> = (0..drafts.len()).collect();
    draft_order.sort_by_key(|&d| drafts[d].created_at);
    let mut order_id_of = vec![0i64; drafts.len()];
    for (position, &d) in draft_order.iter().enumerate() {
        order_id_of[d] = position as i64 + 1;
    }

    let mut vouchers: Vec<Voucher> = Vec::with_capacity(claims.len());
    for (ci, claim) in claims.iter().enumerate() {
        let batch = &batches[claim.batch];
        let id = ci as i64 + 1;
        let campaign = &campaigns[(batch.campaign_id - 1) as usize];
        let (status, order_id) = match claim.order {
            None => ("available", None),
            Some(d) => match drafts[d].status {
                "pending_payment" => ("locked", Some(order_id_of[d])),
                "paid" | "redeemed" => ("used", Some(order_id_of[d])),
                "refunded" if campaign.refund_returns_voucher && claim.expires_at > now => ("available", None),
                "refunded" => ("void", Some(order_id_of[d])),
                _ => ("available", None),
            },
        };
        vouchers.push(Voucher {
            id,
            code: scramble(id, 982_451_653, 4_321),
            batch_id: batch.id,
            campaign_id: batch.campaign_id,
            user_id: claim.user_id,
            slot: claim.slot,
            discount_fen: batch.discount_fen,
            min_spend_fen: batch.min_spend_fen,
            status,
            claimed_at: claim.claimed_at,
            expires_at: claim.expires_at,
            order_id,
        });
    }
    // A voided voucher's face value goes back to its campaign's unreserved budget.
    for v in vouchers.iter().filter(|v| v.status == "void") {
        campaigns[(v.campaign_id - 1) as usize].reserved_fen -= v.discount_fen;
    }

    let mut orders = Vec::with_capacity(drafts.len());
    let mut payments = Vec::new();
    for &d in &draft_order {
        let draft = &drafts[d];
        let id = order_id_of[d];
        let offer = &offers[draft.offer];
        let gross_fen = offer.price_fen * draft.quantity;
        let voucher = draft.claim.map(|ci| &vouchers[ci]);
        let subsidy_fen = voucher.map(|v| v.discount_fen).unwrap_or(0);
        if let Some(paid_at) = draft.paid_at {
            payments.push(Payment {
                id: payments.len() as i64 + 1,
                order_id: id,
                provider: "sandbox",
                reference: format!("demo-pay-{id}"),
                amount_fen: gross_fen - subsidy_fen,
                kind: "payment",
                status: "succeeded",
                created_at: paid_at - Duration::seconds(5),
                confirmed_at: Some(paid_at),
            });
        }
        if let Some(refunded_at) = draft.refunded_at {
            payments.push(Payment {
                id: payments.len() as i64 + 1,
                order_id: id,
                provider: "sandbox",
                reference: format!("demo-refund-{id}"),
                amount_fen: gross_fen - subsidy_fen,
                kind: "refund",
                status: "succeeded",
                created_at: refunded_at,
                confirmed_at: Some(refunded_at),
            });
        }
        orders.push(Order {
            id,
            user_id: draft.user_id,
            merchant_id: picks[draft.merchant].id,
            offer_id: offer.id,
            quantity: draft.quantity,
            voucher_id: voucher.map(|v| v.id),
            campaign_id: voucher.map(|v| v.campaign_id),
            gross_fen,
            subsidy_fen,
            payable_fen: gross_fen - subsidy_fen,
            status: draft.status,
            redemption_code: draft.paid_at.map(|_| scramble(id, 735_632_791, 900_000_000_007)),
            created_at: draft.created_at,
            payment_due_at: draft.created_at + payment_timeout,
            paid_at: draft.paid_at,
            redeemed_at: draft.redeemed_at,
            cancelled_at: draft.cancelled_at,
            refunded_at: draft.refunded_at,
        });
    }

    let mut audits = audits_unsorted;
    audits.sort_by_key(|a| a.created_at);
    for (i, a) in audits.iter_mut().enumerate() {
        a.id = i as i64 + 1;
    }

    Ok(Dataset {
        owner_ids,
        resident_ids,
        users_created_at,
        merchants,
        members,
        offers,
        campaigns,
        batches,
        vouchers,
        orders,
        payments,
        audits,
    })
}

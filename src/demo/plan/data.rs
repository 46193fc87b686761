//! The demo's tables: what its city is made of (categories with their shop nouns,
//! offers and price ranges, brand names, street names, district labels and weights,
//! the five campaigns with their batches). Kept apart from the stages that draw from
//! them, so a newcomer can change the city without reading the generator.

use crate::campaigns::models::CampaignStatus;
use crate::domain::Category;

/// How a category of merchant looks: how common it is, what its shops are called,
/// what they sell and for how much.
pub struct CategoryStyle {
    pub category: Category,
    pub weight: u32,
    pub nouns: &'static [&'static str],
    pub offers: &'static [&'static str],
    /// Price range in yuan.
    pub price: (i64, i64),
}

/// Every category the demo's merchants come in.
pub const STYLES: &[CategoryStyle] = &[
    CategoryStyle {
        category: Category::Bookstore,
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
        category: Category::Cinema,
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
        category: Category::Performance,
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
        category: Category::ScenicSpot,
        weight: 8,
        nouns: &["景区", "生态园", "湿地公园", "古镇"],
        offers: &["成人门票", "家庭套票", "夜游票", "年卡", "观光车票", "研学一日游"],
        price: (40, 300),
    },
    CategoryStyle {
        category: Category::Museum,
        weight: 4,
        nouns: &["博物馆", "美术馆", "纪念馆", "艺术馆"],
        offers: &["特展门票", "讲解服务", "文物修复体验", "亲子研学课", "馆藏图录"],
        price: (20, 120),
    },
    CategoryStyle {
        category: Category::CulturalCreative,
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
        category: Category::HeritageCraft,
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
        category: Category::Dining,
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
        category: Category::Lodging,
        weight: 12,
        nouns: &["酒店", "民宿", "度假村", "客栈"],
        offers: &["标准间一晚", "大床房一晚", "家庭房一晚", "温泉套房", "周末度假套餐"],
        price: (220, 1200),
    },
    CategoryStyle {
        category: Category::Sports,
        weight: 6,
        nouns: &["体育馆", "健身中心", "滑雪场", "游泳馆"],
        offers: &["游泳次卡", "羽毛球场地", "健身月卡", "滑雪半日票", "攀岩体验"],
        price: (30, 400),
    },
    CategoryStyle {
        category: Category::Other,
        weight: 6,
        nouns: &["文化中心", "艺术空间", "研学基地"],
        offers: &["手工课", "书法体验课", "研学活动", "讲座门票"],
        price: (20, 200),
    },
];

/// Shop names are a district, a brand and a noun of the category.
pub const BRANDS: &[&str] = &[
    "墨香", "文渊", "和合", "丰华", "启明", "拾光", "燕南", "潮白", "运河", "永定", "京津", "龙河", "荣盛", "书韵",
    "星河", "锦绣", "长乐", "云起", "青禾", "北辰", "瑞祥", "知行", "时光", "半亩", "松风", "明月", "百家", "新华",
    "兰亭", "东篱", "万象", "嘉禾",
];

/// A district key's Chinese name, for merchant names and addresses; unknown keys
/// stand as they are.
pub fn district_label(key: &str) -> &str {
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

/// Street names of the merchants' addresses.
pub const STREETS: &[&str] = &["新华", "和平", "光明", "银河", "永兴", "建设", "金光", "艺术"];

/// Rough population weights of Langfang's districts; other names weigh 5.
pub fn district_weight(key: &str) -> u32 {
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

/// A voucher batch of a campaign.
pub struct BatchSpec {
    pub name: &'static str,
    pub discount_yuan: i64,
    pub min_spend_yuan: i64,
    pub per_user_limit: i64,
    pub valid_days: i64,
    /// Claim window, in days after the campaign starts.
    pub claim_from: i64,
    pub claim_to: i64,
    /// True: exactly as many vouchers as were claimed (the batch sold out).
    pub sells_out: bool,
}

/// A campaign, its window relative to now and the share of orders it takes.
pub struct CampaignSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub categories: &'static [Category],
    pub status: CampaignStatus,
    /// Window, in days from now.
    pub starts: i64,
    pub ends: i64,
    pub refund_returns_voucher: bool,
    /// Percent of the orders that use this campaign's vouchers.
    pub share: usize,
    pub batches: &'static [BatchSpec],
}

/// The demo's campaigns: one ended, three active, one draft.
pub const CAMPAIGNS: &[CampaignSpec] = &[
    CampaignSpec {
        name: "春季书香消费券",
        description: "全民阅读月：全市书店与文创店满额立减。",
        categories: &[Category::Bookstore, Category::CulturalCreative],
        status: CampaignStatus::Ended,
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
        categories: &[Category::Cinema, Category::Performance],
        status: CampaignStatus::Active,
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
        categories: &[Category::ScenicSpot, Category::Museum, Category::HeritageCraft],
        status: CampaignStatus::Active,
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
        status: CampaignStatus::Active,
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
        status: CampaignStatus::Draft,
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
pub const PLAIN_ORDER_SHARE: usize = 100 - 22 - 26 - 18 - 16;

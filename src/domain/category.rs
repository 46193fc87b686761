//! Merchant categories: a fixed list (API.md). Districts, by contrast, come from
//! config (`platform.districts`).

pub const CATEGORIES: &[&str] = &[
    "bookstore",
    "cinema",
    "performance",
    "scenic_spot",
    "museum",
    "cultural_creative",
    "heritage_craft",
    "dining",
    "lodging",
    "sports",
    "other",
];

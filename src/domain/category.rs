//! Merchant categories: a fixed list (API.md). Districts, by contrast, come from
//! config (`platform.districts`, see `config::PlatformSettings::districts`).

crate::text_enum! {
    /// A merchant category.
    pub enum Category {
        Bookstore = "bookstore",
        Cinema = "cinema",
        Performance = "performance",
        ScenicSpot = "scenic_spot",
        Museum = "museum",
        CulturalCreative = "cultural_creative",
        HeritageCraft = "heritage_craft",
        Dining = "dining",
        Lodging = "lodging",
        Sports = "sports",
        Other = "other",
    }
}

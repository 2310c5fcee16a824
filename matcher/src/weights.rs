//! Weights of the scored factors, read from `matcher/weights.json`.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Weights {
    pub skill_exact: f64,
    pub skill_equivalent: f64,
    pub skill_related: f64,
    pub skill_max: f64,
    pub occupation_same: f64,
    pub occupation_same_minor: f64,
    pub occupation_same_middle: f64,
    pub training_relevant: f64,
    pub training_certificate: f64,
    pub training_recent: f64,
    pub training_recent_years: i64,
    pub training_max: f64,
    pub location_same_county: f64,
    pub location_same_prefecture: f64,
    pub location_in_guizhou: f64,
    pub location_cross_province_willing: f64,
    pub location_preferred_county: f64,
    pub wage_meets_minimum: f64,
    pub wage_per_500_above_minimum: f64,
    pub wage_max_bonus: f64,
    pub priority_zero_employment_household: f64,
    pub priority_monitored: f64,
    pub priority_hardship: f64,
    pub priority_returning: f64,
    pub retention_per_month: f64,
    pub retention_max: f64,
    pub fatigue_per_similar_decline: f64,
    pub fatigue_window_days: i64,
    pub max_open_offers_per_worker: i64,
    pub max_offers_per_worker_per_7_days: i64,
}

/// The weights shipped with the project.
pub const SHIPPED: &str = include_str!("../weights.json");

impl Weights {
    pub fn parse(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    pub fn shipped() -> Result<Self, serde_json::Error> {
        Self::parse(SHIPPED)
    }
}

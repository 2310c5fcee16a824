//! Organisation kinds. A key's role is its organisation's kind.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    Admin,
    CountyOffice,
    Employer,
    IndustrialPark,
    Broker,
    CoopTeam,
}

impl OrgKind {
    pub const ALL: [OrgKind; 6] = [
        OrgKind::Admin,
        OrgKind::CountyOffice,
        OrgKind::Employer,
        OrgKind::IndustrialPark,
        OrgKind::Broker,
        OrgKind::CoopTeam,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Admin => "admin",
            OrgKind::CountyOffice => "county_office",
            OrgKind::Employer => "employer",
            OrgKind::IndustrialPark => "industrial_park",
            OrgKind::Broker => "broker",
            OrgKind::CoopTeam => "coop_team",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Only a county office is tied to one county.
    pub fn needs_county(self) -> bool {
        self == OrgKind::CountyOffice
    }
}

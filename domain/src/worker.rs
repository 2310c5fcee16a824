//! The ledger's vocabulary: worker categories and employment statuses.
//!
//! Which statuses count as "employed" and who counts as "labour" is decided in
//! one place only, the SQL function `worker_state(as_of)` in the migrations
//! (see DESIGN.md, "One truth, written once"); Rust reads its answers.

use serde::{Deserialize, Serialize};

macro_rules! str_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s.trim() { $($s => Some($name::$variant),)+ _ => None }
            }
            /// The accepted values, for error messages.
            pub fn expected() -> String {
                [$($s),+].join(", ")
            }
        }
    };
}

str_enum! {
    /// Ledger categories (台账类别).
    Category {
        Relocated = "relocated",
        Returning = "returning",
        Graduate = "graduate",
        Hardship = "hardship",
        PovertyAlleviated = "poverty_alleviated",
        Monitored = "monitored",
    }
}

str_enum! {
    EmploymentStatus {
        Employed = "employed",
        Unemployed = "unemployed",
        PublicWelfarePost = "public_welfare_post",
        SelfEmployed = "self_employed",
        Student = "student",
        UnableToWork = "unable_to_work",
    }
}

str_enum! {
    /// Kinds of training record (订单/定岗/顶岗培训 and others).
    TrainingKind {
        Order = "order",
        Position = "position",
        OnTheJob = "on_the_job",
        Apprenticeship = "apprenticeship",
        Entrepreneurship = "entrepreneurship",
        Other = "other",
    }
}

str_enum! {
    /// Where a fact about a worker's employment came from.
    FactSource {
        Officer = "officer",
        EmployerReport = "employer_report",
        BrokerReport = "broker_report",
        WorkerCheckin = "worker_checkin",
        SocialInsuranceImport = "social_insurance_import",
        Monitoring = "monitoring",
    }
}

/// DESIGN.md "Labour (劳动力)": aged 16–60 on `as_of` (from the birth date of the ID number)
/// with a known status that is neither student nor unable to work. The SQL `worker_state()`
/// says the same; a test holds them equal.
pub fn is_labour(birth: Option<chrono::NaiveDate>, status: Option<EmploymentStatus>, as_of: chrono::NaiveDate) -> bool {
    let of_age = birth.is_some_and(|b| (16..=60).contains(&crate::id_number::age_on(b, as_of)));
    of_age && status.is_some_and(EmploymentStatus::can_work)
}

/// Chinese labels used in spreadsheets (import template and exports).
impl Category {
    pub fn label_zh(self) -> &'static str {
        match self {
            Category::Relocated => "搬迁劳动力",
            Category::Returning => "返乡劳动力",
            Category::Graduate => "高校毕业生",
            Category::Hardship => "特殊困难群体",
            Category::PovertyAlleviated => "脱贫人口",
            Category::Monitored => "监测帮扶对象",
        }
    }

    /// Accepts the identifier or the Chinese label.
    pub fn parse_any(s: &str) -> Option<Self> {
        Self::parse(s).or_else(|| Self::ALL.iter().copied().find(|c| c.label_zh() == s.trim()))
    }
}

impl EmploymentStatus {
    /// DESIGN.md "Employed": in work, self-employed or on a public-welfare post. The SQL
    /// `employed_status()` (and so `worker_state()`) says the same; a test holds them equal.
    pub fn is_employed(self) -> bool {
        matches!(
            self,
            EmploymentStatus::Employed | EmploymentStatus::SelfEmployed | EmploymentStatus::PublicWelfarePost
        )
    }

    /// Neither a student nor unable to work.
    pub fn can_work(self) -> bool {
        !matches!(self, EmploymentStatus::Student | EmploymentStatus::UnableToWork)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            EmploymentStatus::Employed => "就业",
            EmploymentStatus::Unemployed => "未就业",
            EmploymentStatus::PublicWelfarePost => "公益性岗位",
            EmploymentStatus::SelfEmployed => "自主创业",
            EmploymentStatus::Student => "在校学生",
            EmploymentStatus::UnableToWork => "无劳动能力",
        }
    }

    pub fn parse_any(s: &str) -> Option<Self> {
        Self::parse(s).or_else(|| Self::ALL.iter().copied().find(|c| c.label_zh() == s.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(*c));
            assert_eq!(Category::parse_any(c.label_zh()), Some(*c));
        }
        for s in EmploymentStatus::ALL {
            assert_eq!(EmploymentStatus::parse_any(s.label_zh()), Some(*s));
        }
        assert_eq!(EmploymentStatus::parse("retired"), None);
    }
}

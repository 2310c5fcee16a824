//! The monthly survey (月调度, issue #9) as the bot asks it: employment
//! status, place (本县 / 省内 / 省外 and the province), industry, and the
//! month's income, typed as a number or chosen as a band. Pure, like
//! [`crate::core`], which wires it into the conversation.
//!
//! Every button carries the answers given so far ([`Survey`], a few bytes),
//! so a survey goes on after a restart or a lost dialogue state; only the
//! typed income needs the state (`AwaitingSurveyIncome`).

use crate::core::{Button, Keyboard, Reply};
use domain::calendar::YearMonth;
use domain::worker::EmploymentStatus;
use serde::{Deserialize, Serialize};

/// Where the worker works (`monitoring_responses.work_place`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Place {
    InCounty,
    InProvince,
    OutOfProvince,
}

impl Place {
    pub const ALL: [Place; 3] = [Self::InCounty, Self::InProvince, Self::OutOfProvince];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InCounty => "in_county",
            Self::InProvince => "in_province",
            Self::OutOfProvince => "out_of_province",
        }
    }

    fn code(self) -> char {
        match self {
            Self::InCounty => 'c',
            Self::InProvince => 'p',
            Self::OutOfProvince => 'o',
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::InCounty => "本县",
            Self::InProvince => "省内",
            Self::OutOfProvince => "省外",
        }
    }
}

/// Industries offered as buttons: the label the worker reads, the name
/// stored (sections of GB/T 4754, as officers write them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Industry {
    Manufacturing,
    Construction,
    Catering,
    Retail,
    Transport,
    Services,
    Farming,
    Other,
}

impl Industry {
    pub const ALL: [Industry; 8] = [
        Self::Manufacturing,
        Self::Construction,
        Self::Catering,
        Self::Retail,
        Self::Transport,
        Self::Services,
        Self::Farming,
        Self::Other,
    ];

    fn code(self) -> char {
        match self {
            Self::Manufacturing => 'm',
            Self::Construction => 'b',
            Self::Catering => 'h',
            Self::Retail => 'r',
            Self::Transport => 't',
            Self::Services => 's',
            Self::Farming => 'a',
            Self::Other => 'x',
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Manufacturing => "工厂/制造",
            Self::Construction => "建筑工地",
            Self::Catering => "餐饮住宿",
            Self::Retail => "批发零售",
            Self::Transport => "运输物流",
            Self::Services => "家政保洁等服务",
            Self::Farming => "种植养殖",
            Self::Other => "其他",
        }
    }

    /// What `monitoring_responses.industry` holds.
    pub fn stored(self) -> &'static str {
        match self {
            Self::Manufacturing => "制造业",
            Self::Construction => "建筑业",
            Self::Catering => "住宿和餐饮业",
            Self::Retail => "批发和零售业",
            Self::Transport => "交通运输、仓储和邮政业",
            Self::Services => "居民服务业",
            Self::Farming => "农林牧渔业",
            Self::Other => "其他",
        }
    }
}

/// Income bands for a worker who prefers not to type a number
/// (`monitoring_responses.income_band`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IncomeBand {
    Below2000,
    From2000,
    From3000,
    From4000,
    From5000,
    From6000,
    From8000,
}

impl IncomeBand {
    pub const ALL: [IncomeBand; 7] = [
        Self::Below2000,
        Self::From2000,
        Self::From3000,
        Self::From4000,
        Self::From5000,
        Self::From6000,
        Self::From8000,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Below2000 => "lt2000",
            Self::From2000 => "2000_3000",
            Self::From3000 => "3000_4000",
            Self::From4000 => "4000_5000",
            Self::From5000 => "5000_6000",
            Self::From6000 => "6000_8000",
            Self::From8000 => "ge8000",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Below2000 => "2000以下",
            Self::From2000 => "2000–3000",
            Self::From3000 => "3000–4000",
            Self::From4000 => "4000–5000",
            Self::From5000 => "5000–6000",
            Self::From6000 => "6000–8000",
            Self::From8000 => "8000以上",
        }
    }

    pub(crate) fn code(self) -> char {
        match self {
            Self::Below2000 => '0',
            Self::From2000 => '2',
            Self::From3000 => '3',
            Self::From4000 => '4',
            Self::From5000 => '5',
            Self::From6000 => '6',
            Self::From8000 => '8',
        }
    }

    pub(crate) fn from_code(c: char) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.code() == c)
    }
}

/// Provinces outside Guizhou, by the first two digits of their code
/// (`seed/divisions.csv`, `XX0000`), the usual destinations first.
pub const PROVINCES: [(u8, &str); 30] = [
    (44, "广东"),
    (33, "浙江"),
    (35, "福建"),
    (32, "江苏"),
    (31, "上海"),
    (53, "云南"),
    (43, "湖南"),
    (50, "重庆"),
    (51, "四川"),
    (11, "北京"),
    (12, "天津"),
    (13, "河北"),
    (14, "山西"),
    (15, "内蒙古"),
    (21, "辽宁"),
    (22, "吉林"),
    (23, "黑龙江"),
    (34, "安徽"),
    (36, "江西"),
    (37, "山东"),
    (41, "河南"),
    (42, "湖北"),
    (45, "广西"),
    (46, "海南"),
    (54, "西藏"),
    (61, "陕西"),
    (62, "甘肃"),
    (63, "青海"),
    (64, "宁夏"),
    (65, "新疆"),
];

/// How many of [`PROVINCES`] the first province question shows.
const MAIN_PROVINCES: usize = 9;

pub fn province_code(prefix: u8) -> String {
    format!("{prefix:02}0000")
}

/// The statuses offered, with their labels, in the order shown.
const STATUSES: [(EmploymentStatus, &str, char); 6] = [
    (EmploymentStatus::Employed, "在上班", 'e'),
    (EmploymentStatus::SelfEmployed, "自己做生意", 's'),
    (EmploymentStatus::PublicWelfarePost, "公益性岗位", 'p'),
    (EmploymentStatus::Unemployed, "没有工作", 'u'),
    (EmploymentStatus::Student, "在上学", 't'),
    (EmploymentStatus::UnableToWork, "暂时不能工作", 'x'),
];

/// The answers so far for one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Survey {
    pub period: YearMonth,
    pub status: Option<EmploymentStatus>,
    pub place: Option<Place>,
    /// First two digits of the province code (work outside Guizhou).
    pub province: Option<u8>,
    pub industry: Option<Industry>,
}

/// The month's income as the worker gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Income {
    /// Typed, in whole yuan.
    Amount(i32),
    Band(IncomeBand),
    /// 不想说, or not asked (not in work).
    NotGiven,
}

/// What to ask next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Status,
    Place,
    Province,
    Industry,
    Income,
    /// Everything asked: record it.
    Done,
}

impl Survey {
    pub fn new(period: YearMonth) -> Self {
        Self { period, status: None, place: None, province: None, industry: None }
    }

    pub fn next(&self) -> Next {
        match (self.status, self.place, self.province, self.industry) {
            (None, ..) => Next::Status,
            (Some(s), ..) if !EmploymentStatus::is_employed(s) => Next::Done,
            (_, None, ..) => Next::Place,
            (_, Some(Place::OutOfProvince), None, _) => Next::Province,
            (.., None) => Next::Industry,
            _ => Next::Income,
        }
    }

    /// `202611e o44m`-like: period, status, place, province, industry (`_` = not yet).
    pub fn encode(&self) -> String {
        let mut s = format!("{:04}{:02}", self.period.year(), self.period.month());
        s.push(self.status.and_then(|st| STATUSES.iter().find(|x| x.0 == st)).map_or('_', |x| x.2));
        s.push(self.place.map_or('_', Place::code));
        match self.province {
            Some(p) => s.push_str(&format!("{p:02}")),
            None => s.push_str("__"),
        }
        s.push(self.industry.map_or('_', Industry::code));
        s
    }

    pub fn decode(s: &str) -> Option<Self> {
        let chars: Vec<char> = s.chars().collect();
        let [y0, y1, y2, y3, m0, m1, st, pl, p0, p1, ind] = chars.as_slice() else { return None };
        let digits =
            |cs: &[char]| -> Option<u32> { cs.iter().try_fold(0u32, |acc, c| c.to_digit(10).map(|d| acc * 10 + d)) };
        let year = i32::try_from(digits(&[*y0, *y1, *y2, *y3])?).ok()?;
        let period = YearMonth::new(year, digits(&[*m0, *m1])?)?;
        let status = match st {
            '_' => None,
            c => Some(STATUSES.iter().find(|x| x.2 == *c)?.0),
        };
        let place = match pl {
            '_' => None,
            c => Some(Place::ALL.into_iter().find(|p| p.code() == *c)?),
        };
        let province = match (p0, p1) {
            ('_', '_') => None,
            _ => {
                let p = u8::try_from(digits(&[*p0, *p1])?).ok()?;
                PROVINCES.iter().find(|x| x.0 == p)?;
                Some(p)
            }
        };
        if province.is_some() && place != Some(Place::OutOfProvince) {
            return None;
        }
        let industry = match ind {
            '_' => None,
            c => Some(Industry::ALL.into_iter().find(|i| i.code() == *c)?),
        };
        Some(Self { period, status, place, province, industry })
    }
}

fn month_of(s: &Survey) -> String {
    format!("{}月", s.period.month())
}

fn buttons(items: Vec<(String, Button)>, per_row: usize) -> Keyboard {
    Keyboard::Inline(items.chunks(per_row.max(1)).map(<[_]>::to_vec).collect())
}

/// The push: the survey's first question.
pub fn start_message(period: YearMonth) -> Reply {
    let s = Survey::new(period);
    let items = STATUSES
        .iter()
        .map(|(st, label, _)| ((*label).to_owned(), Button::Survey(Survey { status: Some(*st), ..s })))
        .collect();
    Reply::with(
        format!(
            "【每月就业调查】{}年{}\n想了解大家的工作和收入，帮我们把服务做得更好。只有几个问题，点按钮就能回答。\n\n{}您主要在做什么？",
            period.year(),
            month_of(&s),
            month_of(&s)
        ),
        buttons(items, 2),
    )
}

/// The question after `s`, as a reply (the caller handles [`Next::Done`]).
pub fn question(s: &Survey) -> Option<Reply> {
    Some(match s.next() {
        Next::Status => start_message(s.period),
        Next::Place => {
            let items = Place::ALL
                .into_iter()
                .map(|p| (p.label().to_owned(), Button::Survey(Survey { place: Some(p), ..*s })))
                .collect();
            Reply::with(format!("{}您在哪里工作？", month_of(s)), buttons(items, 3))
        }
        Next::Province => province_question(s, false),
        Next::Industry => {
            let items = Industry::ALL
                .into_iter()
                .map(|i| (i.label().to_owned(), Button::Survey(Survey { industry: Some(i), ..*s })))
                .collect();
            Reply::with("做的是哪一行？", buttons(items, 2))
        }
        Next::Income => {
            let mut items: Vec<(String, Button)> = IncomeBand::ALL
                .into_iter()
                .map(|b| (b.label().to_owned(), Button::SurveyIncome(*s, Some(b))))
                .collect();
            items.push(("不想说".to_owned(), Button::SurveyIncome(*s, None)));
            Reply::with(
                format!(
                    "{}的收入大约多少元？请直接输入数字，例如 3500。\n不方便说具体数字，也可以点一个范围：",
                    month_of(s)
                ),
                buttons(items, 3),
            )
        }
        Next::Done => return None,
    })
}

/// 在哪个省？ The usual destinations first; 其他省份 shows the rest.
pub fn province_question(s: &Survey, rest: bool) -> Reply {
    let range = if rest { &PROVINCES[MAIN_PROVINCES..] } else { &PROVINCES[..MAIN_PROVINCES] };
    let mut items: Vec<(String, Button)> = range
        .iter()
        .map(|(p, name)| ((*name).to_owned(), Button::Survey(Survey { province: Some(*p), ..*s })))
        .collect();
    if !rest {
        items.push(("其他省份".to_owned(), Button::SurveyMoreProvinces(*s)));
    }
    Reply::with("在哪个省（区、市）？", buttons(items, if rest { 4 } else { 3 }))
}

/// A typed income in whole yuan: `4500`, `4,500元`, `4500 左右`, `4.5千`,
/// `1.2万`, full-width digits. `None` when it is not a whole number of yuan
/// between 0 and 1,000,000.
pub fn parse_income(input: &str) -> Option<i32> {
    let mut s: String = input
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '．' | '。' => '.',
            other => other,
        })
        .filter(|c| !matches!(c, ' ' | ',' | '，' | '约' | '大' | '概'))
        .collect();
    for suffix in ["块钱", "左右", "多", "元", "块", "钱", "rmb", "RMB"] {
        while let Some(rest) = s.strip_suffix(suffix) {
            s = rest.trim().to_owned();
        }
    }
    let (number, multiplier) = if let Some(n) = s.strip_suffix('万') {
        (n, 10_000i64)
    } else if let Some(n) = s.strip_suffix('千').or_else(|| s.strip_suffix(['k', 'K'])) {
        (n, 1_000)
    } else {
        (s.as_str(), 1)
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || whole.len() > 7 || frac.len() > 4 {
        return None;
    }
    if !whole.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let scale = 10i64.pow(frac.len() as u32);
    let frac: i64 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
    let total = (whole * scale + frac) * multiplier;
    if total % scale != 0 {
        return None;
    }
    let yuan = total / scale;
    if (0..=1_000_000).contains(&yuan) { i32::try_from(yuan).ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nov() -> YearMonth {
        YearMonth::new(2026, 11).unwrap()
    }

    #[test]
    fn surveys_round_trip_in_a_few_bytes() {
        let s = Survey {
            period: nov(),
            status: Some(EmploymentStatus::Employed),
            place: Some(Place::OutOfProvince),
            province: Some(44),
            industry: Some(Industry::Manufacturing),
        };
        assert_eq!(s.encode(), "202611eo44m");
        assert_eq!(Survey::decode(&s.encode()), Some(s));
        let empty = Survey::new(nov());
        assert_eq!(Survey::decode(&empty.encode()), Some(empty));
        // A province only goes with work outside Guizhou; Guizhou itself is no choice.
        assert_eq!(Survey::decode("202611ec44m"), None);
        assert_eq!(Survey::decode("202611eo52m"), None);
        assert_eq!(Survey::decode("202613e____"), None);
    }

    #[test]
    fn the_questions_follow_the_answers() {
        let mut s = Survey::new(nov());
        assert_eq!(s.next(), Next::Status);
        s.status = Some(EmploymentStatus::Unemployed);
        assert_eq!(s.next(), Next::Done, "no place, industry or income for a worker out of work");
        s.status = Some(EmploymentStatus::SelfEmployed);
        assert_eq!(s.next(), Next::Place);
        s.place = Some(Place::InCounty);
        assert_eq!(s.next(), Next::Industry);
        s.place = Some(Place::OutOfProvince);
        assert_eq!(s.next(), Next::Province);
        s.province = Some(33);
        assert_eq!(s.next(), Next::Industry);
        s.industry = Some(Industry::Retail);
        assert_eq!(s.next(), Next::Income);
    }

    #[test]
    fn incomes_parse_exactly() {
        assert_eq!(parse_income("4500"), Some(4500));
        assert_eq!(parse_income(" 4,500元 "), Some(4500));
        assert_eq!(parse_income("４５００"), Some(4500));
        assert_eq!(parse_income("大概5000左右"), Some(5000));
        assert_eq!(parse_income("4.5千"), Some(4500));
        assert_eq!(parse_income("1.2万"), Some(12000));
        assert_eq!(parse_income("0"), Some(0));
        assert_eq!(parse_income("4500.5"), None, "whole yuan only");
        assert_eq!(parse_income("4500.00"), Some(4500));
        assert_eq!(parse_income("200万"), None, "above 1,000,000");
        assert_eq!(parse_income("-3"), None);
        assert_eq!(parse_income("不知道"), None);
        assert_eq!(parse_income(""), None);
    }

    #[test]
    fn provinces_are_the_divisions_outside_guizhou() {
        let csv = include_str!("../../seed/divisions.csv");
        let provinces: Vec<(&str, &str)> = csv
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f.get(2) == Some(&"province")).then(|| (f[0], f[1]))
            })
            .collect();
        assert_eq!(provinces.len(), PROVINCES.len() + 1, "every mainland province but Guizhou");
        for (p, short) in PROVINCES {
            let code = province_code(p);
            let full = provinces.iter().find(|(c, _)| *c == code).map(|(_, n)| *n);
            assert!(full.is_some_and(|n| n.starts_with(short)), "{code} {short} vs {full:?}");
        }
    }

    #[test]
    fn every_survey_button_fits_telegram() {
        let s = Survey {
            period: nov(),
            status: Some(EmploymentStatus::PublicWelfarePost),
            place: Some(Place::OutOfProvince),
            province: Some(65),
            industry: Some(Industry::Other),
        };
        for b in
            [Button::Survey(s), Button::SurveyMoreProvinces(s), Button::SurveyIncome(s, Some(IncomeBand::From8000))]
        {
            let e = b.encode();
            assert!(e.len() <= 64, "{e}");
            assert_eq!(Button::decode(&e), Some(b));
        }
        assert_eq!(Button::decode(&Button::SurveyIncome(s, None).encode()), Some(Button::SurveyIncome(s, None)));
    }
}

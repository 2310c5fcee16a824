//! Detector of discriminatory wording in job postings (招聘信息中的就业歧视).
//!
//! The rule: a posting that excludes or prefers people by gender or
//! ethnicity, or excludes them by region of origin or household registration
//! (户口/户籍/籍贯/外地人), is refused, naming the words found. Priority that
//! the relocation policy itself gives (搬迁群众优先, 脱贫户优先, 监测户优先,
//! 残疾人优先, ...) is not discrimination, and neither is a preference for
//! local residents: only an *exclusion* by origin is refused.
//!
//! Matching is built from small word classes rather than a list of whole
//! phrases:
//!
//! * **prefix rules**: an exclusion verb (限, 仅限, 只招, 只要, 要求, 不招,
//!   不要, 谢绝, ...) followed by a ground word (男性, 女工, 汉族, 少数民族,
//!   本地户口, 外地人, 河南人, ...): `限男性`, `不招少数民族`, `不要外地人`;
//! * **suffix rules**: a ground word followed by an exclusion (勿扰, 免谈,
//!   不要, 除外, ...) or, for gender and ethnicity only, by 优先: `女工勿扰`,
//!   `男士优先`, `非本地户籍不要`, `河南人勿扰`;
//! * **field rules**: a form-like requirement such as `性别：男`,
//!   `民族要求：汉族`, `户籍限本县`.
//!
//! Ground words may come in a list (`只招男性、汉族`, `河南人和新疆人勿扰`);
//! a list naming two grounds gives one finding per ground.
//!
//! The `regex` crate has no look-around, so a few checks run on each match
//! in code: a bare `男`/`女` must not be half of a longer word (`子女优先`,
//! `男女不限`, `要求女职工体检`), `限` must not be the tail of a noun
//! (`年龄上限男60岁`), `户口本` is a document, `不要求` is not `不要`.
//! Matches that start inside a neutral span (`不限`, `无要求`, `不得拒绝…`)
//! are dropped, so `不限户籍`, `不要求户口` and `不得拒绝女性求职者` pass.
//!
//! Nothing here does I/O and nothing panics: every regex is built once in a
//! `LazyLock`, and one that failed to compile would simply match nothing (a
//! test checks that they all compile).

use regex::{Captures, Regex};
use serde::Serialize;
use std::sync::LazyLock;

/// One piece of discriminatory wording found in a posting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub ground: Ground,
    /// The exact substring of the input that was matched.
    pub words: String,
}

/// What the posting discriminates on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ground {
    Gender,
    Ethnicity,
    /// Region of origin or household registration (户口/户籍/籍贯/外地人).
    Origin,
}

/// Every discriminatory phrase in `text`, in the order they appear.
/// Empty means the text is acceptable.
pub fn find_discriminatory(text: &str) -> Vec<Finding> {
    let neutral: Vec<(usize, usize)> =
        NEUTRAL.iter().flat_map(|re| re.find_iter(text).map(|m| (m.start(), m.end()))).collect();

    let mut hits: Vec<Hit> = Vec::new();
    for rule in RULES.iter() {
        scan(rule, text, &mut hits);
    }
    hits.retain(|h| !neutral.iter().any(|&(s, e)| s <= h.start && h.start < e));
    hits.sort_by_key(|h| (h.start, h.end));

    // Merge overlapping hits on the same ground (`限男性优先` is matched by a
    // prefix rule and a suffix rule) into one finding covering both.
    let mut merged: Vec<Hit> = Vec::new();
    for hit in hits {
        match merged.iter_mut().rev().find(|m| m.ground == hit.ground && hit.start < m.end) {
            Some(m) => m.end = m.end.max(hit.end),
            None => merged.push(hit),
        }
    }

    merged
        .into_iter()
        .filter_map(|h| text.get(h.start..h.end).map(|w| Finding { ground: h.ground, words: w.to_string() }))
        .collect()
}

// ---------------------------------------------------------------------------
// Word classes. Alternatives are listed longest first: the regex engine
// prefers the earlier alternative at a given position.

/// Verbs that restrict a posting to some people or exclude others.
const EXCLUDE_VERBS: &str = "仅限|只限|限招|限于|限|只招|仅招|只要|仅要|只收|仅收|只录用|仅录用|\
     只接受|仅接受|只考虑|仅考虑|要求|不招收|不招|不要|不收|不录用|不予录用|不接受|不考虑|\
     谢绝|拒绝|拒收|排除";

/// Words after a ground word that exclude those people.
const EXCLUDE_SUFFIXES: &str = "勿扰|莫扰|免谈|勿问|免问|不要|不招|不收|不录用|不予录用|\
     恕不录用|不予考虑|不考虑|除外|谢绝|绕道|勿投|免投|勿来|莫来|不能报名|不得报名|\
     不可报名|不予报名|请勿报名|勿报名";

/// Words after a ground word that prefer those people (gender and ethnicity only).
const PREFER_SUFFIXES: &str = "优先";

/// What may stand between an exclusion verb and the ground word:
/// `要求是汉族`, `拒绝录用外地人`.
const VERB_OBJECT_GLUE: &str = "录用|聘用|招收|招用|接收|是|为";

/// Separators in a list of ground words: `男性、汉族优先`, `河南人和新疆人勿扰`.
/// Not the comma, which separates clauses.
const LIST_GLUE: &str = "、|和|及|与|或|/";

/// Gender words that may appear inside such a list (not a bare 男/女).
const GENDER_LISTED: &str = "男性|女性|男士|女士|男工|女工|男生|女生|男的|女的|男孩子|女孩子|\
     男孩|女孩|男同志|女同志|男青年|女青年|男子|女子|男人|女人|妇女";

/// Glue allowed between a ground word and its suffix: `外地人一律不要`.
const SUFFIX_GLUE: &str = r"\s*(?:一律|统统|均|都|概|者)?\s*";

/// Gender words after an exclusion verb. A bare 男/女 is checked in code.
const GENDER_WORDS: &str = "男性|女性|男士|女士|男工|女工|男生|女生|男的|女的|男孩子|女孩子|\
     男孩|女孩|男同志|女同志|男青年|女青年|男子|女子|男人|女人|妇女|男|女";

/// Gender words before a suffix: also 女职工优先, which after 要求 would
/// usually be an instruction (要求女职工参加体检) rather than a restriction.
const GENDER_WORDS_BEFORE_SUFFIX: &str = "男职工|女职工|男员工|女员工|男性|女性|男士|女士|男工|女工|\
     男生|女生|男的|女的|男孩子|女孩子|男孩|女孩|男同志|女同志|男青年|女青年|男子|女子|\
     男人|女人|妇女|男|女";

/// Named ethnic groups (the ones common in Guizhou and the big ones elsewhere).
const ETHNIC_GROUPS: &str = "少数民族|维吾尔族|哈萨克族|柯尔克孜族|俄罗斯族|布依族|土家族|仡佬族|\
     蒙古族|朝鲜族|哈尼族|傈僳族|拉祜族|纳西族|景颇族|毛南族|仫佬族|汉族|回族|藏族|维族|\
     苗族|侗族|彝族|壮族|满族|瑶族|白族|傣族|黎族|畲族|水族|羌族|佤族";

/// What may follow an ethnic word: 汉族人, 苗族同胞, 少数民族人员.
const ETHNIC_TAIL: &str = "人员|员工|群众|同胞|人士|务工人员|人|籍";

const PROVINCES: &str = "北京|天津|河北|山西|内蒙古|内蒙|辽宁|吉林|黑龙江|上海|江苏|浙江|安徽|\
     福建|江西|山东|河南|湖北|湖南|广东|广西|海南|重庆|四川|贵州|云南|西藏|陕西|甘肃|青海|\
     宁夏|新疆|台湾|香港|澳门";

/// Guizhou's prefectures and their seats.
const PREFECTURES: &str = "贵阳|遵义|六盘水|安顺|毕节|铜仁|黔东南|黔西南|黔南|凯里|都匀|兴义";

/// Local qualifiers before 户口/户籍.
const HUKOU_QUALIFIERS: &str = "本地|本市|本省|本县|本区|本镇|本乡|外地|外省|外市|外县|城镇|城市|\
     农村|非农|农业";

/// Kinds of people by where they come from, before 人/籍.
const ORIGIN_PEOPLE_STEMS: &str = "本地|本土|外地|外省|外市|外县|外乡|农村|乡下|东北";

/// What may follow 户口/户籍: 外地户籍人员.
const HUKOU_TAIL: &str = "人员|人士|者|的人";

/// Places a 户籍/籍贯 field may be restricted to: 户籍限本县.
const FIELD_PLACES: &str = "本地|本市|本省|本县|本区|本镇|本乡|城镇|农村|非农";

/// Requirement words in a form-like field: 性别要求：男, 户籍限本县.
const FIELD_REQUIRE: &str = "要求|限制|限定|必须是|必须为|必须在|须为|需为|须在|需在|只限|仅限|限|\
     必须|须|需";

/// Words that are a ground word only when they stand alone: 限女，… but not
/// 要求女职工…, 男女不限, 要求民族团结.
const BARE_WORDS: [&str; 3] = ["男", "女", "民族"];

/// Characters that may follow a bare word and still leave it standing alone:
/// 限女25岁以下, 限男身高170以上, 限男初中以上学历.
const AFTER_BARE_OK: &str = "年身学初高中大专岁";

/// Characters before a bare 男/女 that make it half of another word:
/// 子女, 儿女, 男女, 美女, 宅男, ...
const BEFORE_BARE_GENDER: &str = "子儿孙侄甥闺男女少美淑处修织仙舞宫长次养继宅暖猛型帅渣民妇";

/// Characters before 限 that make it the tail of a noun: 上限, 期限, 年限, 不限.
const BEFORE_LIMIT_NOUN: &str = "上下期时界极局权年额门有受宽设无不没最";

// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// verb + word: 限男性, 不要外地人.
    Prefix,
    /// word + suffix: 女工勿扰, 男士优先.
    Suffix,
    /// field + requirement + value: 性别：男, 户籍限本县.
    Field,
}

struct Rule {
    ground: Ground,
    kind: Kind,
    re: Regex,
}

#[derive(Debug, Clone, Copy)]
struct Hit {
    ground: Ground,
    start: usize,
    end: usize,
}

/// Origin words: 本地户口, 非本地户籍, 外地人, 河南人, 贵州籍, 贵阳本地人, 籍贯.
fn origin_words() -> String {
    let places = format!("{PROVINCES}|{PREFECTURES}");
    format!(
        "非?(?:{places}|{HUKOU_QUALIFIERS})?(?:户口|户籍)\
         (?:所在地(?:在|为|是)(?:{FIELD_PLACES}|{places}))?(?:{HUKOU_TAIL})?\
         |(?:(?:{places})(?:本地|本土)?|{ORIGIN_PEOPLE_STEMS})\
         (?:籍人员|籍人士|籍人|籍|人员|人士|人)\
         |籍贯"
    )
}

/// The source of every rule, as (ground, kind, pattern). Each pattern names
/// the ground word `w`; prefix rules name the verb `v`, suffix rules the
/// suffix `s`, and an optional tail after the word is `t`.
fn rule_specs() -> Vec<(Ground, Kind, String)> {
    let origin = origin_words();
    let ethnic = format!("{ETHNIC_GROUPS}|民族");
    // Other ground words listed before the one a prefix rule is about, or
    // after the one a suffix rule is about: 只招男性、汉族; 河南人和新疆人勿扰.
    let listed = format!(r"(?:{GENDER_LISTED}|{ETHNIC_GROUPS}|{origin})(?:{ETHNIC_TAIL})?\s*(?:{LIST_GLUE})\s*");
    let more =
        format!(r"(?:\s*(?:{LIST_GLUE})\s*(?:{GENDER_LISTED}|{ETHNIC_GROUPS}|{origin})(?:{ETHNIC_TAIL})?){{0,4}}");
    let verb = format!(r"(?P<v>{EXCLUDE_VERBS})\s*(?:{VERB_OBJECT_GLUE})?\s*(?:{listed}){{0,4}}");
    let glue = format!("{more}{SUFFIX_GLUE}");
    vec![
        (Ground::Gender, Kind::Prefix, format!("{verb}(?P<w>{GENDER_WORDS})")),
        (
            Ground::Gender,
            Kind::Suffix,
            format!("(?P<w>{GENDER_WORDS_BEFORE_SUFFIX}){glue}(?P<s>{EXCLUDE_SUFFIXES}|{PREFER_SUFFIXES})"),
        ),
        (
            Ground::Gender,
            Kind::Field,
            format!(r"性别\s*(?:{FIELD_REQUIRE})?\s*[:：]?\s*(?:为|是)?\s*(?P<w>{GENDER_WORDS})"),
        ),
        (Ground::Ethnicity, Kind::Prefix, format!("{verb}(?P<w>{ethnic})(?P<t>{ETHNIC_TAIL})?")),
        (
            Ground::Ethnicity,
            Kind::Suffix,
            format!("(?P<w>{ethnic})(?P<t>{ETHNIC_TAIL})?{glue}(?P<s>{EXCLUDE_SUFFIXES}|{PREFER_SUFFIXES})"),
        ),
        (
            Ground::Ethnicity,
            Kind::Field,
            format!(r"民族\s*(?:{FIELD_REQUIRE})\s*[:：]?\s*(?:为|是)?\s*(?P<w>{ETHNIC_GROUPS})"),
        ),
        (Ground::Origin, Kind::Prefix, format!("{verb}(?P<w>{origin})")),
        (Ground::Origin, Kind::Suffix, format!("(?P<w>{origin}){glue}(?P<s>{EXCLUDE_SUFFIXES})")),
        (
            Ground::Origin,
            Kind::Field,
            format!(
                r"(?:户口|户籍|籍贯)(?:所在地)?\s*(?:{FIELD_REQUIRE})\s*[:：]?\s*(?:为|是|在)?\s*(?P<w>{FIELD_PLACES}|{PROVINCES}|{PREFECTURES})"
            ),
        ),
    ]
}

/// Spans that make what starts inside them neutral.
fn neutral_specs() -> Vec<String> {
    vec![
        // 不限户籍, 不限男女, 无要求, 不要求户口, 不论民族.
        "(?:不|无|没有|没|未|并不)(?:限制|限定|限|要求|区分|分|论|问|拘)".to_string(),
        // 不得拒绝女性求职者, 严禁以户籍为由拒绝录用: the rest of the clause.
        "(?:不得|不准|严禁|禁止|不许|不应|不能|不可|绝不|杜绝|反对)[^，。；！？,.;!?\\n]{0,30}".to_string(),
    ]
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    rule_specs()
        .into_iter()
        .filter_map(|(ground, kind, pattern)| Regex::new(&pattern).ok().map(|re| Rule { ground, kind, re }))
        .collect()
});

static NEUTRAL: LazyLock<Vec<Regex>> =
    LazyLock::new(|| neutral_specs().iter().filter_map(|p| Regex::new(p).ok()).collect());

/// Every accepted match of `rule` in `text`. A rejected match is retried one
/// character further on, so that it does not hide a good match overlapping it.
fn scan(rule: &Rule, text: &str, hits: &mut Vec<Hit>) {
    let mut pos = 0;
    while pos < text.len() {
        let Some(caps) = rule.re.captures_at(text, pos) else {
            break;
        };
        let Some(m) = caps.get(0) else {
            break;
        };
        let next = next_boundary(text, m.start());
        if accept(rule.kind, &caps, text) {
            hits.push(Hit { ground: rule.ground, start: m.start(), end: m.end() });
            pos = m.end().max(next);
        } else {
            pos = next;
        }
    }
}

fn accept(kind: Kind, caps: &Captures<'_>, text: &str) -> bool {
    let (Some(m), Some(w)) = (caps.get(0), caps.name("w")) else {
        return false;
    };
    let word = w.as_str();
    let bare = caps.name("t").is_none() && BARE_WORDS.contains(&word);
    match kind {
        Kind::Prefix => {
            let limit_is_noun = caps.name("v").is_some_and(|v| v.as_str() == "限")
                && prev_char(text, m.start()).is_some_and(|c| BEFORE_LIMIT_NOUN.contains(c));
            let document = (word == "户口" || word == "户籍") && names_document(text.get(m.end()..).unwrap_or(""));
            let alone = !bare || stands_alone(text, m.end());
            !limit_is_noun && !document && alone
        }
        Kind::Suffix => {
            let half_word = bare
                && (word == "男" || word == "女")
                && prev_char(text, w.start()).is_some_and(|c| BEFORE_BARE_GENDER.contains(c));
            let not_required =
                caps.name("s").is_some_and(|s| s.as_str() == "不要") && next_char(text, m.end()) == Some('求');
            !half_word && !not_required
        }
        Kind::Field => !bare || stands_alone(text, m.end()),
    }
}

/// `rest` follows a bare 户口/户籍: 户口本, 户口簿, 户籍证明 are documents,
/// while 户口本地 is a requirement.
fn names_document(rest: &str) -> bool {
    const LOCAL: [&str; 7] = ["本地", "本市", "本县", "本省", "本区", "本镇", "本乡"];
    ["本", "簿", "证", "卡", "页", "迁"].iter().any(|d| rest.starts_with(d))
        && !LOCAL.iter().any(|l| rest.starts_with(l))
}

/// Whether the bare word ending at `end` is a word of its own.
fn stands_alone(text: &str, end: usize) -> bool {
    match next_char(text, end) {
        None => true,
        Some(c) => !is_han(c) || AFTER_BARE_OK.contains(c),
    }
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

fn prev_char(text: &str, idx: usize) -> Option<char> {
    text.get(..idx).and_then(|s| s.chars().next_back())
}

fn next_char(text: &str, idx: usize) -> Option<char> {
    text.get(idx..).and_then(|s| s.chars().next())
}

/// The byte index just after the character starting at `idx`.
fn next_boundary(text: &str, idx: usize) -> usize {
    idx + next_char(text, idx).map_or(1, char::len_utf8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ground::{Ethnicity, Gender, Origin};

    /// Postings to refuse, with every finding expected, in order.
    const REFUSED: &[(&str, &[(Ground, &str)])] = &[
        ("招聘电子厂普工20名，限男性，月薪4500-6000元", &[(Gender, "限男性")]),
        ("仓库搬运工，男性优先，包吃住", &[(Gender, "男性优先")]),
        ("某食品厂招包装工，只招汉族，年龄18-45岁", &[(Ethnicity, "只招汉族")]),
        ("保安5名，不招少数民族，月休4天", &[(Ethnicity, "不招少数民族")]),
        ("会计一名，限本地户口，需持证上岗", &[(Origin, "限本地户口")]),
        ("建筑工地招小工，不要外地人，日结200元", &[(Origin, "不要外地人")]),
        ("服装厂缝纫工，仅限女性，计件工资", &[(Gender, "仅限女性")]),
        ("销售代表若干，男士优先，底薪加提成", &[(Gender, "男士优先")]),
        ("重体力搬运岗位，女工勿扰，日薪250元", &[(Gender, "女工勿扰")]),
        ("超市收银员，已婚已育女性优先，早晚两班", &[(Gender, "女性优先")]),
        ("物业客服2名，限汉族，五险一金", &[(Ethnicity, "限汉族")]),
        ("酒店服务员，少数民族勿扰，包住宿", &[(Ethnicity, "少数民族勿扰")]),
        ("社区网格员，非本地户籍不要，试用期3个月", &[(Origin, "非本地户籍不要")]),
        ("出纳岗位，要求本地户口，大专以上学历", &[(Origin, "要求本地户口")]),
        ("快递分拣员，河南人勿扰，夜班有补贴", &[(Origin, "河南人勿扰")]),
        ("装修学徒，不招河南人，包教包会", &[(Origin, "不招河南人")]),
        ("叉车司机，只要男的，需持叉车证", &[(Gender, "只要男的")]),
        ("流水线操作工，性别：男，年龄18-40岁", &[(Gender, "性别：男")]),
        ("前台文员，限女，25岁以下", &[(Gender, "限女")]),
        ("餐厅帮厨，男女不限，外地人免谈", &[(Origin, "外地人免谈")]),
        ("大货车司机，新疆人一律不要，月薪过万", &[(Origin, "新疆人一律不要")]),
        ("茶叶采摘工，只招苗族同胞，按斤计酬", &[(Ethnicity, "只招苗族同胞")]),
        ("门店店员，谢绝外省人，底薪3000元", &[(Origin, "谢绝外省人")]),
        ("电焊工，熟练工优先，女的不要", &[(Gender, "女的不要")]),
        ("家政保洁，仅招女士，时间灵活", &[(Gender, "仅招女士")]),
        ("库管员，户籍限本县，需会电脑", &[(Origin, "户籍限本县")]),
        ("机修工，汉族优先，提供宿舍", &[(Ethnicity, "汉族优先")]),
        ("安保队员，不考虑农村户口，月薪4000元", &[(Origin, "不考虑农村户口")]),
        ("物流园区装卸工，只要男工，日结", &[(Gender, "只要男工")]),
        ("客房服务员，要求女性，35岁以下", &[(Gender, "要求女性")]),
        ("幼儿园保育员，男士免谈，需持健康证", &[(Gender, "男士免谈")]),
        ("司机助理，维吾尔族除外，包吃住", &[(Ethnicity, "维吾尔族除外")]),
        ("工厂质检员，拒绝外地户籍人员，缴纳五险", &[(Origin, "拒绝外地户籍人员")]),
        ("餐厅服务员，民族要求：汉族，月薪3500元", &[(Ethnicity, "民族要求：汉族")]),
        ("采购助理，限贵阳本地人，需有驾照", &[(Origin, "限贵阳本地人")]),
        ("包装工，女生优先，计件", &[(Gender, "女生优先")]),
        ("小区保安，退役军人优先，外地人员勿扰", &[(Origin, "外地人员勿扰")]),
        ("普工，男优先，18-45岁", &[(Gender, "男优先")]),
        ("收银员，不要男的，长白班", &[(Gender, "不要男的")]),
        ("外卖骑手，彝族人勿扰，多劳多得", &[(Ethnicity, "彝族人勿扰")]),
        ("车间主任，要求是汉族，本科学历", &[(Ethnicity, "要求是汉族")]),
        ("保安，外地人不能报名，月薪3500元", &[(Origin, "外地人不能报名")]),
        ("装配工，限男 身高170以上", &[(Gender, "限男")]),
        ("文秘，性别要求：女，形象好", &[(Gender, "性别要求：女")]),
        ("仓管员，谢绝新疆籍人员，包住", &[(Origin, "谢绝新疆籍人员")]),
        ("餐馆杂工，不收外地户口，管两餐", &[(Origin, "不收外地户口")]),
        ("纺织厂挡车工，熟练女职工优先，三班倒", &[(Gender, "女职工优先")]),
        ("水泥搬运，河南人和新疆人勿扰，日结", &[(Origin, "河南人和新疆人勿扰")]),
        ("物流司机，拒绝录用外地人，须熟悉本地路况", &[(Origin, "拒绝录用外地人")]),
        ("村级协管员，要求户籍所在地在本县，补贴2000元", &[(Origin, "要求户籍所在地在本县")]),
        ("押运员，男性、汉族优先，需退伍证", &[(Gender, "男性、汉族优先"), (Ethnicity, "汉族优先")]),
        ("矿山井下工，只招男性、汉族，高温补贴", &[(Gender, "只招男性"), (Ethnicity, "只招男性、汉族")]),
    ];

    /// Postings to allow.
    const ALLOWED: &[&str] = &[
        "招聘电子厂普工20名，男女不限，月薪4500-6000元",
        "仓库管理员，不限性别，包吃住",
        "餐厅服务员，男女均可，提供男女宿舍",
        "茶园采摘工，欢迎少数民族同胞报名，按斤计酬",
        "保洁员，各民族均可，月休4天",
        "社区公益岗，不限户籍，搬迁群众优先",
        "物业保安，户籍不限，退役军人优先",
        "包装工，易地扶贫搬迁劳动力优先，包吃住",
        "缝纫工，脱贫户优先，计件工资",
        "扶贫车间操作工，本安置点居民优先，就近就业",
        "公益性岗位，监测户优先，每月补贴1800元",
        "电话客服，残疾人优先，可居家办公",
        "电工，持证优先，有经验者优先",
        "焊工，熟练工优先，日薪300元",
        "薪酬制度：男女同工同酬，女职工享受产假",
        "工厂福利：少数民族节日放假，外地员工提供住宿",
        "快递员，欢迎外地人，本地外地均可",
        "厨师，民族不限，包吃住",
        "导购，不限民族，底薪加提成",
        "搬运工，籍贯不限，年龄18-50岁",
        "本岗位不要求户口，凭身份证即可报名",
        "入职要求户口本复印件一份、身份证原件",
        "依法招聘，不得拒绝女性求职者，不得歧视少数民族",
        "岗位说明：退休年龄上限男60岁女55岁",
        "职工子女优先安排暑期实习",
        "搬迁户子女优先，男女不限",
        "提供夫妻房，男女宿舍分开，包吃住",
        "要求女职工每年参加一次免费体检",
        "员工守则要求民族团结、互帮互助",
        "欢迎宝妈、退役军人、少数民族务工人员报名",
        "户籍所在地为本县的搬迁群众优先",
        "男女比例均衡，不分民族，不问出身",
        "年龄18-55岁，身体健康，无户籍限制",
        "外地务工人员可申请公租房，本地外地均可",
        "叉车司机，需持叉车证，男女不限，要求有驾照",
        "我们拒绝性别歧视，拒绝地域歧视",
        "女士衬衫车间缝纫工，计件工资",
        "妇女之家手工坊招学员，欢迎搬迁妇女参加",
        "外卖骑手，不限男女，电动车自备",
        "保洁，户口不要求，年龄不限",
        "苗绣车间绣娘，欢迎苗族、布依族姐妹，可带料回家",
        "不论户籍和民族，同等条件下搬迁群众优先",
    ];

    #[test]
    fn every_rule_compiles() {
        for (_, _, p) in rule_specs() {
            assert!(Regex::new(&p).is_ok(), "rule does not compile: {p}");
        }
        for p in neutral_specs() {
            assert!(Regex::new(&p).is_ok(), "neutral does not compile: {p}");
        }
        assert_eq!(RULES.len(), rule_specs().len());
        assert_eq!(NEUTRAL.len(), neutral_specs().len());
    }

    #[test]
    fn corpus_is_big_enough() {
        assert!(REFUSED.len() >= 30, "{} refused", REFUSED.len());
        assert!(ALLOWED.len() >= 30, "{} allowed", ALLOWED.len());
    }

    #[test]
    fn refuses_discriminatory_postings() {
        for (text, expected) in REFUSED {
            let found = find_discriminatory(text);
            for f in &found {
                assert!(text.contains(&f.words), "{text}: {f:?} not in the text");
            }
            let got: Vec<(Ground, &str)> = found.iter().map(|f| (f.ground, f.words.as_str())).collect();
            assert_eq!(&got, expected, "{text}");
        }
    }

    #[test]
    fn allows_neutral_and_policy_postings() {
        for text in ALLOWED {
            let found = find_discriminatory(text);
            assert!(found.is_empty(), "{text}: {found:?}");
        }
    }

    #[test]
    fn reports_every_finding_in_one_text() {
        let text = "招聘仓管3名，限男性，只要本地户口，少数民族勿扰，月薪4000元";
        let found = find_discriminatory(text);
        assert_eq!(
            found,
            vec![
                Finding { ground: Gender, words: "限男性".into() },
                Finding { ground: Origin, words: "只要本地户口".into() },
                Finding { ground: Ethnicity, words: "少数民族勿扰".into() },
            ]
        );
        for f in &found {
            assert!(text.contains(&f.words));
        }
    }

    #[test]
    fn reports_two_findings_on_one_ground() {
        let found = find_discriminatory("文员，限女性，河南人勿扰，已婚女性优先，外地人免谈");
        let words: Vec<(Ground, &str)> = found.iter().map(|f| (f.ground, f.words.as_str())).collect();
        assert_eq!(
            words,
            vec![(Gender, "限女性"), (Origin, "河南人勿扰"), (Gender, "女性优先"), (Origin, "外地人免谈"),]
        );
    }

    #[test]
    fn overlapping_matches_merge_into_one_finding() {
        let found = find_discriminatory("保安，限男性优先，包住");
        assert_eq!(found, vec![Finding { ground: Gender, words: "限男性优先".into() }]);
    }

    #[test]
    fn allowed_text_next_to_refused_text() {
        let found = find_discriminatory("男女不限，不限户籍，汉族优先");
        assert_eq!(found, vec![Finding { ground: Ethnicity, words: "汉族优先".into() }]);
    }

    #[test]
    fn empty_and_plain_text() {
        assert!(find_discriminatory("").is_empty());
        assert!(find_discriminatory("招聘普工，包吃住，月薪5000元").is_empty());
        assert!(find_discriminatory("限").is_empty());
        assert!(find_discriminatory("女").is_empty());
    }

    #[test]
    fn ground_serializes_in_snake_case() {
        let f = Finding { ground: Origin, words: "外地人免谈".into() };
        assert_eq!(serde_json::to_string(&f).unwrap(), r#"{"ground":"origin","words":"外地人免谈"}"#);
    }
}

//! Short forms of place names, indexed next to the official names so that people can type what
//! they say: 黔西南布依族苗族自治州 -> 黔西南州, 黔西南; 东莞市 -> 东莞; 六枝特区 -> 六枝.

/// The 55 minority nationalities (longest first where one is a prefix of another is not needed:
/// the earliest match in the name wins).
const ETHNIC_GROUPS: &[&str] = &[
    "蒙古族",
    "回族",
    "藏族",
    "维吾尔族",
    "苗族",
    "彝族",
    "壮族",
    "布依族",
    "朝鲜族",
    "满族",
    "侗族",
    "瑶族",
    "白族",
    "土家族",
    "哈尼族",
    "哈萨克族",
    "傣族",
    "黎族",
    "傈僳族",
    "佤族",
    "畲族",
    "高山族",
    "拉祜族",
    "水族",
    "东乡族",
    "纳西族",
    "景颇族",
    "柯尔克孜族",
    "土族",
    "达斡尔族",
    "仫佬族",
    "羌族",
    "布朗族",
    "撒拉族",
    "毛南族",
    "仡佬族",
    "锡伯族",
    "阿昌族",
    "普米族",
    "塔吉克族",
    "怒族",
    "乌孜别克族",
    "俄罗斯族",
    "鄂温克族",
    "德昂族",
    "保安族",
    "裕固族",
    "京族",
    "塔塔尔族",
    "独龙族",
    "鄂伦春族",
    "赫哲族",
    "门巴族",
    "珞巴族",
    "基诺族",
    "各族",
];

/// The official name followed by its short forms (no duplicates).
pub fn with_aliases(name: &str) -> Vec<String> {
    let name = name.trim();
    let mut out = vec![name.to_string()];
    let mut push = |s: String| {
        if s.chars().count() >= 2 && !out.contains(&s) {
            out.push(s);
        }
    };
    for (suffix, short) in [("自治州", "州"), ("自治县", "县"), ("自治旗", "旗"), ("自治区", "")] {
        if let Some(stem) = name.strip_suffix(suffix) {
            let cut = ETHNIC_GROUPS.iter().filter_map(|e| stem.find(e)).min();
            if let Some(cut) = cut {
                let base = &stem[..cut];
                if !short.is_empty() {
                    push(format!("{base}{short}"));
                }
                push(base.to_string());
            }
            return out;
        }
    }
    if let Some(base) = name.strip_suffix("特区") {
        push(base.to_string());
        return out;
    }
    for suffix in ["市", "县", "区", "省"] {
        if let Some(base) = name.strip_suffix(suffix) {
            push(base.to_string());
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::with_aliases;

    #[test]
    fn short_forms() {
        assert_eq!(with_aliases("黔西南布依族苗族自治州"), vec!["黔西南布依族苗族自治州", "黔西南州", "黔西南"]);
        assert_eq!(with_aliases("威宁彝族回族苗族自治县"), vec!["威宁彝族回族苗族自治县", "威宁县", "威宁"]);
        assert_eq!(with_aliases("东莞市"), vec!["东莞市", "东莞"]);
        assert_eq!(with_aliases("六枝特区"), vec!["六枝特区", "六枝"]);
        assert_eq!(with_aliases("贵州省"), vec!["贵州省", "贵州"]);
        assert_eq!(with_aliases("城区"), vec!["城区"]);
        assert_eq!(with_aliases("广西壮族自治区"), vec!["广西壮族自治区", "广西"]);
    }
}

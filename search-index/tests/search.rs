//! Behaviour of `JobIndex`: tokenization, synonyms, filters, highlights, status and expiry,
//! persistence of documents and cursor, forgiving query syntax, upserts and deletes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use common::{fixture_id, fixture_number, load_postings, today};
use search_index::{JiebaTokenizer, JobDoc, JobIndex, SearchQuery, SearchResult, shared_jieba};
use tantivy::tokenizer::{TextAnalyzer, TokenStream};
use uuid::Uuid;

fn fixture_index() -> JobIndex {
    let index = JobIndex::in_ram().unwrap();
    let jobs: Vec<JobDoc> = load_postings().into_iter().map(|p| p.job).collect();
    index.apply(&jobs, &[], (10, 1)).unwrap();
    index
}

fn q(text: &str) -> SearchQuery {
    let mut query = SearchQuery::new(text, today());
    query.limit = 100;
    query
}

fn numbers(result: &SearchResult) -> Vec<u32> {
    result.hits.iter().map(|h| fixture_number(h.id)).collect()
}

fn job(n: u32, title: &str) -> JobDoc {
    JobDoc {
        id: fixture_id(n),
        title: title.to_string(),
        description: format!("{title}，包吃住"),
        skills: vec![],
        occupation_code: None,
        occupation_names: vec![],
        employer_name: "测试公司".to_string(),
        county_code: "522301".to_string(),
        prefecture_code: "522300".to_string(),
        province_code: "520000".to_string(),
        place_names: vec!["兴义市".to_string(), "黔西南布依族苗族自治州".to_string(), "贵州省".to_string()],
        wage_min: 4000,
        wage_max: 6000,
        cross_province: false,
        status: "open".to_string(),
        posted_at: Utc.with_ymd_and_hms(2026, 2, 1, 8, 0, 0).unwrap() + Duration::hours(i64::from(n)),
        expires_on: None,
    }
}

#[test]
fn tokenizer_cuts_real_postings_in_search_mode_with_ordinal_positions() {
    let mut analyzer = TextAnalyzer::from(JiebaTokenizer::new(shared_jieba()));
    let text = "黔西南布依族苗族自治州兴义市帮扶车间招聘缝纫工，会二保焊、氩弧焊工优先，包吃住，月薪5000-7000元";
    let mut stream = analyzer.token_stream(text);
    let mut tokens = Vec::new();
    while stream.advance() {
        let t = stream.token();
        tokens.push((t.text.clone(), t.position, t.offset_from, t.offset_to));
    }
    let words: Vec<&str> = tokens.iter().map(|t| t.0.as_str()).collect();
    for w in [
        "黔西南",
        "兴义市",
        "兴义",
        "帮扶车间",
        "帮扶",
        "车间",
        "缝纫工",
        "缝纫",
        "二保焊",
        "氩弧焊工",
        "焊工",
        "包吃住",
    ] {
        assert!(words.contains(&w), "{w} missing: {words:?}");
    }
    assert!(!words.contains(&"，"));
    // Offsets are byte offsets into the text; positions only ever grow by 0 or 1.
    let mut last = 0;
    for (word, pos, from, to) in &tokens {
        assert_eq!(&text[*from..*to], word);
        assert!(*pos == last || *pos == last + 1, "{tokens:?}");
        last = *pos;
    }
    // Inner words share the position of the word that contains them.
    let pos = |w: &str| tokens.iter().find(|t| t.0 == w).unwrap().1;
    assert_eq!(pos("帮扶"), pos("帮扶车间"));
    assert_eq!(pos("兴义"), pos("兴义市"));
}

#[test]
fn phrases_match_consecutive_words() {
    let index = fixture_index();
    let r = index.search(&q("\"手机配件流水线\"")).unwrap();
    assert_eq!(numbers(&r), vec![1]);
    // 餐厅服务 (a synonym entry) matches 餐厅服务员 through the inner word 服务.
    let r = index.search(&q("\"餐厅服务\"")).unwrap();
    assert!(numbers(&r).contains(&132), "{:?}", numbers(&r));
    assert!(index.search(&q("\"流水线手机配件\"")).unwrap().hits.is_empty());
}

#[test]
fn synonyms_widen_the_query_and_exact_words_rank_first() {
    let index = fixture_index();
    // 2 says 操作工, never 普工.
    assert!(numbers(&index.search(&q("普工")).unwrap()).contains(&2));
    // 96 is a 家政服务员 posting that never says 保姆.
    let r = index.search(&q("保姆")).unwrap();
    let found = numbers(&r);
    assert!(found.contains(&96), "{found:?}");
    // Postings that say 保姆 come before those found through synonyms.
    let exact: Vec<u32> = vec![97, 104, 110];
    for n in &exact {
        let rank = found.iter().position(|x| x == n).unwrap();
        assert!(rank < exact.len(), "{n} at {rank}: {found:?}");
    }
    // 炒菜师傅 (two jieba words) finds 厨师; 叉车工 finds 叉车司机; 焊工 finds 氩弧焊 postings.
    assert!(numbers(&index.search(&q("炒菜师傅")).unwrap()).contains(&121));
    assert!(numbers(&index.search(&q("叉车工")).unwrap()).contains(&66));
    assert!(numbers(&index.search(&q("焊工")).unwrap()).contains(&47));
    // Place short forms: 东莞 finds 东莞市, 黔西南州 finds 黔西南布依族苗族自治州.
    assert_eq!(index.search(&q("东莞")).unwrap().total, 41);
    assert_eq!(index.search(&q("黔西南州")).unwrap().total, 25);
}

#[test]
fn each_filter_restricts() {
    let index = fixture_index();
    let postings = load_postings();
    let count = |f: &dyn Fn(&JobDoc) -> bool| postings.iter().filter(|p| f(&p.job)).count();

    let mut query = q("");
    query.county_code = Some("522601".into());
    let r = index.search(&query).unwrap();
    assert_eq!(r.total, count(&|j| j.county_code == "522601"));
    assert!(r.hits.len() == r.total && r.total > 0);

    let mut query = q("");
    query.prefecture_code = Some("522300".into());
    assert_eq!(index.search(&query).unwrap().total, count(&|j| j.prefecture_code == "522300"));

    let mut query = q("焊工");
    query.province_code = Some("440000".into());
    let r = index.search(&query).unwrap();
    assert!(r.total > 0);
    for n in numbers(&r) {
        assert_eq!(postings[n as usize - 1].job.province_code, "440000");
    }

    // Occupation: a prefix on the hierarchy, not on the string.
    let mut query = q("");
    query.occupation_code = Some("6-18".into());
    let expected = count(&|j| j.occupation_code.as_deref().is_some_and(|c| c.starts_with("6-18-")));
    assert_eq!(index.search(&query).unwrap().total, expected);
    query.occupation_code = Some("6-18-02-04".into());
    assert_eq!(index.search(&query).unwrap().total, count(&|j| j.occupation_code.as_deref() == Some("6-18-02-04")));
    query.occupation_code = Some("6-1".into());
    assert_eq!(index.search(&query).unwrap().total, 0);
    query.occupation_code = Some("6".into());
    assert_eq!(
        index.search(&query).unwrap().total,
        count(&|j| j.occupation_code.as_deref().is_some_and(|c| c.starts_with("6-")))
    );

    let mut query = q("");
    query.min_wage = Some(10_000);
    let r = index.search(&query).unwrap();
    assert_eq!(r.total, count(&|j| j.wage_max >= 10_000));
    for n in numbers(&r) {
        assert!(postings[n as usize - 1].job.wage_max >= 10_000);
    }

    let mut query = q("");
    query.cross_province = Some(true);
    assert_eq!(index.search(&query).unwrap().total, count(&|j| j.cross_province));
    query.cross_province = Some(false);
    assert_eq!(index.search(&query).unwrap().total, count(&|j| !j.cross_province));

    // Filters combine.
    let mut query = q("叉车");
    query.province_code = Some("520000".into());
    query.min_wage = Some(5000);
    let r = index.search(&query).unwrap();
    assert_eq!(numbers(&r).len(), 3, "{:?}", numbers(&r));
}

#[test]
fn highlights_wrap_matches_in_em() {
    let index = fixture_index();
    let r = index.search(&q("氩弧焊")).unwrap();
    assert!(!r.hits.is_empty());
    let first = &r.hits[0];
    let title = first.highlights.get("title").expect("title highlight");
    assert!(title.contains("<em>") && title.contains("</em>"), "{title}");
    assert!(r.hits.iter().any(|h| h.highlights.get("description").is_some_and(|d| d.contains("<em>氩弧焊</em>"))));
    // HTML in postings is escaped.
    let index = JobIndex::in_ram().unwrap();
    let mut doc = job(1, "<b>焊工</b>");
    doc.description = "招聘焊工 <script>alert(1)</script>".into();
    index.apply(&[doc], &[], (1, 1)).unwrap();
    let h = &index.search(&q("焊工")).unwrap().hits[0].highlights;
    assert!(h["title"].contains("&lt;b&gt;<em>焊工</em>"), "{h:?}");
    assert!(!h["description"].contains("<script>"), "{h:?}");
    // No words, no highlights.
    assert!(index.search(&q("")).unwrap().hits[0].highlights.is_empty());
}

#[test]
fn closed_jobs_disappear_from_default_results() {
    let index = JobIndex::in_ram().unwrap();
    index.apply(&[job(1, "电焊工"), job(2, "电焊工")], &[], (1, 1)).unwrap();
    assert_eq!(index.search(&q("电焊工")).unwrap().total, 2);
    let mut closed = job(1, "电焊工");
    closed.status = "closed".into();
    index.apply(&[closed], &[], (1, 2)).unwrap();
    assert_eq!(index.num_docs(), 2);
    assert_eq!(numbers(&index.search(&q("电焊工")).unwrap()), vec![2]);
    let mut query = q("电焊工");
    query.status = Some("closed".into());
    assert_eq!(numbers(&index.search(&query).unwrap()), vec![1]);
}

#[test]
fn expired_jobs_are_excluded_unless_status_is_explicit() {
    let index = JobIndex::in_ram().unwrap();
    let mut expired = job(1, "保安");
    expired.expires_on = Some(today() - Duration::days(1));
    let mut last_day = job(2, "保安");
    last_day.expires_on = Some(today());
    let never = job(3, "保安");
    index.apply(&[expired, last_day, never], &[], (1, 1)).unwrap();
    let mut found = numbers(&index.search(&q("保安")).unwrap());
    found.sort();
    assert_eq!(found, vec![2, 3]);
    let mut found = numbers(&index.search(&q("")).unwrap());
    found.sort();
    assert_eq!(found, vec![2, 3]);
    let mut query = q("保安");
    query.status = Some("open".into());
    assert_eq!(index.search(&query).unwrap().total, 3);
    let mut query = q("保安");
    query.today = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    assert_eq!(index.search(&query).unwrap().total, 3);
}

#[test]
fn reopening_from_disk_keeps_documents_and_cursor() {
    let dir = std::env::temp_dir().join(format!("search-index-test-{}", Uuid::new_v4()));
    {
        let index = JobIndex::open(&dir).unwrap();
        assert_eq!(index.cursor(), None);
        assert_eq!(index.num_docs(), 0);
        index.apply(&[job(1, "叉车司机"), job(2, "电工")], &[], (100, 7)).unwrap();
        index.apply(&[job(3, "厨师")], &[fixture_id(2)], (101, 3)).unwrap();
        assert_eq!(index.cursor(), Some((101, 3)));
    }
    {
        let index = JobIndex::open(&dir).unwrap();
        assert_eq!(index.cursor(), Some((101, 3)));
        assert_eq!(index.num_docs(), 2);
        assert_eq!(numbers(&index.search(&q("叉车工")).unwrap()), vec![1]);
        assert!(index.search(&q("电工")).unwrap().hits.is_empty());
        // Highlights need the tokenizer, registered again on open.
        assert!(index.search(&q("厨师")).unwrap().hits[0].highlights.contains_key("title"));
        index.clear((200, 1)).unwrap();
    }
    let index = JobIndex::open(&dir).unwrap();
    assert_eq!(index.cursor(), Some((200, 1)));
    assert_eq!(index.num_docs(), 0);
    drop(index);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn odd_query_syntax_never_errors() {
    let index = fixture_index();
    let long = "焊工".repeat(3000);
    let queries = [
        "",
        " ",
        "\"",
        "\"\"",
        "\"焊工",
        "焊工\"",
        "(((",
        ")))",
        "(焊工",
        "焊工)",
        "AND(",
        "AND(焊工",
        "焊工 AND(",
        "OR",
        "焊工 OR",
        "OR 焊工",
        "NOT",
        "NOT 焊工",
        "-",
        "--焊工",
        "-焊工",
        "!焊工",
        ":",
        "title:",
        "title:焊工",
        ":焊工",
        "焊工:",
        "*",
        "焊*",
        "?",
        "焊工~2",
        "焊工^3",
        "^",
        "[1 TO 5]",
        "{a TO b}",
        "\\",
        "/",
        "/焊.*/",
        "+焊工 -电工",
        "&&",
        "||",
        "a:b:c",
        "😀",
        "焊工😀",
        "\u{0}",
        "\t\n",
        "＂焊工＂",
        "“电子厂”",
        "（焊工）",
        "《》",
        "，。、",
        &long,
    ];
    for text in queries {
        let r = index.search(&q(text));
        assert!(r.is_ok(), "{text:?}: {r:?}");
    }
    // What it understands it uses: exclusion and OR.
    let r = index.search(&q("焊工 -氩弧焊")).unwrap();
    assert!(r.total > 0 && !numbers(&r).contains(&47));
    let either = index.search(&q("月嫂 OR 蜡染")).unwrap().total;
    assert_eq!(either, index.search(&q("月嫂")).unwrap().total + index.search(&q("蜡染")).unwrap().total);
}

#[test]
fn all_words_required_then_any_when_nothing_matches() {
    let index = fixture_index();
    let both = index.search(&q("东莞 焊工")).unwrap();
    assert!(both.total > 0);
    for n in numbers(&both) {
        let p = &load_postings()[n as usize - 1];
        assert_eq!(p.job.county_code, "441900");
    }
    // No 东莞 蜡染 posting: any word is enough, so the page is not empty.
    let relaxed = index.search(&q("东莞 蜡染")).unwrap();
    assert!(relaxed.total > 0);
}

#[test]
fn empty_query_lists_newest_first_and_pages() {
    let index = fixture_index();
    let mut query = q("");
    query.limit = 1000; // clamped to 100
    let all = index.search(&query).unwrap();
    assert_eq!(all.total, 230);
    assert_eq!(all.hits.len(), 100);
    let postings = load_postings();
    let times: Vec<_> = numbers(&all).iter().map(|n| postings[*n as usize - 1].job.posted_at).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]));
    assert!(all.hits.iter().all(|h| h.score == 0.0));

    let mut page = q("");
    page.limit = 10;
    page.offset = 10;
    let second = index.search(&page).unwrap();
    assert_eq!(numbers(&second), numbers(&all)[10..20].to_vec());
    page.limit = 0; // clamped to 1
    assert_eq!(index.search(&page).unwrap().hits.len(), 1);
    page.offset = 1_000_000;
    let beyond = index.search(&page).unwrap();
    assert!(beyond.hits.is_empty());
    assert_eq!(beyond.total, 230);
}

#[test]
fn equal_scores_break_ties_by_newest() {
    let index = JobIndex::in_ram().unwrap();
    let docs: Vec<JobDoc> = (1..=5).map(|n| job(n, "焊工")).collect();
    index.apply(&docs, &[], (1, 1)).unwrap();
    assert_eq!(numbers(&index.search(&q("焊工")).unwrap()), vec![5, 4, 3, 2, 1]);
}

#[test]
fn upserts_replace_by_id_and_deletes_remove() {
    let index = JobIndex::in_ram().unwrap();
    assert_eq!(index.cursor(), None);
    index.apply(&[job(1, "电焊工"), job(2, "保安")], &[], (5, 1)).unwrap();
    index.apply(&[job(1, "厨师")], &[], (5, 2)).unwrap();
    assert_eq!(index.num_docs(), 2);
    assert!(index.search(&q("电焊工")).unwrap().hits.is_empty());
    assert_eq!(numbers(&index.search(&q("厨师")).unwrap()), vec![1]);
    // An id both upserted and deleted in one batch ends up deleted; deleting an unknown id is fine.
    index.apply(&[job(2, "保安")], &[fixture_id(2), fixture_id(99)], (6, 1)).unwrap();
    assert_eq!(index.num_docs(), 1);
    // The same id twice in one batch: the last one wins.
    index.apply(&[job(3, "电工"), job(3, "护工")], &[], (6, 2)).unwrap();
    assert_eq!(index.num_docs(), 2);
    assert_eq!(numbers(&index.search(&q("护工")).unwrap()), vec![3]);
    // An empty batch still moves the cursor.
    index.apply(&[], &[], (7, 9)).unwrap();
    assert_eq!(index.cursor(), Some((7, 9)));
    // A rebuild replaces everything in one commit.
    index.replace_all(vec![job(10, "月嫂"), job(11, "保姆")], (8, 1)).unwrap();
    assert_eq!(index.num_docs(), 2);
    assert_eq!(index.cursor(), Some((8, 1)));
    assert!(index.search(&q("护工")).unwrap().hits.is_empty());
    assert_eq!(index.search(&q("月嫂")).unwrap().total, 2); // 保姆 is a weak synonym of 月嫂
}

#[test]
fn highlights_survive_nested_words_at_every_fragment_boundary() {
    // Regression: tantivy's snippet code slices with token offsets and assumes tokens in text
    // order without overlap; jieba's inner words (黔西 / 西南 / 黔西南 inside a longer word) broke
    // that and panicked when a fragment boundary fell inside such a word.
    let index = JobIndex::in_ram().unwrap();
    let filler =
        "岗位职责：配合班组长完成生产任务，设备操作与日常保养。任职要求：年龄18-45周岁，身体健康，能吃苦耐劳。";
    let docs: Vec<JobDoc> = (0..60)
        .map(|i| {
            let mut d = job(i + 1, "电焊工");
            let prefix: String = filler.chars().cycle().take(i as usize * 2).collect();
            d.description = format!("{prefix}{filler}工作地点：贵州省黔西南布依族苗族自治州望谟县，招聘电焊工人。");
            d
        })
        .collect();
    index.apply(&docs, &[], (1, 1)).unwrap();
    for text in ["黔西南", "西南", "黔西南州 焊工", "电焊工", "焊工", "望谟", "贵州 焊工", "苗族"]
    {
        let mut query = q(text);
        query.limit = 100;
        let r = index.search(&query).unwrap();
        assert_eq!(r.hits.len(), 60, "{text}");
        for h in &r.hits {
            let d = h.highlights.get("description").unwrap_or_else(|| panic!("{text}: no highlight"));
            assert_eq!(d.matches("<em>").count(), d.matches("</em>").count(), "{d}");
            assert!(d.contains("<em>"), "{text}: {d}");
        }
    }
}

//! Relevance on a hand-written fixture of 230 postings and hand-labelled queries
//! (`tests/fixtures/queries.tsv`): mean recall@10 must be at least 0.9.
//!
//! recall@10 of a query = |relevant ∩ top 10| / min(|relevant|, 10), i.e. 1.0 when the first
//! page is filled with relevant postings (or holds all of them). recall@all (relevant found
//! anywhere in the results / relevant) is printed too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;

use common::{Posting, fixture_number, load_postings, today};
use search_index::{JobIndex, SearchQuery};

struct Labelled {
    name: String,
    query: SearchQuery,
    relevant: HashSet<u32>,
}

fn matches_atom(p: &Posting, atom: &str) -> bool {
    match atom.strip_prefix('@') {
        Some(code) => p.job.county_code == code || p.job.prefecture_code == code || p.job.province_code == code,
        None => p.tags.iter().any(|t| t == atom),
    }
}

fn load_queries(postings: &[Posting]) -> Vec<Labelled> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/queries.tsv");
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "bad line: {line}");
        let mut query = SearchQuery::new(cols[1], today());
        query.limit = 10;
        if cols[2] != "-" {
            for kv in cols[2].split(';') {
                let (k, v) = kv.split_once('=').unwrap();
                match k {
                    "province" => query.province_code = Some(v.to_string()),
                    "prefecture" => query.prefecture_code = Some(v.to_string()),
                    "county" => query.county_code = Some(v.to_string()),
                    "occupation" => query.occupation_code = Some(v.to_string()),
                    "min_wage" => query.min_wage = Some(v.parse().unwrap()),
                    "cross_province" => query.cross_province = Some(v.parse().unwrap()),
                    other => panic!("unknown filter {other}"),
                }
            }
        }
        let relevant: HashSet<u32> = postings
            .iter()
            .filter(|p| cols[3].split('|').any(|conj| conj.split('&').all(|atom| matches_atom(p, atom))))
            .map(|p| p.number)
            .collect();
        assert!(!relevant.is_empty(), "query {} has no relevant posting", cols[0]);
        out.push(Labelled { name: cols[0].to_string(), query, relevant });
    }
    out
}

#[test]
fn mean_recall_at_10_is_at_least_0_9() {
    let postings = load_postings();
    assert!(postings.len() >= 200);
    let index = JobIndex::in_ram().unwrap();
    let jobs: Vec<_> = postings.iter().map(|p| p.job.clone()).collect();
    index.apply(&jobs, &[], (1, 1)).unwrap();
    assert_eq!(index.num_docs(), postings.len() as u64);

    let queries = load_queries(&postings);
    assert!(queries.len() >= 30, "{} queries", queries.len());
    let mut sum10 = 0.0;
    let mut sum_all = 0.0;
    println!("{:<22} {:>4} {:>6} {:>9} {:>10}  misses in top 10", "query", "rel", "total", "recall@10", "recall@all");
    for l in &queries {
        let top = index.search(&l.query).unwrap();
        let top_ids: Vec<u32> = top.hits.iter().map(|h| fixture_number(h.id)).collect();
        let hit10 = top_ids.iter().filter(|n| l.relevant.contains(n)).count();
        let recall10 = hit10 as f64 / l.relevant.len().min(10) as f64;

        let mut all = l.query.clone();
        all.limit = 100;
        let everything = index.search(&all).unwrap();
        let found: HashSet<u32> = everything.hits.iter().map(|h| fixture_number(h.id)).collect();
        let recall_all = l.relevant.intersection(&found).count() as f64 / l.relevant.len() as f64;

        let misses: Vec<u32> = top_ids.iter().copied().filter(|n| !l.relevant.contains(n)).collect();
        println!(
            "{:<22} {:>4} {:>6} {:>9.2} {:>10.2}  {:?}",
            l.name,
            l.relevant.len(),
            top.total,
            recall10,
            recall_all,
            if recall10 < 1.0 { misses } else { vec![] }
        );
        sum10 += recall10;
        sum_all += recall_all;
    }
    let n = queries.len() as f64;
    let mean10 = sum10 / n;
    println!("{} queries: mean recall@10 = {:.3}, mean recall@all = {:.3}", queries.len(), mean10, sum_all / n);
    assert!(mean10 >= 0.9, "mean recall@10 {mean10:.3} < 0.9");
}

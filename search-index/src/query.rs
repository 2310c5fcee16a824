//! Turning what a job seeker typed into words to search.
//!
//! The grammar is deliberately small and never fails: anything it does not understand is read
//! as plain words.
//! - words are cut with jieba (default mode); each word is a *concept*: the word or one of its
//!   synonyms must occur (adjacent words that together form a synonym entry, 炒菜 + 师傅, are
//!   joined first);
//! - all concepts are required (AND); `A OR B` (also `|`, `||`) makes one concept of both;
//! - `"…"` (also “…” and 「…」) is an exact phrase without synonyms; an unbalanced quote is ignored;
//! - `-word`, `!word` and `NOT word` exclude;
//! - `AND`, `&&`, `+`, brackets, `:` (a `field:` prefix is dropped), `*`, `^`, `~` and other
//!   operator characters of Lucene-like syntaxes are ignored;
//! - filler words (招聘, 急招, 工作, 的, …) are dropped.

use jieba_rs::Jieba;

use crate::synonyms::Synonyms;
use crate::tokenizer::{fold_char, words};

/// Words that say nothing about the job (dropped from queries, never from documents).
const STOPWORDS: &[&str] = &[
    "的",
    "了",
    "和",
    "与",
    "及",
    "或",
    "在",
    "是",
    "有",
    "我",
    "要",
    "想",
    "找",
    "个",
    "一个",
    "什么",
    "哪里",
    "哪儿",
    "招聘",
    "急招",
    "诚聘",
    "高薪",
    "招",
    "聘",
    "求职",
    "找工作",
    "工作",
    "岗位",
    "职位",
    "附近",
    "最新",
    "多名",
    "若干",
    "数名",
    "一名",
    "人员",
];

/// A word to find: each form (the word itself, then its synonyms) is a sequence of jieba words
/// (one word: a term; several: a phrase) with a weight.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Concept {
    pub word: String,
    pub forms: Vec<(Vec<String>, f32)>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ParsedQuery {
    /// Conjunction of disjunctions of concepts.
    pub groups: Vec<Vec<Concept>>,
    /// Exact phrases (jieba words, at least two).
    pub phrases: Vec<Vec<String>>,
    /// Excluded words or phrases (jieba words, at least one).
    pub excluded: Vec<Vec<String>>,
}

impl ParsedQuery {
    /// Whether anything positive is searched (otherwise: browse, newest first).
    pub fn has_text(&self) -> bool {
        !self.groups.is_empty() || !self.phrases.is_empty()
    }
}

enum Raw {
    Word(String),
    Phrase(String),
}

pub(crate) fn parse(q: &str, jieba: &Jieba, synonyms: &Synonyms) -> ParsedQuery {
    let mut parsed = ParsedQuery::default();
    let mut pending_or = false;
    let mut negate_next = false;
    for raw in split_raw(q) {
        match raw {
            Raw::Phrase(text) => {
                let ws = words(jieba, &text);
                if negate_next {
                    negate_next = false;
                    if !ws.is_empty() {
                        parsed.excluded.push(ws);
                    }
                    continue;
                }
                match ws.len() {
                    0 => {}
                    1 => {
                        let concept = Concept { word: ws[0].clone(), forms: vec![(ws, 1.0)] };
                        push_concept(&mut parsed.groups, concept, &mut pending_or);
                    }
                    _ => parsed.phrases.push(ws),
                }
            }
            Raw::Word(chunk) => {
                match chunk.as_str() {
                    "or" | "|" | "||" => {
                        pending_or = !parsed.groups.is_empty();
                        continue;
                    }
                    "and" | "&&" | "&" | "+" => continue,
                    "not" => {
                        negate_next = true;
                        continue;
                    }
                    _ => {}
                }
                let (negated, body) = match chunk.strip_prefix(['-', '!']) {
                    Some(rest) if !rest.is_empty() => (true, rest),
                    _ => (std::mem::take(&mut negate_next), chunk.as_str()),
                };
                let body = strip_field_prefix(body);
                let cleaned = clean(body);
                for piece in cleaned.split_whitespace() {
                    if matches!(piece, "and" | "or" | "not") {
                        continue;
                    }
                    if negated {
                        let ws = words(jieba, piece);
                        if !ws.is_empty() {
                            parsed.excluded.push(ws);
                        }
                        continue;
                    }
                    for concept in concepts(piece, jieba, synonyms) {
                        push_concept(&mut parsed.groups, concept, &mut pending_or);
                    }
                }
            }
        }
    }
    parsed
}

fn push_concept(groups: &mut Vec<Vec<Concept>>, concept: Concept, pending_or: &mut bool) {
    if std::mem::take(pending_or)
        && let Some(last) = groups.last_mut()
    {
        if !last.iter().any(|c| c.word == concept.word) {
            last.push(concept);
        }
        return;
    }
    // A repeated word adds nothing to an AND.
    if groups.iter().any(|g| g.len() == 1 && g[0].word == concept.word) {
        return;
    }
    groups.push(vec![concept]);
}

/// Splits on whitespace and quotes; folds full-width forms and lowercases ASCII.
fn split_raw(q: &str) -> Vec<Raw> {
    let folded: String = q
        .chars()
        .map(|c| match c {
            '“' | '”' | '「' | '」' | '『' | '』' | '＂' => '"',
            c => fold_char(c),
        })
        .collect();
    let mut out = Vec::new();
    let mut rest = folded.as_str();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('"') {
            if let Some(end) = after.find('"') {
                out.push(Raw::Phrase(after[..end].to_string()));
                rest = &after[end + 1..];
            } else {
                // Unbalanced quote: read the rest as plain words.
                rest = after;
            }
            continue;
        }
        let end = rest.find(|c: char| c.is_whitespace() || c == '"').unwrap_or(rest.len());
        if end > 0 {
            out.push(Raw::Word(rest[..end].to_string()));
        }
        rest = &rest[end..];
        rest = rest.trim_start_matches(|c: char| c.is_whitespace());
    }
    out
}

/// Operator characters become spaces; a boost (`^2`) disappears with its number.
fn clean(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '^' {
            while chars.next_if(|d| d.is_ascii_digit() || *d == '.').is_some() {}
            out.push(' ');
        } else if is_operator(c) {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// `title:焊工` -> `焊工` (field names are ASCII).
fn strip_field_prefix(chunk: &str) -> &str {
    match chunk.split_once(':') {
        Some((field, rest)) if !field.is_empty() && field.chars().all(|c| c.is_ascii_alphabetic() || c == '_') => rest,
        _ => chunk,
    }
}

fn is_operator(c: char) -> bool {
    matches!(
        c,
        '(' | ')'
            | '['
            | ']'
            | '{'
            | '}'
            | '^'
            | '~'
            | '*'
            | '?'
            | ':'
            | '+'
            | '!'
            | '\\'
            | '/'
            | '<'
            | '>'
            | '='
            | '|'
            | '&'
            | '\''
            | '`'
            | ','
            | ';'
            | '，'
            | '。'
            | '、'
            | '；'
            | '：'
            | '？'
            | '！'
            | '（'
            | '）'
            | '【'
            | '】'
            | '《'
            | '》'
            | '…'
            | '·'
    )
}

/// The concepts of a run of text without spaces: jieba words, joined where several form a
/// synonym entry, filler words dropped.
fn concepts(piece: &str, jieba: &Jieba, synonyms: &Synonyms) -> Vec<Concept> {
    let ws = words(jieba, piece);
    let mut out = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        let mut taken = 1;
        let mut word = ws[i].clone();
        // Longest run of words (at most 4) that is a synonym entry.
        let max_run = (ws.len() - i).min(4);
        for run in (2..=max_run).rev() {
            let joined: String = ws[i..i + run].concat();
            if joined.chars().count() <= synonyms.max_key_chars() && synonyms.contains(&joined) {
                word = joined;
                taken = run;
                break;
            }
        }
        let own_words = if taken == 1 { vec![word.clone()] } else { ws[i..i + taken].to_vec() };
        i += taken;
        if taken == 1 && STOPWORDS.contains(&word.as_str()) {
            continue;
        }
        let mut forms: Vec<(Vec<String>, f32)> = vec![(own_words, 1.0)];
        for (syn, weight) in synonyms.expand(&word) {
            let syn_words = words(jieba, syn);
            if syn_words.is_empty() {
                continue;
            }
            match forms.iter_mut().find(|(w, _)| *w == syn_words) {
                Some(existing) => existing.1 = existing.1.max(*weight),
                None => forms.push((syn_words, *weight)),
            }
        }
        out.push(Concept { word, forms });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synonyms::shared_synonyms;
    use crate::tokenizer::shared_jieba;

    fn p(q: &str) -> ParsedQuery {
        parse(q, &shared_jieba(), shared_synonyms())
    }

    fn concept_words(parsed: &ParsedQuery) -> Vec<Vec<String>> {
        parsed.groups.iter().map(|g| g.iter().map(|c| c.word.clone()).collect()).collect()
    }

    #[test]
    fn words_become_required_concepts_with_synonyms() {
        let q = p("东莞 普工");
        assert_eq!(concept_words(&q), vec![vec!["东莞"], vec!["普工"]]);
        let pg = &q.groups[1][0];
        assert!(pg.forms.iter().any(|(w, k)| w == &vec!["操作工".to_string()] && *k < 1.0));
    }

    #[test]
    fn adjacent_words_join_into_a_synonym_entry() {
        let q = p("炒菜师傅");
        assert_eq!(concept_words(&q), vec![vec!["炒菜师傅"]]);
        assert!(q.groups[0][0].forms.iter().any(|(w, _)| w == &vec!["厨师".to_string()]));
    }

    #[test]
    fn stopwords_dropped() {
        assert_eq!(concept_words(&p("招聘焊工")), vec![vec!["焊工"]]);
        assert!(!p("招聘 的 工作").has_text());
    }

    #[test]
    fn or_phrases_and_exclusions() {
        let q = p("焊工 OR 电工 -保安 \"电子厂 招聘\"");
        assert_eq!(concept_words(&q), vec![vec!["焊工", "电工"]]);
        assert_eq!(q.excluded, vec![vec!["保安".to_string()]]);
        assert_eq!(q.phrases, vec![vec!["电子厂".to_string(), "招聘".to_string()]]);
    }

    #[test]
    fn broken_syntax_is_plain_words() {
        for q in
            ["\"焊工", "(焊工", "焊工)", "title:焊工", "AND(焊工", "焊工 AND", "OR", ":", "\"", "-", "NOT", "焊工^2~"]
        {
            let parsed = p(q);
            let all: Vec<String> = parsed.groups.iter().flatten().map(|c| c.word.clone()).collect();
            assert!(all.is_empty() || all == vec!["焊工".to_string()], "{q}: {all:?}");
        }
        assert_eq!(concept_words(&p("title:焊工")), vec![vec!["焊工"]]);
    }
}

//! A tantivy tokenizer around one shared jieba segmenter.
//!
//! Text is cut with jieba's default mode; every word longer than two characters is followed by
//! the 2- and 3-character dictionary words inside it, as jieba's search mode does
//! (黔西南州 -> 黔西 / 西南 / 黔西南 / 黔西南州). Unlike `tantivy-jieba`, positions are ordinal:
//! the n-th default-mode word has position n and its inner words share that position, so a
//! phrase query made of consecutive default-mode words matches, and so does one that uses an
//! inner word (餐厅服务 matches 餐厅服务员 because 服务 sits at the position of 服务员).
//!
//! Tokens without a letter or digit (spaces, punctuation) are dropped and take no position.
//! Token text is normalised: ASCII lowercased and full-width ASCII folded to half-width.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use jieba_rs::Jieba;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Name under which the tokenizer is registered in the index.
pub const TOKENIZER_NAME: &str = "qianlink_zh";

/// jieba's HMM finds words the dictionary lacks (names, new words); used on both sides.
const HMM: bool = true;

/// Longest token kept, in bytes (tantivy's limit is far higher; longer runs are noise).
const MAX_TOKEN_BYTES: usize = 64;

static DOMAIN_DICT: &str = include_str!("../dict.txt");

static JIEBA: LazyLock<Arc<Jieba>> = LazyLock::new(|| Arc::new(build_jieba()));

/// The process-wide segmenter (built once, about 100 ms): the default dictionary plus the
/// words of `dict.txt`.
pub fn shared_jieba() -> Arc<Jieba> {
    Arc::clone(&JIEBA)
}

fn build_jieba() -> Jieba {
    let mut jieba = Jieba::new();
    for line in DOMAIN_DICT.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let Some(word) = parts.next() else { continue };
        let freq = parts.next().and_then(|f| f.parse::<usize>().ok());
        if freq.is_some() || jieba.cut(word, false).len() > 1 || !jieba.has_word(word) {
            jieba.add_word(word, freq, None);
        }
    }
    jieba
}

/// The tokenizer registered for every text field. Cloning is cheap (an `Arc` and an empty
/// buffer), which matters: tantivy clones the analyzer for each snippet.
#[derive(Clone)]
pub struct JiebaTokenizer {
    jieba: Arc<Jieba>,
    /// Reused between calls; slot 0 is a placeholder so the stream never indexes before it.
    tokens: Vec<Token>,
}

impl JiebaTokenizer {
    pub fn new(jieba: Arc<Jieba>) -> Self {
        JiebaTokenizer { jieba, tokens: Vec::new() }
    }
}

impl std::fmt::Debug for JiebaTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiebaTokenizer").finish_non_exhaustive()
    }
}

pub struct JiebaTokenStream<'a> {
    tokens: &'a mut Vec<Token>,
    index: usize,
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream<'a> {
        let mut buffer = TokenBuffer::start(&mut self.tokens);
        tokenize(&self.jieba, text, |word, from, to, position| buffer.push(word, from, to, position));
        buffer.finish()
    }
}

/// Fills a reusable `Vec<Token>` (slot 0 is the placeholder before the first `advance`).
struct TokenBuffer<'a> {
    tokens: &'a mut Vec<Token>,
    len: usize,
}

impl<'a> TokenBuffer<'a> {
    fn start(tokens: &'a mut Vec<Token>) -> Self {
        if tokens.is_empty() {
            tokens.push(Token::default());
        }
        TokenBuffer { tokens, len: 1 }
    }

    fn push(&mut self, word: &str, from: usize, to: usize, position: usize) {
        // Reuse the Strings of earlier calls rather than allocating one per token.
        if self.len == self.tokens.len() {
            self.tokens.push(Token::default());
        }
        let token = &mut self.tokens[self.len];
        token.offset_from = from;
        token.offset_to = to;
        token.position = position;
        token.position_length = 1;
        token.text.clear();
        normalize_into(word, &mut token.text);
        self.len += 1;
    }

    fn finish(self) -> JiebaTokenStream<'a> {
        self.tokens.truncate(self.len);
        JiebaTokenStream { tokens: self.tokens, index: 0 }
    }
}

/// The tokenizer used to build snippets of one search.
///
/// tantivy's snippet code needs tokens that do not overlap and come in text order (with the
/// overlapping inner words of [`JiebaTokenizer`] it slices out of bounds and panics). This one
/// knows the searched terms: a word that is a term is one token; otherwise the terms inside
/// it (longest first, left to right) become tokens of their own, and the rest of the word
/// tokens that match nothing.
#[derive(Clone)]
pub(crate) struct HighlightTokenizer {
    jieba: Arc<Jieba>,
    terms: Arc<HashSet<String>>,
    tokens: Vec<Token>,
}

impl HighlightTokenizer {
    pub(crate) fn new(jieba: Arc<Jieba>, terms: Arc<HashSet<String>>) -> Self {
        HighlightTokenizer { jieba, terms, tokens: Vec::new() }
    }
}

impl Tokenizer for HighlightTokenizer {
    type TokenStream<'a> = JiebaTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream<'a> {
        let mut buffer = TokenBuffer::start(&mut self.tokens);
        let mut position = 0;
        let mut starts: Vec<usize> = Vec::new();
        for token in self.jieba.cut(text, HMM) {
            let word = token.word;
            if word.len() > MAX_TOKEN_BYTES || !word.chars().any(char::is_alphanumeric) {
                continue;
            }
            let base = token.byte_start;
            let num_chars = token.end - token.start;
            if num_chars <= 2 || self.terms.contains(&normalize(word)) {
                buffer.push(word, base, base + word.len(), position);
                position += 1;
                continue;
            }
            starts.clear();
            starts.extend(word.char_indices().map(|(i, _)| i));
            starts.push(word.len());
            let (mut i, mut emitted_to) = (0, 0);
            while i + 1 < starts.len() {
                let found = [3usize, 2]
                    .into_iter()
                    .find(|n| i + n < starts.len() && self.terms.contains(&normalize(&word[starts[i]..starts[i + n]])));
                match found {
                    Some(n) => {
                        if emitted_to < starts[i] {
                            buffer.push(&word[emitted_to..starts[i]], base + emitted_to, base + starts[i], position);
                            position += 1;
                        }
                        buffer.push(&word[starts[i]..starts[i + n]], base + starts[i], base + starts[i + n], position);
                        position += 1;
                        emitted_to = starts[i + n];
                        i += n;
                    }
                    None => i += 1,
                }
            }
            if emitted_to < word.len() {
                buffer.push(&word[emitted_to..], base + emitted_to, base + word.len(), position);
                position += 1;
            }
        }
        buffer.finish()
    }
}

impl TokenStream for JiebaTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if self.index + 1 < self.tokens.len() {
            self.index += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.index]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index]
    }
}

/// Cuts `text` and calls `emit(word, byte_from, byte_to, position)` for each token, inner words
/// before the word that contains them.
pub(crate) fn tokenize<'t>(jieba: &Jieba, text: &'t str, mut emit: impl FnMut(&'t str, usize, usize, usize)) {
    let mut position = 0;
    let mut char_starts: Vec<usize> = Vec::new();
    for token in jieba.cut(text, HMM) {
        let word = token.word;
        if word.len() > MAX_TOKEN_BYTES || !word.chars().any(char::is_alphanumeric) {
            continue;
        }
        let num_chars = token.end - token.start;
        if num_chars > 2 {
            char_starts.clear();
            char_starts.extend(word.char_indices().map(|(i, _)| i));
            char_starts.push(word.len());
            for n in [2usize, 3] {
                if num_chars <= n {
                    break;
                }
                for i in 0..=num_chars - n {
                    let (a, b) = (char_starts[i], char_starts[i + n]);
                    let inner = &word[a..b];
                    if jieba.has_word(inner) && inner.chars().any(char::is_alphanumeric) {
                        emit(inner, token.byte_start + a, token.byte_start + b, position);
                    }
                }
            }
        }
        emit(word, token.byte_start, token.byte_end, position);
        position += 1;
    }
}

/// The default-mode words of `text` (normalised, punctuation dropped): what a phrase over
/// `text` must match, one word per position.
pub(crate) fn words(jieba: &Jieba, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for token in jieba.cut(text, HMM) {
        let word = token.word;
        if word.len() > MAX_TOKEN_BYTES || !word.chars().any(char::is_alphanumeric) {
            continue;
        }
        out.push(normalize(word));
    }
    out
}

/// Token text is the one normalisation of Qianlink ([`domain::text`]), shared with ranking.
pub(crate) use domain::text::{fold as normalize, fold_char};

fn normalize_into(text: &str, out: &mut String) {
    out.extend(text.chars().map(fold_char));
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::TextAnalyzer;

    fn tokens(text: &str) -> Vec<(String, usize)> {
        let mut analyzer = TextAnalyzer::from(JiebaTokenizer::new(shared_jieba()));
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            assert_eq!(normalize(&text[t.offset_from..t.offset_to]), t.text);
            out.push((t.text.clone(), t.position));
        }
        out
    }

    #[test]
    fn search_mode_with_ordinal_positions() {
        let t = tokens("贵州省黔西南州电子厂招聘普工和焊工");
        let words: Vec<&str> = t.iter().map(|(w, _)| w.as_str()).collect();
        for w in ["贵州", "贵州省", "黔西南", "黔西南州", "电子", "电子厂", "招聘", "普工", "焊工"]
        {
            assert!(words.contains(&w), "{w} missing from {words:?}");
        }
        let pos = |w: &str| t.iter().find(|(x, _)| x == w).map(|(_, p)| *p);
        assert_eq!(pos("贵州"), pos("贵州省"));
        assert_eq!(pos("电子"), pos("电子厂"));
        assert_eq!(pos("电子厂").map(|p| p + 1), pos("招聘"));
    }

    #[test]
    fn punctuation_dropped_ascii_lowercased() {
        let t = tokens("招聘ＣＮＣ操作工，SMT贴片！");
        let words: Vec<&str> = t.iter().map(|(w, _)| w.as_str()).collect();
        assert!(words.contains(&"smt"), "{words:?}");
        assert!(!words.iter().any(|w| *w == "，" || *w == "！"), "{words:?}");
        // positions are consecutive with no gap for punctuation
        let mut last = 0;
        for (_, p) in &t {
            assert!(*p == last || *p == last + 1);
            last = *p;
        }
    }

    #[test]
    fn highlight_tokens_do_not_overlap() {
        let terms: HashSet<String> = ["西南", "焊工", "包吃住"].iter().map(|s| s.to_string()).collect();
        let mut analyzer = TextAnalyzer::from(HighlightTokenizer::new(shared_jieba(), Arc::new(terms)));
        let text = "黔西南布依族苗族自治州招聘电焊工，包吃住";
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        let mut last_to = 0;
        while let Some(t) = stream.next() {
            assert!(t.offset_from >= last_to, "overlap at {t:?}");
            last_to = t.offset_to;
            out.push(t.text.clone());
        }
        for w in ["西南", "焊工", "包吃住", "黔", "电"] {
            assert!(out.contains(&w.to_string()), "{w} missing from {out:?}");
        }
    }

    #[test]
    fn domain_words_are_whole() {
        let j = shared_jieba();
        assert_eq!(words(&j, "月嫂"), vec!["月嫂"]);
        assert_eq!(words(&j, "会二保焊"), vec!["会", "二保焊"]);
        assert_eq!(words(&j, "普工"), vec!["普工"]);
    }

    #[test]
    fn empty_and_odd_input() {
        assert!(tokens("").is_empty());
        assert!(tokens("   ，。！").is_empty());
        let long = "a".repeat(500);
        assert!(tokens(&long).is_empty());
        let _ = tokens("\u{0}\u{FFFF}𠀀😀");
    }
}

//! The synonym dictionary shared by search and matching (`seed/synonyms.txt`):
//! `a = b = c` equivalent words, `a ~ b` (or `≈`) related words, `a => b, c`
//! one-way expansions. Lines starting with `#` are comments.

use std::collections::HashMap;

/// How close two words are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kinship {
    Related,
    Equivalent,
}

#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    /// word → (other word, kinship); words normalised by [`crate::text::normalize`].
    map: HashMap<String, Vec<(String, Kinship)>>,
}

fn norm(s: &str) -> String {
    crate::text::normalize(s)
}

fn split(text: &str, separators: &[char]) -> Vec<String> {
    text.split(|c| separators.contains(&c)).map(norm).filter(|w| !w.is_empty()).collect()
}

impl Synonyms {
    /// The one parser of the dictionary: search (`search-index`) and ranking
    /// (`matcher`) both read what this returns. `a => b, c` may have several
    /// sources (`a, d => b`); an `a = b` group may also be written `a, b`.
    pub fn parse(text: &str) -> Self {
        let mut map: HashMap<String, Vec<(String, Kinship)>> = HashMap::new();
        let mut link = |a: &str, b: &str, k: Kinship| {
            if a != b && !a.is_empty() && !b.is_empty() {
                let e = map.entry(a.to_owned()).or_default();
                match e.iter_mut().find(|(w, _)| w == b) {
                    Some(existing) => existing.1 = existing.1.max(k),
                    None => e.push((b.to_owned(), k)),
                }
            }
        };
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            if let Some((from, to)) = line.split_once("=>") {
                for f in split(from, &[',', '，']) {
                    for t in split(to, &[',', '，']) {
                        link(&f, &t, Kinship::Equivalent);
                    }
                }
                continue;
            }
            let (words, kin) = if line.contains('~') || line.contains('≈') {
                (split(line, &['~', '≈']), Kinship::Related)
            } else {
                (split(line, &['=', ',', '，']), Kinship::Equivalent)
            };
            for a in &words {
                for b in &words {
                    link(a, b, kin);
                }
            }
        }
        Self { map }
    }

    /// Every word that has related words, with them.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &[(String, Kinship)])> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// The words related to `word`, with how closely.
    pub fn of(&self, word: &str) -> &[(String, Kinship)] {
        self.map.get(&norm(word)).map(Vec::as_slice).unwrap_or(&[])
    }

    /// How `a` relates to `b`: `Some(Equivalent)` also when they are the same word.
    pub fn kinship(&self, a: &str, b: &str) -> Option<Kinship> {
        let (a, b) = (norm(a), norm(b));
        if a == b {
            return Some(Kinship::Equivalent);
        }
        self.map.get(&a).and_then(|v| v.iter().find(|(w, _)| *w == b).map(|(_, k)| *k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_one_way() {
        let s = Synonyms::parse("# c\n焊工 = 电焊工 = 电焊\n普工 ~ 装配工\n技工 => 电工, 焊工\nCNC = 数控\n");
        assert_eq!(s.kinship("焊工", "电焊"), Some(Kinship::Equivalent));
        assert_eq!(s.kinship("电焊", "焊工"), Some(Kinship::Equivalent));
        assert_eq!(s.kinship("普工", "装配工"), Some(Kinship::Related));
        assert_eq!(s.kinship("技工", "电工"), Some(Kinship::Equivalent));
        assert_eq!(s.kinship("电工", "技工"), None);
        assert_eq!(s.kinship("cnc", "数控"), Some(Kinship::Equivalent));
        assert_eq!(s.kinship("叉车", "焊工"), None);
    }
}

//! Query-time synonyms from `seed/synonyms.txt` (compiled in; shared with the matcher).

use std::collections::HashMap;
use std::sync::LazyLock;

use domain::synonyms::Kinship;

/// Weight of a member of an `a = b` group or the target of `a => b`.
pub const EQUIVALENT_WEIGHT: f32 = 0.8;
/// Weight of a member of an `a ~ b` group.
pub const RELATED_WEIGHT: f32 = 0.5;

static SYNONYMS_TXT: &str = include_str!("../../seed/synonyms.txt");

static SYNONYMS: LazyLock<Synonyms> = LazyLock::new(|| Synonyms::parse(SYNONYMS_TXT));

/// The compiled-in dictionary.
pub fn shared_synonyms() -> &'static Synonyms {
    &SYNONYMS
}

/// Word -> the other words to search for it, with their weights (best weight if a word is
/// reached by several groups).
#[derive(Debug, Default)]
pub struct Synonyms {
    expansions: HashMap<String, Vec<(String, f32)>>,
    /// Longest key, in characters: bounds how many query words are joined to look one up.
    max_key_chars: usize,
}

impl Synonyms {
    /// Weighted expansions of the one dictionary parser ([`domain::synonyms::Synonyms::parse`]),
    /// which ranking reads too.
    pub fn parse(text: &str) -> Synonyms {
        Self::from_dictionary(&domain::synonyms::Synonyms::parse(text))
    }

    pub fn from_dictionary(d: &domain::synonyms::Synonyms) -> Synonyms {
        let mut syn = Synonyms::default();
        for (from, related) in d.entries() {
            for (to, kin) in related {
                let weight = match kin {
                    Kinship::Equivalent => EQUIVALENT_WEIGHT,
                    Kinship::Related => RELATED_WEIGHT,
                };
                syn.add(from, to, weight);
            }
        }
        syn
    }

    fn add(&mut self, from: &str, to: &str, weight: f32) {
        if from == to || from.is_empty() || to.is_empty() {
            return;
        }
        self.max_key_chars = self.max_key_chars.max(from.chars().count());
        let list = self.expansions.entry(from.to_string()).or_default();
        match list.iter_mut().find(|(w, _)| w == to) {
            Some(entry) => entry.1 = entry.1.max(weight),
            None => list.push((to.to_string(), weight)),
        }
    }

    /// The synonyms of `word` (normalised), not including `word` itself.
    pub fn expand(&self, word: &str) -> &[(String, f32)] {
        self.expansions.get(word).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn contains(&self, word: &str) -> bool {
        self.expansions.contains_key(word)
    }

    pub fn max_key_chars(&self) -> usize {
        self.max_key_chars
    }

    /// Number of words that have at least one synonym.
    pub fn len(&self) -> usize {
        self.expansions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.expansions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_kinds() {
        let s = Synonyms::parse("# c\na = b = c\nx ~ y\nbig => small, tiny\n\nQC = 质检\n");
        assert!(s.expand("a").iter().any(|(w, k)| w == "b" && *k == EQUIVALENT_WEIGHT));
        assert!(s.expand("y").iter().any(|(w, k)| w == "x" && *k == RELATED_WEIGHT));
        assert_eq!(s.expand("big").len(), 2);
        assert!(s.expand("small").is_empty());
        assert!(s.expand("qc").iter().any(|(w, _)| w == "质检"));
    }

    #[test]
    fn shipped_dictionary_has_enough_groups() {
        let groups = SYNONYMS_TXT.lines().filter(|l| !l.trim().is_empty() && !l.trim().starts_with('#')).count();
        assert!(groups >= 30, "{groups} groups");
        let s = shared_synonyms();
        assert!(s.expand("普工").iter().any(|(w, _)| w == "操作工"));
        assert!(s.expand("保姆").iter().any(|(w, _)| w == "家政"));
        assert!(s.expand("焊工").iter().any(|(w, _)| w == "氩弧焊工"));
    }
}

//! The one text normalisation of Qianlink, shared by search (the tokenizer,
//! queries, synonyms) and ranking (skills, training skills, synonyms): a
//! full-width form folds to half-width (ＣＮＣ → CNC, ２０２４ → 2024, the
//! ideographic space → a space) and ASCII letters lowercase. Chinese text
//! is unchanged.

/// One character, normalised; a fold never changes the number of characters.
pub fn fold_char(c: char) -> char {
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    };
    c.to_ascii_lowercase()
}

/// `text` with every character folded (same characters count).
pub fn fold(text: &str) -> String {
    text.chars().map(fold_char).collect()
}

/// A term as stored and compared (a skill, a synonym entry): folded, and
/// trimmed of white space (the ideographic space included).
pub fn normalize(term: &str) -> String {
    fold(term).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_folds_and_ascii_lowercases() {
        assert_eq!(normalize("　ＣＮＣ操作工 "), "cnc操作工");
        assert_eq!(normalize("CNC"), normalize("ｃｎｃ"));
        assert_eq!(fold("２０２４年ＱＣ"), "2024年qc");
        assert_eq!(fold("焊工").chars().count(), 2);
    }
}

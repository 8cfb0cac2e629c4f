//! The passphrase rules shown while joining, and a strength estimate for the
//! meter. The estimate is deliberately simple: pool size from character
//! classes, times length, with penalties for repetition and sequences.

/// The minimum length, in characters.
pub const MIN_CHARS: usize = 12;

/// How a candidate passphrase measures up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assessment {
    /// At least [`MIN_CHARS`] characters.
    pub long_enough: bool,
    /// Not a repetition or a keyboard/number run.
    pub not_obvious: bool,
    /// 0 (none) to 4 (excellent).
    pub score: u8,
}

impl Assessment {
    /// Whether the rules allow it.
    pub fn acceptable(&self) -> bool {
        self.long_enough && self.not_obvious
    }
}

const COMMON: [&str; 8] = [
    "password",
    "motdepasse",
    "azerty",
    "qwerty",
    "123456",
    "estafette",
    "bonjour",
    "soleil",
];

/// Assesses `passphrase`.
pub fn assess(passphrase: &str) -> Assessment {
    let chars: Vec<char> = passphrase.chars().collect();
    let long_enough = chars.len() >= MIN_CHARS;
    let mut distinct = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let steps = chars
        .windows(2)
        .filter(|w| match w {
            [a, b] => (*b as i64 - *a as i64).abs() <= 1,
            _ => false,
        })
        .count();
    // The common words are ASCII: ASCII case folding finds them, without
    // linking the Unicode case tables.
    let lower = passphrase.to_ascii_lowercase();
    let common = COMMON.iter().any(|w| lower.contains(w));
    let mostly_sequence = chars.len() > 1 && steps * 10 >= (chars.len() - 1) * 7;
    let not_obvious = !chars.is_empty() && distinct.len() >= 5 && !mostly_sequence;

    let has = |f: fn(&char) -> bool| chars.iter().any(f);
    let mut pool = 0u32;
    if has(char::is_ascii_lowercase) {
        pool += 26;
    }
    if has(char::is_ascii_uppercase) {
        pool += 26;
    }
    if has(char::is_ascii_digit) {
        pool += 10;
    }
    if has(|c| c.is_ascii_punctuation() || *c == ' ') {
        pool += 33;
    }
    if has(|c| !c.is_ascii()) {
        pool += 60;
    }
    let effective = distinct.len().min(chars.len()) as f64 * 0.5 + chars.len() as f64 * 0.5;
    let mut bits = effective * f64::from(pool.max(1)).log2();
    if common {
        bits -= 25.0;
    }
    let score = if !long_enough || !not_obvious {
        if chars.is_empty() { 0 } else { 1 }
    } else if bits < 60.0 {
        2
    } else if bits < 85.0 {
        3
    } else {
        4
    };
    Assessment {
        long_enough,
        not_obvious,
        score,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_obvious_passphrases_are_refused() {
        assert_eq!(assess("").score, 0);
        assert!(!assess("court").acceptable());
        assert!(!assess("aaaaaaaaaaaaaaaa").acceptable());
        assert!(!assess("123456789012345").acceptable());
        assert!(!assess("abcdefghijklmnop").acceptable());
    }

    #[test]
    fn sentences_are_accepted_and_score_higher_when_longer() {
        let fair = assess("cheval bleu du");
        assert!(fair.acceptable());
        let long = assess("Le cheval bleu traverse la Loire à 7 h !");
        assert!(long.acceptable());
        assert!(long.score > fair.score, "{long:?} vs {fair:?}");
        assert_eq!(long.score, 4);
    }
}

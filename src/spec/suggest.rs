//! "Did you mean": the known word nearest to a misspelled one.

/// The most networks among which a network's misspelt name is guessed: a
/// person's slip is in a spec of a few, and a generated spec of thousands
/// would pay the product of its networks and its misspelt names.
pub(crate) const GUESSED_AMONG: usize = 256;

/// The candidate closest to `word` by edit distance, if it is close enough
/// to be a slip of the keyboard rather than another word: at most one edit
/// per four characters, and at least one, but never all of it (`y` is no
/// slip for `x`).
pub(crate) fn closest<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    // Config words are short; a long word is no misspelling of them, and
    // the distance below costs the product of the two lengths.
    if word.len() > 32 {
        return None;
    }
    let length = word.chars().count();
    let limit = (length / 4).max(1);
    candidates
        .into_iter()
        .map(|c| (distance(word, c), c))
        .filter(|&(d, c)| d > 0 && d <= limit && d < length && c.len() <= 32)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Edit distance counting a swap of two neighbouring letters as one edit,
/// as a typist makes it (`prot` for `port`, `expsoe` for `expose`): the
/// optimal string alignment distance, computed a row at a time with the
/// row before kept for the swaps.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut before: Vec<usize> = Vec::new();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut next = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let substitute = row[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            let mut best = substitute.min(row[j] + 1).min(next[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            next[j] = best;
        }
        before = std::mem::replace(&mut row, next);
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::{closest, distance};

    #[test]
    fn distances() {
        assert_eq!(distance("advertize", "advertise"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("ab", "b"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("same", "same"), 0);
        // A swap of neighbours is one edit.
        assert_eq!(distance("prot", "port"), 1);
        assert_eq!(distance("expsoe", "expose"), 1);
        assert_eq!(distance("ab", "ba"), 1);
        assert_eq!(distance("abc", "ca"), 3);
    }

    #[test]
    fn near_words_only() {
        let options = ["advertise", "expose", "shared"];
        assert_eq!(closest("advertize", options), Some("advertise"));
        assert_eq!(closest("exposse", options), Some("expose"));
        assert_eq!(closest("shared", options), None, "an exact word is no slip");
        assert_eq!(closest("metrics", options), None);
        assert_eq!(closest("expsoe", options), Some("expose"));
        assert_eq!(closest("prot", ["protocol", "port", "path"]), Some("port"));
        assert_eq!(closest("pubilc", ["public", "ops"]), Some("public"));
        assert_eq!(closest(&"x".repeat(10_000), options), None);
        // The cut-off is the word's length, not its distance: one letter
        // past 32 is no slip of a 32-letter word.
        let long = "a".repeat(32);
        assert_eq!(
            closest(&"a".repeat(31), [long.as_str()]),
            Some(long.as_str())
        );
        let near = format!("{}b", "a".repeat(31));
        assert_eq!(closest(&near, [long.as_str()]), Some(long.as_str()));
        assert_eq!(closest(&"a".repeat(33), [long.as_str()]), None);
    }
}

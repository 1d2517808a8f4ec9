//! Glob patterns as KEYS, SCAN MATCH and CONFIG GET use them: `*`, `?`, `[abc]`, `[^a]`,
//! `[a-z]` and `\` escapes (Redis's `stringmatchlen`).
#![deny(clippy::unwrap_used, clippy::indexing_slicing)]

/// Whether `s` matches `pattern`.
///
/// ```
/// use bitcask_server::glob::matches;
/// assert!(matches(b"user:*", b"user:42"));
/// assert!(matches(b"h[ae]llo", b"hallo"));
/// assert!(!matches(b"h[^e]llo", b"hello"));
/// ```
pub fn matches(pattern: &[u8], s: &[u8]) -> bool {
    Pattern::new(pattern).matches(s)
}

/// A pattern prepared once for matching many strings (KEYS, SCAN MATCH): runs of `*` are
/// one `*`, and where the rest of the pattern is only stars is known in advance, so
/// matching one string costs O(len²) steps at worst whatever the pattern's length (a
/// pattern of 20,000 stars costs what `*` does).
#[derive(Debug, Clone)]
pub struct Pattern {
    pattern: Vec<u8>,
    /// `only_stars[p]`: everything from `p` on is `*`.
    only_stars: Vec<bool>,
}

impl Pattern {
    /// Prepares `pattern`.
    pub fn new(pattern: &[u8]) -> Pattern {
        let mut out = Vec::with_capacity(pattern.len());
        let (mut i, mut last_star) = (0, false);
        while i < pattern.len() {
            let n = element_len(pattern, i);
            let el = pattern.get(i..i + n).unwrap_or_default();
            let star = el == b"*";
            if !(star && last_star) {
                out.extend_from_slice(el);
            }
            last_star = star;
            i += n;
        }
        let mut only_stars = vec![true; out.len() + 1];
        for p in (0..out.len()).rev() {
            let rest = only_stars.get(p + 1).copied().unwrap_or(true);
            if let Some(slot) = only_stars.get_mut(p) {
                *slot = rest && out.get(p) == Some(&b'*');
            }
        }
        Pattern { pattern: out, only_stars }
    }

    /// Whether `s` matches.
    pub fn matches(&self, s: &[u8]) -> bool {
        let pattern = self.pattern.as_slice();
        // Iterative with one backtrack point for `*`: never exponential.
        let (mut p, mut i) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        loop {
            if let Some(np) = step(pattern, p, s, i) {
                match np {
                    Step::Star => {
                        star = Some((p + 1, i));
                        p += 1;
                        continue;
                    }
                    Step::Matched(np) => {
                        p = np;
                        i += 1;
                        continue;
                    }
                }
            }
            // At the end of `s`, the rest of the pattern must be stars (none: both ended).
            if i >= s.len() && self.only_stars.get(p).copied().unwrap_or(true) {
                return true;
            }
            match star {
                Some((sp, si)) if si < s.len() => {
                    star = Some((sp, si + 1));
                    p = sp;
                    i = si + 1;
                }
                _ => return false,
            }
        }
    }
}

/// The length of the pattern element at `i`: a `\`-escaped byte, a `[...]` class (to the
/// end of the pattern when unclosed, as Redis), or one byte.
fn element_len(pattern: &[u8], i: usize) -> usize {
    match pattern.get(i) {
        Some(b'\\') if i + 1 < pattern.len() => 2,
        Some(b'[') => {
            let mut j = i + 1;
            if pattern.get(j) == Some(&b'^') {
                j += 1;
            }
            loop {
                match pattern.get(j) {
                    None => return pattern.len() - i,
                    Some(b']') => return j + 1 - i,
                    Some(b'\\') if j + 1 < pattern.len() => j += 2,
                    Some(_) if pattern.get(j + 1) == Some(&b'-') && j + 2 < pattern.len() => j += 3,
                    Some(_) => j += 1,
                }
            }
        }
        _ => 1,
    }
}

enum Step {
    /// A `*` at `p`.
    Star,
    /// The byte at `i` matched the element at `p`; the next element starts here.
    Matched(usize),
}

/// Matches one pattern element at `p` against the byte at `i`.
fn step(pattern: &[u8], p: usize, s: &[u8], i: usize) -> Option<Step> {
    let &pc = pattern.get(p)?;
    if pc == b'*' {
        return Some(Step::Star);
    }
    let &c = s.get(i)?;
    match pc {
        b'?' => Some(Step::Matched(p + 1)),
        b'[' => class(pattern, p + 1, c),
        b'\\' if p + 1 < pattern.len() => {
            (pattern.get(p + 1) == Some(&c)).then_some(Step::Matched(p + 2))
        }
        _ => (pc == c).then_some(Step::Matched(p + 1)),
    }
}

/// A `[...]` class starting after the `[` at `p`.
fn class(pattern: &[u8], mut p: usize, c: u8) -> Option<Step> {
    let negate = pattern.get(p) == Some(&b'^');
    if negate {
        p += 1;
    }
    let mut hit = false;
    loop {
        match pattern.get(p) {
            // An unclosed class ends at the pattern's end (as Redis).
            None => {
                p = pattern.len().saturating_sub(1);
                break;
            }
            Some(b']') => break,
            Some(b'\\') if p + 1 < pattern.len() => {
                p += 1;
                hit |= pattern.get(p) == Some(&c);
            }
            Some(&lo) if pattern.get(p + 1) == Some(&b'-') && p + 2 < pattern.len() => {
                let hi = pattern.get(p + 2).copied().unwrap_or(lo);
                let (lo, hi) = if lo > hi { (hi, lo) } else { (lo, hi) };
                hit |= (lo..=hi).contains(&c);
                p += 2;
            }
            Some(&x) => hit |= x == c,
        }
        p += 1;
    }
    (hit != negate).then_some(Step::Matched(p + 1))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs_match_as_redis_does() {
        for (p, s, want) in [
            ("*", "", true),
            ("*", "anything", true),
            ("a*", "abc", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbbd", false),
            ("*b*", "abc", true),
            ("h?llo", "hello", true),
            ("h?llo", "hllo", false),
            ("h[ae]llo", "hello", true),
            ("h[ae]llo", "hillo", false),
            ("h[^e]llo", "hallo", true),
            ("h[a-b]llo", "hbllo", true),
            ("h[b-a]llo", "hallo", true),
            ("h\\*llo", "h*llo", true),
            ("h\\*llo", "hello", false),
            ("", "", true),
            ("", "a", false),
            ("a**", "a", true),
            ("*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
            ("user:[0-9]*", "user:7x", true),
            ("[abc", "c", true),
            ("a***b", "axxb", true),
            ("[*]**", "*", true),
            ("[*]**", "a", false),
            ("\\***", "*", true),
            ("\\***", "a", false),
        ] {
            assert_eq!(matches(p.as_bytes(), s.as_bytes()), want, "{p:?} vs {s:?}");
        }
    }

    #[test]
    fn a_pattern_of_many_stars_costs_what_one_star_does() {
        let stars = super::Pattern::new(&[b'*'; 20_000]);
        assert_eq!(stars.pattern, b"*");
        let alternating: Vec<u8> = b"*a".repeat(10_000);
        let p = super::Pattern::new(&alternating);
        assert!(p.matches(&b"a".repeat(10_000)) && !p.matches(b"aaaa"));
        let long = super::Pattern::new(&[b"x".as_slice(), &[b'*'; 20_000], b"y"].concat());
        assert!(long.matches(b"x12y") && !long.matches(b"x12z"));
    }
}

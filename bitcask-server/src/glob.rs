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
    // Iterative with one backtrack point for `*`: linear in practice, never exponential.
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
        if p >= pattern.len() && i >= s.len() {
            return true;
        }
        // Trailing stars match the empty rest.
        if i >= s.len() && pattern.get(p..).is_some_and(|r| r.iter().all(|&b| b == b'*')) {
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
        ] {
            assert_eq!(matches(p.as_bytes(), s.as_bytes()), want, "{p:?} vs {s:?}");
        }
    }
}

//! Scores as a sorted set stores and orders them: an element's stored member is its score,
//! in 8 bytes that sort as the scores do, followed by the member, so an open rebuilds the
//! order from the keys alone.

use std::cmp::Ordering;
use std::collections::BTreeSet;

/// A score as the order holds it: ordered totally, `-0` taken as `0` (so equal scores
/// order by member, as Redis orders them). Never NaN.
#[derive(Debug, Clone, Copy)]
pub struct Score(pub f64);

impl PartialEq for Score {
    fn eq(&self, other: &Score) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Score) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Score) -> Ordering {
        (self.0 + 0.0).total_cmp(&(other.0 + 0.0))
    }
}

/// A sorted set's members in order: by score, then by member bytes.
pub type Ranked = BTreeSet<(Score, Box<[u8]>)>;

const SIGN: u64 = 1 << 63;

/// The stored member of sorted-set element `member` with `score`: the score in 8 bytes
/// that sort as the scores do (`-0` stored as `0`), then the member.
pub fn score_member(score: f64, member: &[u8]) -> Vec<u8> {
    let bits = (score + 0.0).to_bits();
    let sortable = if bits & SIGN != 0 { !bits } else { bits | SIGN };
    let mut out = Vec::with_capacity(8 + member.len());
    out.extend_from_slice(&sortable.to_be_bytes());
    out.extend_from_slice(member);
    out
}

/// The score and member a sorted-set element's stored member names (`None`: too short, or
/// a NaN score).
pub fn member_score(stored: &[u8]) -> Option<(f64, &[u8])> {
    let (s, member) = stored.split_first_chunk::<8>()?;
    let s = u64::from_be_bytes(*s);
    let score = f64::from_bits(if s & SIGN != 0 { s & !SIGN } else { !s });
    (!score.is_nan()).then_some((score, member))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_members_sort_as_scores_and_round_trip() {
        let scores =
            [f64::NEG_INFINITY, -1e300, -2.5, -1.0, 0.0, 1e-300, 1.0, 2.5, 1e300, f64::INFINITY];
        let stored: Vec<Vec<u8>> = scores.iter().map(|&s| score_member(s, b"m")).collect();
        let mut sorted = stored.clone();
        sorted.sort();
        assert_eq!(stored, sorted);
        for (s, m) in scores.iter().zip(&stored) {
            assert_eq!(member_score(m), Some((*s, &b"m"[..])));
        }
        assert_eq!(score_member(-0.0, b""), score_member(0.0, b""));
        assert_eq!(member_score(b"short"), None);
        assert_eq!(member_score(&score_member(f64::NAN, b"x")), None);
    }
}

//! A sorted set's index: each member's score (beside the member, by position) and the
//! (score, member) order. An element's stored member is its score, in 8 bytes that sort as
//! the scores do, followed by the member: an open rebuilds the order from the keys alone.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use crate::collection::Collection;

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

/// A sorted set's members and scores.
impl Collection {
    /// The score of `member`, if it is one.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        let i = self.members.get_index_of(member)?;
        self.scores.get(i).copied()
    }

    /// Gives `member` `score` (adding it if new); its old score, if it had one.
    pub fn set_score(&mut self, member: &[u8], score: f64) -> Option<f64> {
        let score = score + 0.0;
        let (i, new) = self.members.insert_full(member.into());
        if new {
            self.scores.push(score);
            self.ranked.insert((Score(score), member.into()));
            return None;
        }
        let slot = self.scores.get_mut(i)?;
        let old = std::mem::replace(slot, score);
        if Score(old) != Score(score) {
            let m = self.ranked.take(&(Score(old), member.into()));
            self.ranked.insert((Score(score), m.map_or_else(|| member.into(), |(_, m)| m)));
        }
        Some(old)
    }

    /// Removes `member`; its score, if it was one.
    pub fn remove_scored(&mut self, member: &[u8]) -> Option<f64> {
        let (i, m) = self.members.swap_remove_full(member)?;
        let score = self.scores.swap_remove(i);
        self.ranked.remove(&(Score(score), m));
        Some(score)
    }

    /// The rank of `member` (0: the lowest score), if it is one. It counts the members
    /// before it: O(rank).
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(self.ranked.range(..(Score(score), member.into())).count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

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

    #[test]
    fn scores_order_members_and_updates_move_them() {
        let mut z = Collection::new(Kind::Zset, 1);
        assert_eq!(z.set_score(b"b", 2.0), None);
        assert_eq!(z.set_score(b"a", 2.0), None);
        assert_eq!(z.set_score(b"c", 1.0), None);
        let order = |z: &Collection| z.ranked.iter().map(|(_, m)| m.to_vec()).collect::<Vec<_>>();
        assert_eq!(order(&z), [b"c".to_vec(), b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(z.rank(b"b"), Some(2));
        assert_eq!(z.set_score(b"c", 3.0), Some(1.0));
        assert_eq!(order(&z), [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        assert_eq!(z.remove_scored(b"a"), Some(2.0));
        assert_eq!((z.score(b"a"), z.score(b"c"), z.rank(b"c")), (None, Some(3.0), Some(1)));
        assert_eq!((z.len(), z.ranked.len(), z.scores.len()), (2, 2, 2));
    }
}

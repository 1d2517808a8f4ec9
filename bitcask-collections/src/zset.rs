//! A sorted set's index: each member's score (beside the member, by position) and the
//! (score, member) order.

use crate::collection::Collection;
use crate::score::Score;

/// A sorted set's members and scores.
impl Collection {
    /// The score of `member`, if it is one.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        let i = self.members.get_index_of(member)?;
        self.scores().get(i).copied()
    }

    /// Gives `member` `score` (adding it if new); its old score, if it had one.
    pub fn set_score(&mut self, member: &[u8], score: f64) -> Option<f64> {
        let score = score + 0.0;
        let (i, new) = self.members.insert_full(member.into());
        let sorted = self.sorted_mut();
        if new {
            sorted.scores.push(score);
            sorted.ranked.insert((Score(score), member.into()));
            return None;
        }
        let old = std::mem::replace(sorted.scores.get_mut(i)?, score);
        if Score(old) != Score(score) {
            let m = sorted.ranked.take(&(Score(old), member.into()));
            sorted.ranked.insert((Score(score), m.map_or_else(|| member.into(), |(_, m)| m)));
        }
        Some(old)
    }

    /// Removes `member`; its score, if it was one.
    pub fn remove_scored(&mut self, member: &[u8]) -> Option<f64> {
        let (i, m) = self.members.swap_remove_full(member)?;
        let sorted = self.sorted_mut();
        let score = sorted.scores.swap_remove(i);
        sorted.ranked.remove(&(Score(score), m));
        Some(score)
    }

    /// The rank of `member` (0: the lowest score), if it is one. It counts the members
    /// before it: O(rank).
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(self.ranked().range(..(Score(score), member.into())).count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    #[test]
    fn scores_order_members_and_updates_move_them() {
        let mut z = Collection::new(Kind::Zset, 1);
        assert_eq!(z.set_score(b"b", 2.0), None);
        assert_eq!(z.set_score(b"a", 2.0), None);
        assert_eq!(z.set_score(b"c", 1.0), None);
        let order = |z: &Collection| z.ranked().iter().map(|(_, m)| m.to_vec()).collect::<Vec<_>>();
        assert_eq!(order(&z), [b"c".to_vec(), b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(z.rank(b"b"), Some(2));
        assert_eq!(z.set_score(b"c", 3.0), Some(1.0));
        assert_eq!(order(&z), [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        assert_eq!(z.remove_scored(b"a"), Some(2.0));
        assert_eq!((z.score(b"a"), z.score(b"c"), z.rank(b"c")), (None, Some(3.0), Some(1)));
        assert_eq!((z.len(), z.ranked().len(), z.scores().len()), (2, 2, 2));
    }
}

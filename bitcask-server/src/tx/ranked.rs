//! A sorted set's edits: the order changes at once in RAM; a new or changed score becomes
//! the element's record under its new key (the score is part of it), with a tombstone for
//! the old one.

use bitcask_collections::{score_member, Ranked};

use super::colls::Editor;

impl Editor<'_> {
    /// The members in order.
    pub fn ranked(&self) -> &Ranked {
        self.coll.ranked()
    }

    /// The scores, by the members' positions in [`Editor::members`].
    pub fn scores(&self) -> &[f64] {
        self.coll.scores()
    }

    /// The score of `member`, if it is one.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.coll.score(member)
    }

    /// The rank of `member` (0: the lowest score), if it is one.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        self.coll.rank(member)
    }

    /// Gives `member` `score`, adding it if new; its old score, if it had one.
    pub fn set_score(&mut self, member: &[u8], score: f64) -> Option<f64> {
        let old = self.coll.set_score(member, score);
        if old.is_some_and(|o| o + 0.0 == score + 0.0) {
            return old;
        }
        if let Some(o) = old {
            let k = self.element(&score_member(o, member));
            self.writes.push((k, None));
        }
        let k = self.element(&score_member(score, member));
        self.writes.push((k, Some((Vec::new(), 0))));
        old
    }

    /// Removes `member`; its score, if it was one.
    pub fn remove_scored(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.coll.remove_scored(member)?;
        let k = self.element(&score_member(score, member));
        self.writes.push((k, None));
        Some(score)
    }
}

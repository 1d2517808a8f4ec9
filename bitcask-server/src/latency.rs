//! The latency monitor: events (a command, a fast command) that took at least
//! `latency-monitor-threshold` milliseconds (0: off, Redis's default), each with its latest
//! and worst time and its last [`SAMPLES`] samples, at most one a second (the worst of that
//! second), as LATENCY LATEST, HISTORY and GRAPH show them.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Samples kept per event (as Redis).
pub const SAMPLES: usize = 160;

/// One event's record.
#[derive(Clone, Default)]
pub struct Event {
    /// (Unix seconds, milliseconds), oldest first.
    pub samples: VecDeque<(u64, u64)>,
    /// The worst time seen since the last reset.
    pub max: u64,
}

/// Every event's record.
#[derive(Default)]
pub struct Latency {
    events: Mutex<HashMap<&'static str, Event>>,
}

impl Latency {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<&'static str, Event>> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that `event` took `ms` milliseconds now.
    pub fn add(&self, event: &'static str, ms: u64) {
        self.add_at(event, crate::keyspace::now_ms() / 1000, ms);
    }

    fn add_at(&self, event: &'static str, now: u64, ms: u64) {
        let mut map = self.map();
        let e = map.entry(event).or_default();
        e.max = e.max.max(ms);
        match e.samples.back_mut() {
            Some(last) if last.0 == now => last.1 = last.1.max(ms),
            _ => {
                if e.samples.len() == SAMPLES {
                    e.samples.pop_front();
                }
                e.samples.push_back((now, ms));
            }
        }
    }

    /// Every event, by name.
    pub fn all(&self) -> Vec<(&'static str, Event)> {
        let mut v: Vec<_> = self.map().iter().map(|(k, e)| (*k, e.clone())).collect();
        v.sort_by_key(|(k, _)| *k);
        v
    }

    /// One event's record.
    pub fn get(&self, event: &[u8]) -> Option<Event> {
        self.map().iter().find(|(k, _)| k.as_bytes() == event).map(|(_, e)| e.clone())
    }

    /// Forgets the events named (all of them if none is); how many there were.
    pub fn reset(&self, events: &[&[u8]]) -> usize {
        let mut map = self.map();
        if events.is_empty() {
            let n = map.len();
            map.clear();
            return n;
        }
        let before = map.len();
        map.retain(|k, _| !events.contains(&k.as_bytes()));
        before - map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_keep_the_worst_of_a_second_and_the_last_160() {
        let l = Latency::default();
        l.add_at("command", 7, 5);
        l.add_at("command", 7, 9);
        l.add_at("command", 7, 3);
        let e = l.get(b"command").unwrap();
        assert_eq!((e.samples.len(), e.samples[0].1, e.max), (1, 9, 9));
        for second in 8..208 {
            l.add_at("command", second, second % 50);
        }
        let e = l.get(b"command").unwrap();
        assert_eq!((e.samples.len(), e.samples[0].0, e.max), (SAMPLES, 48, 49));
        assert_eq!(l.reset(&[b"nope"]), 0);
        assert_eq!(l.reset(&[]), 1);
        assert!(l.all().is_empty());
    }
}

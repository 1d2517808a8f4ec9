//! Keyspace notifications (`notify-keyspace-events`): the event classes, their letters as
//! CONFIG SET reads them and CONFIG GET shows them, and the events a command's write set
//! holds until it commits (then published as `__keyspace@<db>__:<key>` and
//! `__keyevent@<db>__:<event>`).

/// `K`: `__keyspace@<db>__:<key>` channels.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: `__keyevent@<db>__:<event>` channels.
pub const KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
pub const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u32 = 1 << 6;
/// `z`: sorted set commands.
pub const ZSET: u32 = 1 << 7;
/// `x`: a key expired.
pub const EXPIRED: u32 = 1 << 8;
/// `e`: a key was evicted.
pub const EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub const STREAM: u32 = 1 << 10;
/// `m`: a key was missed.
pub const KEY_MISS: u32 = 1 << 11;
/// `d`: module events.
pub const MODULE: u32 = 1 << 12;
/// `n`: a key was created.
pub const NEW: u32 = 1 << 13;
/// `A`: every class but `m` and `n`.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// The letters of the classes, in the order CONFIG GET shows them (after `A`).
const CLASSES: [(u8, u32); 11] = [
    (b'g', GENERIC),
    (b'$', STRING),
    (b'l', LIST),
    (b's', SET),
    (b'h', HASH),
    (b'z', ZSET),
    (b'x', EXPIRED),
    (b'e', EVICTED),
    (b't', STREAM),
    (b'd', MODULE),
    (b'n', NEW),
];

/// Reads CONFIG SET's letters; None for a letter that names no class.
pub fn parse(letters: &str) -> Option<u32> {
    let mut flags = 0;
    for c in letters.bytes() {
        flags |= match c {
            b'A' => ALL,
            b'K' => KEYSPACE,
            b'E' => KEYEVENT,
            b'm' => KEY_MISS,
            _ => CLASSES.iter().find(|(l, _)| *l == c)?.1,
        };
    }
    Some(flags)
}

/// The letters CONFIG GET shows for `flags` (as Redis writes them).
pub fn format(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        s.extend(CLASSES.iter().filter(|(_, f)| flags & f != 0).map(|(l, _)| char::from(*l)));
    }
    for (l, f) in [('K', KEYSPACE), ('E', KEYEVENT), ('m', KEY_MISS)] {
        if flags & f != 0 {
            s.push(l);
        }
    }
    s
}

/// One event waiting for its command's commit.
#[derive(Debug, Clone)]
pub struct Event {
    /// What happened (`set`, `del`, `expire`, ...).
    pub event: &'static str,
    /// The database of the key.
    pub db: u8,
    /// The key.
    pub key: Vec<u8>,
}

impl Event {
    /// The (channel, message) pairs `flags` asks for: the keyspace one, the keyevent one.
    pub fn messages(&self, flags: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut m = Vec::new();
        if flags & KEYSPACE != 0 {
            let mut ch = format!("__keyspace@{}__:", self.db).into_bytes();
            ch.extend_from_slice(&self.key);
            m.push((ch, self.event.as_bytes().to_vec()));
        }
        if flags & KEYEVENT != 0 {
            let ch = format!("__keyevent@{}__:{}", self.db, self.event).into_bytes();
            m.push((ch, self.key.clone()));
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_read_and_show_as_redis() {
        let shown = |s: &str| format(parse(s).unwrap());
        assert_eq!(shown("gKE"), "gKE");
        assert_eq!(shown("$lshzxeKE"), "$lshzxeKE");
        assert_eq!(shown("KA"), "AK");
        assert_eq!(shown("EA"), "AE");
        assert_eq!(shown("AnmKE"), "AKEm");
        assert_eq!(shown(""), "");
        assert_eq!(parse("Kq"), None);
    }
}

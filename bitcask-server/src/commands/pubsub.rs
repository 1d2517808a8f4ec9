//! Pub/sub commands: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBEs, PUBLISH,
//! SPUBLISH, PUBSUB. A subscription's confirmation is a push (RESP3) or an array (RESP2)
//! and is sent even under CLIENT REPLY OFF, as Redis sends it.

use super::args::{Args, Failure, Res};
use super::spec::{Cx, Spec, F_FAST, F_NOSCRIPT};
use crate::pubsub::{Kind, Subscriptions};

/// The pub/sub commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "subscribe", arity: -2, flags: F_NOSCRIPT, group: "pubsub", syntax: "channel [channel ...]", summary: "Listens for messages published to channels.", run: subscribe, ..Spec::NONE },
    Spec { name: "unsubscribe", arity: -1, flags: F_NOSCRIPT, group: "pubsub", syntax: "[channel [channel ...]]", summary: "Stops listening to messages posted to channels.", run: unsubscribe, ..Spec::NONE },
    Spec { name: "psubscribe", arity: -2, flags: F_NOSCRIPT, group: "pubsub", syntax: "pattern [pattern ...]", summary: "Listens for messages published to channels that match one or more patterns.", run: psubscribe, ..Spec::NONE },
    Spec { name: "punsubscribe", arity: -1, flags: F_NOSCRIPT, group: "pubsub", syntax: "[pattern [pattern ...]]", summary: "Stops listening to messages published to channels that match one or more patterns.", run: punsubscribe, ..Spec::NONE },
    Spec { name: "ssubscribe", arity: -2, flags: F_NOSCRIPT, keys: (1, -1, 1), group: "pubsub", syntax: "shardchannel [shardchannel ...]", summary: "Listens for messages published to shard channels.", run: ssubscribe, ..Spec::NONE },
    Spec { name: "sunsubscribe", arity: -1, flags: F_NOSCRIPT, keys: (1, -1, 1), group: "pubsub", syntax: "[shardchannel [shardchannel ...]]", summary: "Stops listening to messages posted to shard channels.", run: sunsubscribe, ..Spec::NONE },
    Spec { name: "publish", arity: 3, flags: F_FAST, group: "pubsub", syntax: "channel message", summary: "Posts a message to a channel.", run: publish, ..Spec::NONE },
    Spec { name: "spublish", arity: 3, flags: F_FAST, keys: (1, 1, 1), group: "pubsub", syntax: "shardchannel message", summary: "Post a message to a shard channel.", run: spublish, ..Spec::NONE },
    Spec { name: "pubsub", arity: -2, group: "pubsub", summary: "A container for Pub/Sub commands.", subs: PUBSUB, ..Spec::NONE },
];

/// PUBSUB's subcommands.
#[rustfmt::skip]
static PUBSUB: &[Spec] = &[
    Spec { name: "channels", arity: -2, group: "pubsub", syntax: "[pattern]", summary: "Returns the active channels.", run: channels, ..Spec::NONE },
    Spec { name: "numsub", arity: -2, group: "pubsub", syntax: "[channel [channel ...]]", summary: "Returns a count of subscribers to channels.", run: numsub, ..Spec::NONE },
    Spec { name: "numpat", arity: 2, group: "pubsub", summary: "Returns a count of unique pattern subscriptions.", run: numpat, ..Spec::NONE },
    Spec { name: "shardchannels", arity: -2, group: "pubsub", syntax: "[pattern]", summary: "Returns the active shard channels.", run: shardchannels, ..Spec::NONE },
    Spec { name: "shardnumsub", arity: -2, group: "pubsub", syntax: "[shardchannel [shardchannel ...]]", summary: "Returns the count of subscribers of shard channels.", run: shardnumsub, ..Spec::NONE },
];

/// A (un)subscription's confirmation: `verb`, the name (null: none), the count left.
fn confirm(cx: &mut Cx<'_>, kind: Kind, subscribe: bool, name: Option<&[u8]>, count: usize) {
    let head = if cx.out.resp3 { b'>' } else { b'*' };
    cx.out.buf.extend_from_slice(&[head, b'3', b'\r', b'\n']);
    cx.out.bulk(kind.verb(subscribe).as_bytes());
    cx.out.opt_bulk(name);
    cx.out.int(count as i64);
    cx.sess.pushed = true;
}

fn subscribe_to(cx: &mut Cx<'_>, args: &mut Args<'_>, kind: Kind) -> Res {
    let id = cx.sess.id;
    let mailbox = cx.sess.client.as_ref().map(|c| c.mailbox.clone()).unwrap_or_default();
    for name in args.rest() {
        let subs =
            cx.sess.pubsub.get_or_insert_with(|| Box::new(Subscriptions::new(id, mailbox.clone())));
        cx.srv.pubsub.subscribe(subs, kind, name);
        let count = subs.count(kind);
        confirm(cx, kind, true, Some(name), count);
    }
    cx.sess.pubsub_changed();
    Ok(())
}

fn unsubscribe_from(cx: &mut Cx<'_>, args: &mut Args<'_>, kind: Kind) -> Res {
    let named: Vec<Vec<u8>> = args.rest().iter().map(|n| n.to_vec()).collect();
    let names = match (&cx.sess.pubsub, named.is_empty()) {
        (Some(subs), true) => subs.names(kind),
        _ => named,
    };
    if names.is_empty() {
        let count = cx.sess.pubsub.as_ref().map_or(0, |s| s.count(kind));
        confirm(cx, kind, false, None, count);
    }
    for name in &names {
        let count = match cx.sess.pubsub.as_mut() {
            Some(subs) => {
                cx.srv.pubsub.unsubscribe(subs, kind, name);
                subs.count(kind)
            }
            None => 0,
        };
        confirm(cx, kind, false, Some(name), count);
    }
    cx.sess.pubsub_changed();
    Ok(())
}

fn subscribe(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    subscribe_to(cx, args, Kind::Channel)
}

fn unsubscribe(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    unsubscribe_from(cx, args, Kind::Channel)
}

fn psubscribe(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    subscribe_to(cx, args, Kind::Pattern)
}

fn punsubscribe(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    unsubscribe_from(cx, args, Kind::Pattern)
}

fn ssubscribe(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    subscribe_to(cx, args, Kind::Shard)
}

fn sunsubscribe(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    unsubscribe_from(cx, args, Kind::Shard)
}

fn publish_to(cx: &mut Cx<'_>, args: &mut Args<'_>, shard: bool) -> Res {
    let (channel, message) = (args.key(), args.key());
    let n = cx.srv.pubsub.publish(channel, message, shard, cx.srv.rt.pubsub_limit());
    cx.out.int(n as i64);
    Ok(())
}

fn publish(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    publish_to(cx, args, false)
}

fn spublish(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    publish_to(cx, args, true)
}

fn list_channels(cx: &mut Cx<'_>, args: &mut Args<'_>, shard: bool) -> Res {
    let pattern = match args.rest() {
        [] => None,
        [p] => Some(*p),
        _ => {
            let name = if shard { "SHARDCHANNELS" } else { "CHANNELS" };
            return Err(Failure::err(format!(
                "unknown subcommand or wrong number of arguments for '{name}'. Try PUBSUB HELP."
            )));
        }
    };
    let names = cx.srv.pubsub.channels(shard, pattern);
    cx.out.array(names.len());
    for n in &names {
        cx.out.bulk(n);
    }
    Ok(())
}

fn channels(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    list_channels(cx, args, false)
}

fn shardchannels(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    list_channels(cx, args, true)
}

fn count_subscribers(cx: &mut Cx<'_>, args: &mut Args<'_>, shard: bool) -> Res {
    let names = args.rest();
    // An array in both protocols, as Redis 7.0 replies.
    cx.out.array(2 * names.len());
    for n in names {
        cx.out.bulk(n);
        cx.out.int(cx.srv.pubsub.subscribers(shard, n) as i64);
    }
    Ok(())
}

fn numsub(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    count_subscribers(cx, args, false)
}

fn shardnumsub(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    count_subscribers(cx, args, true)
}

fn numpat(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    cx.out.int(cx.srv.pubsub.patterns() as i64);
    Ok(())
}

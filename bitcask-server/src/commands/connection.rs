//! Connection commands: PING, ECHO, QUIT, RESET, AUTH, HELLO.

use super::args::{is, shown, Args, Failure, Res};
use super::spec::{Cx, Spec, F_FAST, F_NOAUTH, F_NOSCRIPT, F_TXCONTROL};

/// The connection commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "ping", arity: -1, flags: F_FAST, group: "connection", summary: "Returns the server's liveliness response.", run: ping, ..Spec::NONE },
    Spec { name: "echo", arity: 2, flags: F_FAST, group: "connection", summary: "Returns the given string.", run: echo, ..Spec::NONE },
    Spec { name: "quit", arity: -1, flags: F_NOAUTH | F_TXCONTROL | F_FAST | F_NOSCRIPT, group: "connection", summary: "Closes the connection.", run: quit, ..Spec::NONE },
    Spec { name: "reset", arity: 1, flags: F_NOAUTH | F_TXCONTROL | F_FAST | F_NOSCRIPT, group: "connection", summary: "Resets the connection.", run: reset, ..Spec::NONE },
    Spec { name: "auth", arity: -2, flags: F_NOAUTH | F_FAST | F_NOSCRIPT, group: "connection", summary: "Authenticates the connection.", run: auth, ..Spec::NONE },
    Spec { name: "hello", arity: -1, flags: F_NOAUTH | F_FAST | F_NOSCRIPT, group: "connection", summary: "Handshakes with the server (RESP2 or RESP3).", run: hello, ..Spec::NONE },
];

fn ping(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    // A RESP2 subscriber reads every reply as a message: PING answers as one.
    if cx.sess.subscribed() && !cx.out.resp3 {
        let msg = match args.rest() {
            [] => &b""[..],
            [msg] => msg,
            _ => return Err(Failure::arity("ping")),
        };
        cx.out.array(2);
        cx.out.bulk(b"pong");
        cx.out.bulk(msg);
        return Ok(());
    }
    match args.rest() {
        [] => cx.out.simple("PONG"),
        [msg] => cx.out.bulk(msg),
        _ => return Err(Failure::arity("ping")),
    }
    Ok(())
}

fn echo(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    cx.out.bulk(args.key());
    Ok(())
}

fn quit(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    cx.sess.quit = true;
    cx.out.ok();
    Ok(())
}

fn reset(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    cx.sess.end_multi();
    if let Some(subs) = cx.sess.pubsub.as_mut() {
        cx.srv.pubsub.forget(subs);
        cx.sess.pubsub_changed();
    }
    if let Some(c) = &cx.sess.client {
        cx.srv.tracker.disable(c);
    }
    super::client::set_name(cx, String::new());
    cx.sess.reply = crate::session::ReplyMode::On;
    (cx.sess.db, cx.tx.db) = (0, 0);
    cx.out.resp3 = false;
    cx.sess.authed = cx.srv.rt.requirepass().is_none();
    cx.out.simple("RESET");
    Ok(())
}

/// Checks a user and password (a wrong one is counted and logged).
fn authenticate(cx: &mut Cx<'_>, user: &[u8], pass: &[u8]) -> Res {
    let Some(want) = cx.srv.rt.requirepass() else {
        return Err(Failure::err("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
    };
    if user == b"default" && constant_time_eq(pass, want.as_bytes()) {
        cx.sess.authed = true;
        Ok(())
    } else {
        cx.srv.auth_failed(&cx.sess.addr);
        Err(Failure::coded("WRONGPASS invalid username-password pair or user is disabled."))
    }
}

/// Compares `given` with `secret` in a time that depends only on `given`'s length: neither
/// where they first differ nor the secret's length shows.
fn constant_time_eq(given: &[u8], secret: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != secret.len());
    for (i, g) in given.iter().enumerate() {
        let s = secret.get(i % secret.len().max(1)).copied().unwrap_or(0);
        diff |= g ^ s;
    }
    diff == 0
}

fn auth(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (user, pass) = match args.rest() {
        [pass] => (&b"default"[..], *pass),
        [user, pass] => (*user, *pass),
        _ => return Err(Failure::syntax()),
    };
    authenticate(cx, user, pass)?;
    cx.out.ok();
    Ok(())
}

/// HELLO's protocol version, if given.
fn hello_proto(args: &mut Args<'_>) -> Result<Option<i64>, Failure> {
    let Some(v) = args.next() else { return Ok(None) };
    match crate::number::parse_i64(v) {
        Some(p @ (2 | 3)) => Ok(Some(p)),
        Some(_) => Err(Failure::coded("NOPROTO unsupported protocol version")),
        None => Err(Failure::err("Protocol version is not an integer or out of range")),
    }
}

fn hello(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let proto = hello_proto(args)?.unwrap_or(if cx.out.resp3 { 3 } else { 2 });
    let mut name = None;
    // As Redis: every option is read first, then the last AUTH given is checked.
    let mut credentials = None;
    while let Some(opt) = args.next() {
        match args.left() {
            n if n >= 2 && is(opt, "auth") => credentials = Some((args.key(), args.key())),
            n if n >= 1 && is(opt, "setname") => {
                name = Some(String::from_utf8_lossy(args.key()).into_owned())
            }
            _ => {
                return Err(Failure::err(format!("Syntax error in HELLO option '{}'", shown(opt))))
            }
        }
    }
    if let Some((user, pass)) = credentials {
        authenticate(cx, user, pass)?;
    }
    if !cx.sess.authed {
        return Err(Failure::coded("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    if let Some(n) = name {
        super::client::set_name(cx, n);
    }
    cx.out.resp3 = proto == 3;
    let out = &mut *cx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"bitcask");
    out.bulk(b"version");
    out.bulk(crate::REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(proto);
    out.bulk(b"id");
    out.int(cx.sess.id as i64);
    out.bulk(b"mode");
    out.bulk(if cx.srv.cluster.is_some() { b"cluster" } else { b"standalone" });
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

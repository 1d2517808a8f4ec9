//! CLIENT: a connection's identity (ID, SETNAME, GETNAME, SETINFO), what the connected
//! clients are doing (INFO, LIST), closing them (KILL), silencing replies (REPLY), holding
//! every client's commands (PAUSE, UNPAUSE); client-side caching's subcommands (TRACKING,
//! CACHING, GETREDIR, TRACKINGINFO) are in tracking.rs.

use std::sync::atomic::Ordering::Relaxed;

use super::args::{is, shown, Args, Failure, Res};
use super::spec::{Cx, Spec, F_ADMIN, F_FAST, F_NOSCRIPT};
use crate::clients::{Client, Filter};
use crate::session::ReplyMode;

/// The CLIENT command.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "client", arity: -2, flags: F_ADMIN | F_NOSCRIPT, group: "connection", summary: "A container for client connection commands.", subs: CLIENT, ..Spec::NONE },
];

/// CLIENT's subcommands.
#[rustfmt::skip]
static CLIENT: &[Spec] = &[
    Spec { name: "id", arity: 2, flags: F_FAST, group: "connection", summary: "Returns the unique client ID of the connection.", run: client_id, ..Spec::NONE },
    Spec { name: "getname", arity: 2, flags: F_FAST, group: "connection", summary: "Returns the name of the connection.", run: client_getname, ..Spec::NONE },
    Spec { name: "setname", arity: 3, flags: F_FAST, group: "connection", syntax: "<name>", summary: "Sets the connection name.", run: client_setname, ..Spec::NONE },
    Spec { name: "setinfo", arity: 4, flags: F_FAST, group: "connection", syntax: "<LIB-NAME|LIB-VER> <value>", summary: "Sets information specific to the client or connection.", run: client_setinfo, ..Spec::NONE },
    Spec { name: "info", arity: 2, group: "connection", summary: "Returns information about the connection.", run: client_info, ..Spec::NONE },
    Spec { name: "list", arity: -2, flags: F_ADMIN, group: "connection", syntax: "[TYPE <NORMAL|MASTER|REPLICA|PUBSUB>] [ID <id> [<id> ...]]", summary: "Lists open connections.", run: client_list, ..Spec::NONE },
    Spec { name: "unblock", arity: -3, flags: F_ADMIN, group: "connection", syntax: "<client-id> [TIMEOUT | ERROR]", summary: "Unblocks a client blocked by a blocking command from a different connection.", run: client_unblock, ..Spec::NONE },
    Spec { name: "kill", arity: -3, flags: F_ADMIN, group: "connection", syntax: "<ip:port> | [ID <id>] [TYPE <type>] [USER <user>] [ADDR <ip:port>] [LADDR <ip:port>] [SKIPME <YES|NO>]", summary: "Terminates open connections.", run: client_kill, ..Spec::NONE },
    Spec { name: "reply", arity: 3, group: "connection", syntax: "<ON|OFF|SKIP>", summary: "Instructs the server whether to reply to commands.", run: client_reply, ..Spec::NONE },
    Spec { name: "pause", arity: -3, flags: F_ADMIN, group: "connection", syntax: "<timeout> [WRITE|ALL]", summary: "Suspends commands processing.", run: client_pause, ..Spec::NONE },
    Spec { name: "unpause", arity: 2, flags: F_ADMIN, group: "connection", summary: "Resumes processing commands from paused clients.", run: client_unpause, ..Spec::NONE },
    Spec { name: "getredir", arity: 2, group: "connection", summary: "Returns the client ID to which the connection's tracking notifications are redirected (-1: tracking is off).", run: super::tracking::client_getredir, ..Spec::NONE },
    Spec { name: "trackinginfo", arity: 2, group: "connection", summary: "Returns information about server-assisted client-side caching for the connection.", run: super::tracking::client_trackinginfo, ..Spec::NONE },
    Spec { name: "tracking", arity: -3, group: "connection", syntax: "<ON|OFF> [REDIRECT <client-id>] [PREFIX <prefix> [PREFIX <prefix> ...]] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]", summary: "Controls server-assisted client-side caching for the connection.", run: super::tracking::client_tracking, ..Spec::NONE },
    Spec { name: "caching", arity: 3, group: "connection", syntax: "<YES|NO>", summary: "Instructs the server whether to track the keys in the next request.", run: super::tracking::client_caching, ..Spec::NONE },
    Spec { name: "no-evict", arity: 3, flags: F_ADMIN, group: "connection", syntax: "<ON|OFF>", summary: "Accepted (nothing is evicted).", run: on_off, ..Spec::NONE },
    Spec { name: "no-touch", arity: 3, flags: F_FAST, group: "connection", syntax: "<ON|OFF>", summary: "Accepted (nothing tracks access times).", run: on_off, ..Spec::NONE },
];

/// Sets the connection's name (empty: none), in the session and the client list.
pub fn set_name(cx: &mut Cx<'_>, name: String) {
    if let Some(c) = &cx.sess.client {
        c.names().name.clone_from(&name);
    }
    cx.sess.name = (!name.is_empty()).then_some(name);
}

/// A client name or library string: no spaces, newlines or other special characters.
fn plain(v: &[u8]) -> bool {
    v.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

fn client_id(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    cx.out.int(cx.sess.id as i64);
    Ok(())
}

fn client_getname(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    match &cx.sess.name {
        Some(name) => cx.out.bulk(name.as_bytes()),
        None => cx.out.null(),
    }
    Ok(())
}

fn client_setname(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let name = args.key();
    if !plain(name) {
        return Err(Failure::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    set_name(cx, String::from_utf8_lossy(name).into_owned());
    cx.out.ok();
    Ok(())
}

fn client_setinfo(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (attr, value) = (args.key(), args.key());
    let v = String::from_utf8_lossy(value).into_owned();
    if !plain(value) && !value.is_empty() {
        let a = String::from_utf8_lossy(attr).to_lowercase();
        return Err(Failure::err(format!(
            "{a} cannot contain spaces, newlines or special characters."
        )));
    }
    let is_name = is(attr, "lib-name");
    if !is_name && !is(attr, "lib-ver") {
        return Err(Failure::err(format!("Unrecognized option '{}'", shown(attr))));
    }
    if let Some(c) = &cx.sess.client {
        let mut names = c.names();
        *(if is_name { &mut names.lib_name } else { &mut names.lib_ver }) = v;
    }
    cx.out.ok();
    Ok(())
}

fn client_info(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let line = cx.sess.client.as_deref().map(|c| line(cx, c)).unwrap_or_default();
    cx.out.verbatim(&line);
    Ok(())
}

fn client_list(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let mut f = Filter::default();
    while let Some(opt) = args.next() {
        if is(opt, "type") && args.left() == 1 {
            f.normal = Some(client_type(args.key())?);
        } else if is(opt, "id") && args.left() >= 1 {
            let ids = args.rest().iter().map(|a| match crate::number::parse_i64(a) {
                Some(id) if id > 0 => Ok(id as u64),
                _ => Err(Failure::err("Invalid client ID")),
            });
            f.ids = Some(ids.collect::<Result<_, _>>()?);
        } else {
            return Err(Failure::syntax());
        }
    }
    let text: String = cx.srv.clients.select(&f).iter().map(|c| line(cx, c)).collect();
    cx.out.verbatim(&text);
    Ok(())
}

/// A TYPE of CLIENT LIST or KILL: whether it is `normal` (every client here is: the others
/// select none).
fn client_type(t: &[u8]) -> Result<bool, Failure> {
    match () {
        _ if is(t, "normal") => Ok(true),
        _ if ["master", "replica", "slave", "pubsub"].iter().any(|n| is(t, n)) => Ok(false),
        _ => Err(Failure::err(format!("Unknown client type '{}'", shown(t)))),
    }
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: ends a client's blocking pop (as at its timeout, or
/// with an UNBLOCKED error); 1 if it was blocked.
fn client_unblock(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let id = args.key();
    let error = match args.next() {
        None => false,
        Some(r) if is(r, "timeout") => false,
        Some(r) if is(r, "error") => true,
        Some(_) => return Err(Failure::err("CLIENT UNBLOCK reason should be TIMEOUT or ERROR")),
    };
    args.done()?;
    let id = crate::number::parse_i64(id).ok_or_else(Failure::not_int)?;
    let target = u64::try_from(id).ok().and_then(|id| cx.srv.clients.get(id));
    cx.out.int(i64::from(target.is_some_and(|c| c.unblock(error))));
    Ok(())
}

fn client_kill(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    if args.left() == 1 {
        // The old form: one address, OK or an error.
        let f = Filter {
            addr: Some(String::from_utf8_lossy(args.key()).into_owned()),
            ..Filter::default()
        };
        if kill(cx, &f) == 0 {
            return Err(Failure::err("No such client"));
        }
        cx.out.ok();
        return Ok(());
    }
    let mut f = Filter { skip: Some(cx.sess.id), ..Filter::default() };
    while let Some(opt) = args.next() {
        let Some(v) = args.next() else { return Err(Failure::syntax()) };
        let text = || String::from_utf8_lossy(v).into_owned();
        match () {
            _ if is(opt, "id") => match crate::number::parse_i64(v) {
                Some(id) if id > 0 => f.ids = Some(vec![id as u64]),
                _ => return Err(Failure::err("client-id should be greater than 0")),
            },
            _ if is(opt, "type") => f.normal = Some(client_type(v)?),
            _ if is(opt, "addr") => f.addr = Some(text()),
            _ if is(opt, "laddr") => f.laddr = Some(text()),
            _ if is(opt, "user") && is(v, "default") => {}
            _ if is(opt, "user") => {
                return Err(Failure::err(format!("No such user '{}'", shown(v))))
            }
            _ if is(opt, "skipme") && is(v, "yes") => f.skip = Some(cx.sess.id),
            _ if is(opt, "skipme") && is(v, "no") => f.skip = None,
            _ => return Err(Failure::syntax()),
        }
    }
    let n = kill(cx, &f);
    cx.out.int(n as i64);
    Ok(())
}

/// Closes the clients `f` selects (this one after its reply); how many.
fn kill(cx: &mut Cx<'_>, f: &Filter) -> usize {
    let killed = cx.srv.clients.kill(f);
    cx.srv.stats.connected_clients.fetch_sub(killed.len() as u64, Relaxed);
    killed.len()
}

fn client_reply(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let mode = args.key();
    cx.sess.reply = match () {
        _ if is(mode, "on") => ReplyMode::On,
        _ if is(mode, "off") => ReplyMode::Off,
        _ if is(mode, "skip") => ReplyMode::SkipNext,
        _ => return Err(Failure::syntax()),
    };
    cx.out.ok();
    Ok(())
}

fn client_pause(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let ms = match crate::number::parse_i64(args.key()) {
        Some(ms) if ms < 0 => return Err(Failure::err("timeout is negative")),
        Some(ms) => ms as u64,
        None => return Err(Failure::err("timeout is not an integer or out of range")),
    };
    let all = match args.next() {
        None => true,
        Some(m) if is(m, "all") => true,
        Some(m) if is(m, "write") => false,
        Some(_) => return Err(Failure::err("CLIENT PAUSE mode must be WRITE or ALL")),
    };
    args.done()?;
    cx.srv.clients.pause(ms, all);
    cx.out.ok();
    Ok(())
}

fn client_unpause(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    cx.srv.clients.unpause();
    cx.out.ok();
    Ok(())
}

fn on_off(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let v = args.key();
    if !is(v, "on") && !is(v, "off") {
        return Err(Failure::syntax());
    }
    cx.out.ok();
    Ok(())
}

/// One line of CLIENT LIST (Redis 7's fields, with Redis 7.2's lib-name and lib-ver).
fn line(cx: &Cx<'_>, c: &Client) -> String {
    let (cmd, db, multi, resp, idle) = c.state();
    let names = c.names().clone();
    let me = c.id == cx.sess.id;
    // This client's command runs now: its query buffer and arguments are known.
    let (qbuf, argv_mem, cmd) = match me {
        true => (cx.sess.qbuf, cx.sess.qbuf, cmd),
        false => (0, 0, cmd),
    };
    let [sub, psub, ssub] = c.subscription_counts();
    let tracking = c.tracking().clone();
    // Redis's letters, in its order: P pub/sub, x MULTI, t tracking, R its redirect is
    // gone, B BCAST; N for none.
    let mut flags: String = [
        (sub + psub + ssub > 0, 'P'),
        (multi >= 0, 'x'),
        (tracking.on, 't'),
        (tracking.broken, 'R'),
        (tracking.bcast, 'B'),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, f)| *f)
    .collect();
    if flags.is_empty() {
        flags.push('N');
    }
    let redir = if tracking.on { tracking.redirect as i64 } else { -1 };
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={idle} flags={flags} db={db} sub={sub} psub={psub} ssub={ssub} multi={multi} qbuf={qbuf} qbuf-free={} argv-mem={argv_mem} multi-mem=0 rbs={} rbp=0 obl=0 oll=0 omem=0 tot-mem={} events=r cmd={} user=default redir={redir} resp={resp} lib-name={} lib-ver={}\n",
        c.id,
        c.addr,
        c.laddr,
        c.fd,
        names.name,
        c.created.elapsed().as_secs(),
        crate::socket::READ_CHUNK.saturating_sub(qbuf),
        crate::socket::READ_CHUNK,
        crate::socket::READ_CHUNK + qbuf + 1024,
        cx.table.name_of(cmd),
        names.lib_name,
        names.lib_ver,
    )
}

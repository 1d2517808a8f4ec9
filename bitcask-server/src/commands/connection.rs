//! Connection commands: PING, ECHO, QUIT, RESET, AUTH, HELLO, CLIENT.

use super::args::{is, shown, Args, Failure, Res};
use super::spec::{Cx, Spec, F_ADMIN, F_FAST, F_NOAUTH, F_NOSCRIPT, F_TXCONTROL};

/// The connection commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "ping", arity: -1, flags: F_FAST, group: "connection", summary: "Returns the server's liveliness response.", run: ping, ..Spec::NONE },
    Spec { name: "echo", arity: 2, flags: F_FAST, group: "connection", summary: "Returns the given string.", run: echo, ..Spec::NONE },
    Spec { name: "quit", arity: -1, flags: F_NOAUTH | F_TXCONTROL | F_FAST | F_NOSCRIPT, group: "connection", summary: "Closes the connection.", run: quit, ..Spec::NONE },
    Spec { name: "reset", arity: 1, flags: F_NOAUTH | F_TXCONTROL | F_FAST | F_NOSCRIPT, group: "connection", summary: "Resets the connection.", run: reset, ..Spec::NONE },
    Spec { name: "auth", arity: -2, flags: F_NOAUTH | F_FAST | F_NOSCRIPT, group: "connection", summary: "Authenticates the connection.", run: auth, ..Spec::NONE },
    Spec { name: "hello", arity: -1, flags: F_NOAUTH | F_FAST | F_NOSCRIPT, group: "connection", summary: "Handshakes with the server (RESP2 or RESP3).", run: hello, ..Spec::NONE },
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
    Spec { name: "list", arity: 2, flags: F_ADMIN, group: "connection", summary: "Lists open connections.", run: client_list, ..Spec::NONE },
    Spec { name: "no-evict", arity: 3, flags: F_ADMIN, group: "connection", syntax: "<ON|OFF>", summary: "Accepted (nothing is evicted).", run: accepted, ..Spec::NONE },
    Spec { name: "no-touch", arity: 3, flags: F_FAST, group: "connection", syntax: "<ON|OFF>", summary: "Accepted (nothing tracks access times).", run: accepted, ..Spec::NONE },
];

fn ping(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
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
    cx.sess.name = None;
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
        set_name(cx, n);
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

fn set_name(cx: &mut Cx<'_>, name: String) {
    if let Some(c) = cx.srv.clients().get_mut(&cx.sess.id) {
        c.name.clone_from(&name);
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
    if is(attr, "lib-name") {
        cx.sess.lib.0 = Some(v);
    } else if is(attr, "lib-ver") {
        cx.sess.lib.1 = Some(v);
    } else {
        return Err(Failure::err(format!("Unrecognized option '{}'", shown(attr))));
    }
    cx.out.ok();
    Ok(())
}

fn client_info(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let line = client_line(cx, cx.sess.id);
    cx.out.verbatim(&line);
    Ok(())
}

fn client_list(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let ids: Vec<u64> = cx.srv.clients().keys().copied().collect();
    let text: String = ids.into_iter().map(|id| client_line(cx, id)).collect();
    cx.out.verbatim(&text);
    Ok(())
}

fn accepted(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    cx.out.ok();
    Ok(())
}

/// One line of CLIENT LIST.
fn client_line(cx: &Cx<'_>, id: u64) -> String {
    let clients = cx.srv.clients();
    let Some(c) = clients.get(&id) else { return String::new() };
    let (lib_name, lib_ver) = if id == cx.sess.id {
        (cx.sess.lib.0.clone().unwrap_or_default(), cx.sess.lib.1.clone().unwrap_or_default())
    } else {
        (String::new(), String::new())
    };
    format!(
        "id={id} addr={} laddr= fd=0 name={} age={} idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=client|list user=default redir=-1 resp={} lib-name={lib_name} lib-ver={lib_ver}\n",
        c.addr,
        c.name,
        c.created.elapsed().as_secs(),
        if cx.out.resp3 && id == cx.sess.id { 3 } else { 2 },
    )
}

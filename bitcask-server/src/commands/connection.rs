//! Connection commands: PING, ECHO, QUIT, RESET, AUTH, HELLO, SELECT, CLIENT.

use super::{int_arg, is, wrong_args, Cx};

pub fn ping(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    match argv {
        [_] => cx.out.simple("PONG"),
        [_, msg] => cx.out.bulk(msg),
        _ => wrong_args(cx.out, "ping"),
    }
}

pub fn echo(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    cx.out.bulk(argv.get(1).copied().unwrap_or_default());
}

pub fn quit(cx: &mut Cx<'_>, _: &[&[u8]]) {
    cx.sess.quit = true;
    cx.out.ok();
}

pub fn reset(cx: &mut Cx<'_>, _: &[&[u8]]) {
    cx.sess.end_multi();
    cx.sess.name = None;
    cx.out.resp3 = false;
    cx.sess.authed = cx.srv.cfg.requirepass.is_none();
    cx.out.simple("RESET");
}

/// Checks a user and password; replies the error and returns false when they are wrong.
fn authenticate(cx: &mut Cx<'_>, user: &[u8], pass: &[u8]) -> bool {
    let Some(want) = cx.srv.cfg.requirepass.as_deref() else {
        cx.out.err("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
        return false;
    };
    if user == b"default" && constant_time_eq(pass, want.as_bytes()) {
        cx.sess.authed = true;
        true
    } else {
        cx.srv.auth_failed(&cx.sess.addr);
        cx.out.error("WRONGPASS invalid username-password pair or user is disabled.");
        false
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

pub fn auth(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let (user, pass) = match argv {
        [_, pass] => (&b"default"[..], *pass),
        [_, user, pass] => (*user, *pass),
        _ => return cx.out.err("syntax error"),
    };
    if authenticate(cx, user, pass) {
        cx.out.ok();
    }
}

pub fn hello(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let mut proto = if cx.out.resp3 { 3 } else { 2 };
    let mut i = 1;
    if let Some(v) = argv.get(1) {
        match crate::number::parse_i64(v) {
            Some(p @ (2 | 3)) => proto = p,
            Some(_) => return cx.out.error("NOPROTO unsupported protocol version"),
            None => return cx.out.err("Protocol version is not an integer or out of range"),
        }
        i = 2;
    }
    let mut name = None;
    // As Redis: every option is read first, then the last AUTH given is checked.
    let mut credentials = None;
    while let Some(opt) = argv.get(i) {
        match (argv.get(i + 1), argv.get(i + 2)) {
            (Some(user), Some(pass)) if is(opt, "auth") => {
                credentials = Some((*user, *pass));
                i += 3;
            }
            (Some(n), _) if is(opt, "setname") => {
                name = Some(String::from_utf8_lossy(n).into_owned());
                i += 2;
            }
            _ => {
                return cx.out.err(&format!(
                    "Syntax error in HELLO option '{}'",
                    String::from_utf8_lossy(opt)
                ))
            }
        }
    }
    if let Some((user, pass)) = credentials {
        if !authenticate(cx, user, pass) {
            return;
        }
    }
    if !cx.sess.authed {
        return cx.out.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
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
}

pub fn select(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let Some(db) = int_arg(cx.out, argv.get(1).copied().unwrap_or_default()) else { return };
    if db == 0 {
        cx.out.ok();
    } else {
        cx.out.err("DB index is out of range");
    }
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

pub fn client(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let sub = argv.get(1).copied().unwrap_or_default();
    let sub_name = String::from_utf8_lossy(sub).to_lowercase();
    let n = argv.len();
    match sub_name.as_str() {
        "id" if n == 2 => cx.out.int(cx.sess.id as i64),
        "getname" if n == 2 => match &cx.sess.name {
            Some(name) => cx.out.bulk(name.as_bytes()),
            None => cx.out.null(),
        },
        "setname" if n == 3 => {
            let name = argv.get(2).copied().unwrap_or_default();
            if !plain(name) {
                return cx
                    .out
                    .err("Client names cannot contain spaces, newlines or special characters.");
            }
            set_name(cx, String::from_utf8_lossy(name).into_owned());
            cx.out.ok();
        }
        "setinfo" if n == 4 => {
            let (attr, value) = (
                argv.get(2).copied().unwrap_or_default(),
                argv.get(3).copied().unwrap_or_default(),
            );
            let v = String::from_utf8_lossy(value).into_owned();
            if !plain(value) && !value.is_empty() {
                let a = String::from_utf8_lossy(attr).to_lowercase();
                return cx
                    .out
                    .err(&format!("{a} cannot contain spaces, newlines or special characters."));
            }
            if is(attr, "lib-name") {
                cx.sess.lib.0 = Some(v);
            } else if is(attr, "lib-ver") {
                cx.sess.lib.1 = Some(v);
            } else {
                return cx
                    .out
                    .err(&format!("Unrecognized option '{}'", String::from_utf8_lossy(attr)));
            }
            cx.out.ok();
        }
        "info" if n == 2 => {
            let line = client_line(cx, cx.sess.id);
            cx.out.verbatim(&line);
        }
        "list" if n == 2 => {
            let ids: Vec<u64> = cx.srv.clients().keys().copied().collect();
            let text: String = ids.into_iter().map(|id| client_line(cx, id)).collect();
            cx.out.verbatim(&text);
        }
        "no-evict" | "no-touch" if n == 3 => cx.out.ok(),
        "help" => {
            let lines = [
                "CLIENT <subcommand> [<arg> ...]. Subcommands are:",
                "ID",
                "GETNAME",
                "SETNAME <name>",
                "SETINFO <LIB-NAME|LIB-VER> <value>",
                "INFO",
                "LIST",
                "HELP",
            ];
            cx.out.array(lines.len());
            for l in lines {
                cx.out.simple(l);
            }
        }
        "id" | "getname" | "setname" | "setinfo" | "info" | "list" | "no-evict" | "no-touch" => {
            wrong_args(cx.out, &format!("client|{sub_name}"))
        }
        _ => cx.out.err(&format!(
            "unknown subcommand '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(sub)
        )),
    }
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

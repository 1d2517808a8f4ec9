//! CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO: client-side caching's settings for
//! this connection, checked as Redis 7.0 checks them (the table and the invalidations are
//! in the server's tracking module).

use super::args::{is, Args, Failure, Res};
use super::spec::Cx;
use crate::clients::Client;
use crate::tracking::{collision, Options};

/// This connection's entry in the client list (a script's copy has none).
fn me(cx: &Cx<'_>) -> Result<std::sync::Arc<Client>, Failure> {
    cx.sess.client.clone().ok_or_else(|| Failure::err("no client entry for this connection"))
}

/// CLIENT TRACKING's options, in Redis's order of checks.
fn options(cx: &Cx<'_>, args: &mut Args<'_>) -> Result<Options, Failure> {
    let mut o = Options::default();
    while let Some(word) = args.next() {
        let more = args.left() > 0;
        if is(word, "redirect") && more {
            if o.redirect != 0 {
                return Err(Failure::err("A client can only redirect to a single other client"));
            }
            let id = args.int()?;
            if id <= 0 || cx.srv.clients.get(id as u64).is_none() {
                return Err(Failure::err("The client ID you want redirect to does not exist"));
            }
            o.redirect = id as u64;
        } else if is(word, "bcast") {
            o.bcast = true;
        } else if is(word, "optin") {
            o.optin = true;
        } else if is(word, "optout") {
            o.optout = true;
        } else if is(word, "noloop") {
            o.noloop = true;
        } else if is(word, "prefix") && more {
            o.prefixes.push(args.key().to_vec());
        } else {
            return Err(Failure::syntax());
        }
    }
    Ok(o)
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP].
pub fn client_tracking(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let mode = args.key();
    let o = options(cx, args)?;
    let client = me(cx)?;
    if is(mode, "off") {
        cx.srv.tracker.disable(&client);
        cx.out.ok();
        return Ok(());
    }
    if !is(mode, "on") {
        return Err(Failure::syntax());
    }
    if !o.bcast && !o.prefixes.is_empty() {
        return Err(Failure::err("PREFIX option requires BCAST mode to be enabled"));
    }
    let s = client.tracking().clone();
    if s.on && s.bcast != o.bcast {
        return Err(Failure::err("You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode."));
    }
    if o.bcast && (o.optin || o.optout) {
        return Err(Failure::err("OPTIN and OPTOUT are not compatible with BCAST"));
    }
    if o.optin && o.optout {
        return Err(Failure::err("You can't specify both OPTIN mode and OPTOUT mode"));
    }
    if (o.optin && s.optout) || (o.optout && s.optin) {
        return Err(Failure::err("You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode."));
    }
    if o.bcast {
        if let Some(text) = collision(&s.prefixes, &o.prefixes) {
            return Err(Failure::err(text));
        }
    }
    cx.srv.tracker.enable(&client, o);
    cx.out.ok();
    Ok(())
}

/// CLIENT CACHING YES|NO: whether the next command's keys are tracked (OPTIN, OPTOUT).
pub fn client_caching(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let v = args.key();
    let client = me(cx)?;
    let mut s = client.tracking();
    if !s.on {
        return Err(Failure::err("CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"));
    }
    let (allowed, why) = match () {
        _ if is(v, "yes") => {
            (s.optin, "CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
        }
        _ if is(v, "no") => {
            (s.optout, "CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
        }
        _ => return Err(Failure::syntax()),
    };
    if !allowed {
        return Err(Failure::err(why));
    }
    s.caching = true;
    drop(s);
    cx.out.ok();
    Ok(())
}

/// CLIENT GETREDIR: where invalidations go (0: here, -1: tracking is off).
pub fn client_getredir(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let s = me(cx)?.tracking().clone();
    cx.out.int(if s.on { s.redirect as i64 } else { -1 });
    Ok(())
}

/// CLIENT TRACKINGINFO: the flags, the redirect and the prefixes.
pub fn client_trackinginfo(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let s = me(cx)?.tracking().clone();
    // Redis's flags, in its order.
    let flags: Vec<&str> = [
        (true, if s.on { "on" } else { "off" }),
        (s.bcast, "bcast"),
        (s.optin, "optin"),
        (s.optin && s.caching, "caching-yes"),
        (s.optout, "optout"),
        (s.optout && s.caching, "caching-no"),
        (s.noloop, "noloop"),
        (s.broken, "broken_redirect"),
    ]
    .into_iter()
    .filter_map(|(set, name)| set.then_some(name))
    .collect();
    let out = &mut *cx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(flags.len());
    flags.iter().for_each(|f| out.bulk(f.as_bytes()));
    out.bulk(b"redirect");
    out.int(if s.on { s.redirect as i64 } else { -1 });
    out.bulk(b"prefixes");
    out.array(s.prefixes.len());
    s.prefixes.iter().for_each(|p| out.bulk(p));
    Ok(())
}

/// After each command but CLIENT (and outside MULTI's queueing), CLIENT CACHING's choice
/// is spent.
pub fn spend_caching(client: &Client) {
    if client.is_tracking() {
        client.tracking().caching = false;
    }
}

//! One connection: read, parse every complete request in the buffer, run them, wait for
//! the group commit when they wrote under `--sync always`, and send all replies in one
//! write. A protocol error is answered, then the connection is closed.

use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::time::Duration;

use bitcask_core::SyncPolicy;
use tokio::net::TcpStream;

use crate::clients::Client;
use crate::commands::execute;
use crate::reply::Out;
use crate::resp::{Limits, Parser, UNAUTHENTICATED};
use crate::session::ReplyMode;
use crate::session::Session;
use crate::shared::Shared;
use crate::socket::{InBuf, Socket, READ_CHUNK};

/// Serves one client until it quits, fails or the server stops.
pub async fn serve(srv: Arc<Shared>, stream: TcpStream) {
    let Ok(mut socket) = Socket::new(stream) else {
        srv.stats.connected_clients.fetch_sub(1, Relaxed);
        return;
    };
    let id = srv.next_id.fetch_add(1, Relaxed);
    let addr = socket.peer();
    let client = Arc::new(Client::new(id, addr.clone(), socket.local(), socket.fd()));
    srv.clients.add(client.clone());
    let mut sess = Session::new(id, addr, srv.rt.requirepass().is_some());
    sess.client = Some(client);
    let _ = run(&srv, &mut socket, &mut sess).await;
    srv.waiters.leave(id);
    if let Some(mut subs) = sess.pubsub.take() {
        srv.pubsub.forget(&mut subs);
    }
    if let Some(c) = &sess.client {
        srv.tracker.disable(c);
    }
    // A client CLIENT KILL closed was taken off the list (and the count) then.
    if srv.clients.remove(id) {
        srv.stats.connected_clients.fetch_sub(1, Relaxed);
    }
}

/// A connection's state between reads.
struct Conn {
    out: Out,
    input: InBuf,
    parser: Parser,
    /// The limits after and before AUTH.
    full: Limits,
    strict: Limits,
}

async fn run(srv: &Arc<Shared>, socket: &mut Socket, sess: &mut Session) -> std::io::Result<()> {
    let (full, strict) = limits(srv);
    let mut c = Conn {
        out: Out::default(),
        input: InBuf::default(),
        parser: Parser::default(),
        full,
        strict,
    };
    // The client's wake-up (a push in its mailbox, or CLIENT KILL): one waiter, made
    // again only after it fired (not at every read).
    let mut woken = std::pin::pin!(wake_up(sess.client.clone()));
    // Requests left unrun because replies were waiting: run them before reading more.
    let mut pending = false;
    loop {
        if let Some(b) = sess.blocked.take() {
            match wait_blocked(srv, &b, socket, woken.as_mut(), &mut c.input).await? {
                Read::Closed => return Ok(()),
                Read::Woken => woken.set(wake_up(sess.client.clone())),
                Read::Data => {}
            }
            if !run_blocked(srv, socket, sess, &mut c, b).await? {
                return Ok(());
            }
            continue;
        }
        if !pending {
            if c.input.unparsed().len() > srv.rt.max_query_buffer() {
                eprintln!(
                    "bitcask-server: closing client {} that reached the query buffer limit",
                    sess.addr
                );
                return Ok(());
            }
            if killed_now(sess) {
                return Ok(());
            }
            match read(srv, socket, woken.as_mut(), sess.subscribed(), &mut c.input).await? {
                Read::Closed => return Ok(()),
                Read::Woken => woken.set(wake_up(sess.client.clone())),
                Read::Data => {}
            }
            if killed_now(sess) {
                return Ok(());
            }
            if let Some(client) = &sess.client {
                client.active();
            }
        }
        c.out.limit = output_allowance(srv);
        (c.full, c.strict) = limits(srv);
        // Messages published before these requests were read go out before their replies.
        if !deliver(sess, &mut c.out) {
            return Ok(());
        }
        let (commands, fatal, more) = run_requests(srv, sess, &mut c).await;
        srv.stats.commands_processed.fetch_add(commands, Relaxed);
        if c.out.overflow {
            srv.stats.output_limit_closed.fetch_add(1, Relaxed);
            eprintln!(
                "bitcask-server: closing client {}: its replies would pass the output limit ({} bytes for it, {} for all clients)",
                sess.addr, srv.rt.client_output_buffer_limit(), srv.rt.maxmemory_clients()
            );
            return Ok(());
        }
        if !deliver(sess, &mut c.out) {
            return Ok(());
        }
        reply(srv, socket, sess, &mut c.out, commands).await?;
        if let Some(feed) = sess.monitor.take() {
            return monitor(socket, feed, sess.client.as_deref()).await;
        }
        if fatal || sess.quit || killed_now(sess) {
            return Ok(());
        }
        pending = more;
    }
}

/// The request limits after and before AUTH (CONFIG SET may change them at any time).
fn limits(srv: &Shared) -> (Limits, Limits) {
    let full = Limits { max_bulk: srv.rt.max_bulk_len(), max_args: srv.cfg.max_args };
    let strict = Limits {
        max_bulk: UNAUTHENTICATED.max_bulk.min(full.max_bulk),
        max_args: UNAUTHENTICATED.max_args.min(full.max_args),
    };
    (full, strict)
}

/// Replies past this many bytes are sent before more requests run: a client that sends
/// faster than it reads makes the server hold one batch of replies, not all of them.
const OUTPUT_BATCH: usize = 64 * 1024;

/// How many bytes of replies this client may build now: its own limit, and what the
/// limit of all clients leaves (0: no limit).
fn output_allowance(srv: &Shared) -> usize {
    let own = srv.rt.client_output_buffer_limit();
    let total = srv.rt.maxmemory_clients();
    if total == 0 {
        return own;
    }
    let left = total.saturating_sub(srv.stats.output_bytes.load(Relaxed) as usize).max(1);
    if own == 0 {
        left
    } else {
        own.min(left)
    }
}

/// Waits for the client's wake-up: a push in its mailbox, or CLIENT KILL.
async fn wake_up(client: Option<Arc<Client>>) {
    match client {
        Some(c) => c.mailbox.wake.notified().await,
        None => std::future::pending().await,
    }
}

/// Appends the pushes waiting for the client (pub/sub messages, invalidations) to its
/// output; false when its mailbox passed the pub/sub output limit (the connection closes,
/// as Redis closes it).
fn deliver(sess: &Session, out: &mut Out) -> bool {
    let Some(client) = &sess.client else { return true };
    let mailbox = &client.mailbox;
    if mailbox.overflowed() {
        eprintln!(
            "bitcask-server: closing client {}: its pushed messages passed the pubsub output limit",
            sess.addr
        );
        return false;
    }
    if !mailbox.is_empty() {
        mailbox.drain_into(out.resp3, sess.subscribed(), &mut out.buf);
    }
    true
}

/// What a wait for the client ended with.
enum Read {
    /// Bytes arrived.
    Data,
    /// Its wake-up fired (a push, or CLIENT KILL).
    Woken,
    /// It left, or was idle past `--timeout`.
    Closed,
}

/// Reads what the client sent (waiting at most `--timeout`, or without end for a
/// subscriber), or until `woken` fires.
async fn read(
    srv: &Shared,
    socket: &mut Socket,
    woken: std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
    subscribed: bool,
    input: &mut InBuf,
) -> std::io::Result<Read> {
    let spare = input.spare();
    let timeout = if subscribed { 0 } else { srv.rt.timeout() };
    let idle = async {
        match timeout {
            0 => std::future::pending().await,
            t => tokio::time::sleep(Duration::from_secs(t)).await,
        }
    };
    // Biased: the branches are polled in order (no random pick per read).
    let n = tokio::select! {
        biased;
        r = socket.read(spare) => r?,
        _ = woken => return Ok(Read::Woken),
        _ = idle => return Ok(Read::Closed),
    };
    input.filled(n);
    srv.stats.net_input_bytes.fetch_add(n as u64, Relaxed);
    Ok(if n > 0 { Read::Data } else { Read::Closed })
}

/// Parses and runs the complete requests in the input, until their replies pass
/// [`OUTPUT_BATCH`] bytes; returns how many ran, whether a protocol error ends the
/// connection, and whether requests were left for after the replies are sent.
async fn run_requests(srv: &Arc<Shared>, sess: &mut Session, c: &mut Conn) -> (u64, bool, bool) {
    let mut commands = 0u64;
    let (mut fatal, mut more) = (false, false);
    // One argument vector for every request of this read.
    let mut argv: Vec<&[u8]> = Vec::with_capacity(8);
    let mut consumed = 0;
    while !sess.quit && !c.out.overflow {
        if c.out.buf.len() >= OUTPUT_BATCH {
            more = true;
            break;
        }
        let limits = if sess.authed { c.full } else { c.strict };
        let frame = c.input.unparsed().get(consumed..).unwrap_or_default();
        match c.parser.parse(frame, limits) {
            Ok(Some(len)) => {
                sess.qbuf = frame.len();
                if sess.reply == ReplyMode::SkipNext {
                    sess.reply = ReplyMode::Skip;
                }
                let mark = c.out.mark();
                let ran = if c.parser.is_inline() {
                    let inline: Vec<&[u8]> = c.parser.args(frame).collect();
                    if let Some(writes) = held_by_pause(srv, sess, &inline) {
                        held(srv, writes).await;
                    }
                    run_one(srv, sess, &mut c.out, &inline)
                } else {
                    argv.clear();
                    argv.extend(
                        c.parser.ranges().iter().map(|r| frame.get(r.clone()).unwrap_or_default()),
                    );
                    if let Some(writes) = held_by_pause(srv, sess, &argv) {
                        held(srv, writes).await;
                    }
                    run_one(srv, sess, &mut c.out, &argv)
                };
                commands += u64::from(ran);
                c.parser.reset();
                consumed += len;
                if let Some(work) = sess.deferred.take() {
                    sess.wrote |= run_deferred(srv, &mut c.out, work).await;
                }
                after_command(sess, &mut c.out, mark);
                if sess.blocked.is_some() {
                    // The replies so far go out; the rest of the requests wait for it.
                    more = true;
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                c.out.err(&e.to_string());
                fatal = true;
                break;
            }
        }
    }
    drop(argv);
    c.input.consume(consumed);
    c.input.shrink();
    (commands, fatal, more)
}

/// A monitor's connection: the feed's lines until the client leaves or is killed, or falls
/// [`BACKLOG`](crate::monitor::BACKLOG) lines behind (then it is closed). What it sends is
/// not run.
async fn monitor(
    socket: &mut Socket,
    mut feed: crate::monitor::Feed,
    client: Option<&Client>,
) -> std::io::Result<()> {
    use tokio::sync::broadcast::error::RecvError;
    let Some(client) = client else { return Ok(()) };
    let mut ignored = [0u8; 512];
    loop {
        tokio::select! {
            line = feed.lines.recv() => match line {
                Ok(line) => {
                    // A monitor that does not read blocks this write: it is closed once the
                    // feed has a backlog's worth of lines waiting for it.
                    let mut write = std::pin::pin!(socket.write_all(&line));
                    loop {
                        tokio::select! {
                            sent = &mut write => { sent?; break; }
                            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                                if feed.lines.len() >= crate::monitor::BACKLOG {
                                    eprintln!("bitcask-server: closing monitor {} that does not read", client.addr);
                                    return Ok(());
                                }
                            }
                        }
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    eprintln!("bitcask-server: closing monitor {} that fell {n} lines behind", client.addr);
                    return Ok(());
                }
                Err(RecvError::Closed) => return Ok(()),
            },
            n = socket.read(&mut ignored) => if n? == 0 {
                return Ok(());
            },
            _ = client.mailbox.wake.notified() => if client.is_killed() {
                return Ok(());
            },
        }
    }
}

/// Whether CLIENT KILL closed this connection.
fn killed_now(sess: &Session) -> bool {
    sess.client.as_ref().is_some_and(|c| c.is_killed())
}

/// What follows a command: its reply dropped if CLIENT REPLY says so, and the client's
/// entry brought up to date.
fn after_command(sess: &mut Session, out: &mut Out, mark: usize) {
    if sess.reply != ReplyMode::On && !sess.pushed {
        out.rollback(mark);
    }
    sess.pushed = false;
    if sess.reply == ReplyMode::Skip {
        sess.reply = ReplyMode::On;
    }
    if let Some(client) = &sess.client {
        client.after(sess.db, sess.multi.as_ref().map(Vec::len), if out.resp3 { 3 } else { 2 });
    }
}

/// Whether CLIENT PAUSE holds this command (every command under ALL, those that may write
/// under WRITE): then whether it may write.
fn held_by_pause(srv: &Shared, sess: &Session, argv: &[&[u8]]) -> Option<bool> {
    let pause = srv.clients.paused()?;
    let writes = crate::commands::may_write(srv, sess, argv);
    (pause.all || writes).then_some(writes)
}

/// Runs a blocked command again (it answers, or blocks once more), and sends its reply;
/// false when the connection ends instead (the client was killed, or sent past the query
/// buffer limit meanwhile).
async fn run_blocked(
    srv: &Arc<Shared>,
    socket: &mut Socket,
    sess: &mut Session,
    c: &mut Conn,
    b: crate::session::Blocked,
) -> std::io::Result<bool> {
    if killed_now(sess) || c.input.unparsed().len() > srv.rt.max_query_buffer() {
        return Ok(false);
    }
    let unblock = sess.client.as_ref().and_then(|c| c.take_unblock());
    if unblock == Some(true) {
        c.out.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
    } else {
        // CLIENT UNBLOCK ... TIMEOUT: the command runs past its deadline.
        sess.block_deadline = Some(if unblock.is_some() { 0 } else { b.deadline });
        let argv: Vec<&[u8]> = b.argv.iter().map(Vec::as_slice).collect();
        run_one(srv, sess, &mut c.out, &argv);
        sess.block_deadline = None;
    }
    if sess.blocked.is_none() {
        // Served or timed out: off the queues, and the next waiter may take what is left.
        srv.waiters.leave(sess.id);
        if let Some(c) = &sess.client {
            c.set_blocked(false);
        }
        srv.pushed.notify_waiters();
        srv.stats.commands_processed.fetch_add(1, Relaxed);
        // Invalidations its own write caused go after its reply (as after any command).
        if !deliver(sess, &mut c.out) {
            return Ok(false);
        }
        reply(srv, socket, sess, &mut c.out, 1).await?;
    }
    Ok(true)
}

/// Waits until a blocked command should run again: a push to a list, its deadline, or
/// 100 ms (a list made another way: RESTORE, RENAME, a transaction). What the client sends
/// meanwhile is kept for after it; `Closed` when it leaves, `Woken` when its wake-up fired
/// (a push for it, or CLIENT KILL).
async fn wait_blocked(
    srv: &Shared,
    b: &crate::session::Blocked,
    socket: &mut Socket,
    woken: std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
    input: &mut InBuf,
) -> std::io::Result<Read> {
    let now = crate::keyspace::now_ms();
    let wait = b.deadline.saturating_sub(now).min(100);
    srv.clients.paused_now.fetch_add(1, Relaxed);
    let spare = input.spare();
    let r = tokio::select! {
        _ = srv.pushed.notified() => Ok(Read::Data),
        _ = tokio::time::sleep(Duration::from_millis(wait)) => Ok(Read::Data),
        _ = woken => Ok(Read::Woken),
        n = socket.read(spare) => match n {
            Ok(0) | Err(_) => Ok(Read::Closed),
            Ok(n) => {
                input.filled(n);
                Ok(Read::Data)
            }
        },
    };
    srv.clients.paused_now.fetch_sub(1, Relaxed);
    r
}

/// Waits for the pause to end (or to stop holding a command that `writes` or not).
async fn held(srv: &Shared, writes: bool) {
    srv.clients.paused_now.fetch_add(1, Relaxed);
    // Polled, so CLIENT UNPAUSE and a longer pause are seen within 10 ms.
    while let Some(p) = srv.clients.paused().filter(|p| p.all || writes) {
        let left = p.until.saturating_duration_since(std::time::Instant::now());
        tokio::time::sleep(left.min(Duration::from_millis(10))).await;
    }
    srv.clients.paused_now.fetch_sub(1, Relaxed);
}

/// Runs one request (an empty one is nothing); whether it ran.
fn run_one(srv: &Shared, sess: &mut Session, out: &mut Out, argv: &[&[u8]]) -> bool {
    if argv.is_empty() {
        return false;
    }
    execute(srv, sess, out, argv);
    true
}

/// Runs work that must not block the event loop on a blocking thread; appends its reply;
/// whether it wrote.
async fn run_deferred(srv: &Arc<Shared>, out: &mut Out, work: crate::session::Deferred) -> bool {
    let (srv2, resp3) = (srv.clone(), out.resp3);
    let done = tokio::task::spawn_blocking(move || {
        let mut o = Out { resp3, ..Out::default() };
        let wrote = work(&srv2, &mut o);
        (o.buf, wrote)
    })
    .await;
    match done {
        Ok((bytes, wrote)) => {
            out.buf.extend_from_slice(&bytes);
            wrote
        }
        Err(e) => {
            out.err(&format!("internal error: {e}"));
            false
        }
    }
}

/// Waits, without blocking the event loop, until every write made so far is durable: the
/// store's group commit (one fsync of each shard with unsynced writes for every connection
/// waiting). Err holds why not.
async fn durable(srv: &Shared) -> Result<(), String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    srv.ks.when_synced(move |r| {
        let _ = tx.send(r);
    });
    match rx.await {
        Ok(Ok(())) => {
            srv.last_save.store(crate::keyspace::now_ms() / 1000, Relaxed);
            Ok(())
        }
        Ok(Err(bitcask_core::Error::NotDurable { cause, .. })) => Err(cause),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the store closed".into()),
    }
}

/// Waits for the group commit if the requests wrote under `--sync always` (on failure every
/// reply becomes the error), then sends every reply in one write.
async fn reply(
    srv: &Shared,
    socket: &mut Socket,
    sess: &mut Session,
    out: &mut Out,
    commands: u64,
) -> std::io::Result<()> {
    if sess.wrote && srv.cfg.sync == SyncPolicy::Always {
        if let Err(e) = durable(srv).await {
            // Nothing in this batch may be acknowledged.
            out.buf.clear();
            for _ in 0..commands.max(1) {
                out.err(&format!("the write was not made durable: {e}"));
            }
        }
    }
    sess.wrote = false;
    if out.buf.is_empty() {
        return Ok(());
    }
    let n = out.buf.len() as u64;
    srv.stats.output_bytes.fetch_add(n, Relaxed);
    // A subscriber stuck in a write is closed once its mailbox overflows; any other
    // client's mailbox stops taking pushes then, and it is closed when the write ends.
    let sent = match &sess.client {
        Some(c) if sess.subscribed() => write_watching(socket, &out.buf, &c.mailbox).await,
        _ => socket.write_all(&out.buf).await,
    };
    srv.stats.output_bytes.fetch_sub(n, Relaxed);
    sent?;
    srv.stats.net_output_bytes.fetch_add(n, Relaxed);
    out.buf.clear();
    if out.buf.capacity() > 1 << 20 {
        out.buf.shrink_to(READ_CHUNK);
    }
    Ok(())
}

/// Writes a subscriber's output; stops with an error once its mailbox overflows while the
/// write waits (a subscriber that does not read is closed, not held without end).
async fn write_watching(
    socket: &mut Socket,
    data: &[u8],
    mailbox: &crate::pubsub::Mailbox,
) -> std::io::Result<()> {
    let mut write = std::pin::pin!(socket.write_all(data));
    loop {
        tokio::select! {
            sent = &mut write => return sent,
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                if mailbox.overflowed() {
                    return Err(std::io::Error::other("the pubsub output limit was passed"));
                }
            }
        }
    }
}

//! One connection: read, parse every complete request in the buffer, run them, wait for
//! the group commit when they wrote under `--sync always`, and send all replies in one
//! write. A protocol error is answered, then the connection is closed.

use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::time::Duration;

use bitcask_core::SyncPolicy;
use tokio::net::TcpStream;

use crate::commands::execute;
use crate::reply::Out;
use crate::resp::{Limits, Parser, UNAUTHENTICATED};
use crate::session::Session;
use crate::shared::{ClientInfo, Shared};
use crate::socket::{InBuf, Socket, READ_CHUNK};

/// Serves one client until it quits, fails or the server stops.
pub async fn serve(srv: Arc<Shared>, stream: TcpStream) {
    let Ok(mut socket) = Socket::new(stream) else {
        srv.stats.connected_clients.fetch_sub(1, Relaxed);
        return;
    };
    let id = srv.next_id.fetch_add(1, Relaxed);
    let addr = socket.peer();
    srv.clients().insert(
        id,
        ClientInfo { addr: addr.clone(), name: String::new(), created: std::time::Instant::now() },
    );
    let mut sess = Session::new(id, addr, srv.cfg.requirepass.is_some());
    let _ = run(&srv, &mut socket, &mut sess).await;
    srv.clients().remove(&id);
    srv.stats.connected_clients.fetch_sub(1, Relaxed);
}

async fn run(srv: &Arc<Shared>, socket: &mut Socket, sess: &mut Session) -> std::io::Result<()> {
    let cfg = &srv.cfg;
    let full = Limits { max_bulk: cfg.max_bulk_len, max_args: cfg.max_args };
    let strict = Limits {
        max_bulk: UNAUTHENTICATED.max_bulk.min(full.max_bulk),
        max_args: UNAUTHENTICATED.max_args.min(full.max_args),
    };
    let always = cfg.sync == SyncPolicy::Always;
    let idle = (cfg.timeout > 0).then(|| Duration::from_secs(cfg.timeout));
    let mut out = Out::default();
    let mut input = InBuf::default();
    let mut parser = Parser::default();
    loop {
        if input.unparsed().len() > cfg.max_query_buffer {
            eprintln!(
                "bitcask-server: closing client {} that reached the query buffer limit",
                sess.addr
            );
            return Ok(());
        }
        let spare = input.spare();
        let n = match idle {
            Some(t) => match tokio::time::timeout(t, socket.read(spare)).await {
                Ok(r) => r?,
                Err(_) => return Ok(()),
            },
            None => socket.read(spare).await?,
        };
        if n == 0 {
            return Ok(());
        }
        input.filled(n);
        srv.stats.net_input_bytes.fetch_add(n as u64, Relaxed);
        let mut commands = 0u64;
        let mut fatal = false;
        // One argument vector for every request of this read.
        let mut argv: Vec<&[u8]> = Vec::with_capacity(8);
        let mut consumed = 0;
        while !sess.quit {
            let limits = if sess.authed { full } else { strict };
            let frame = input.unparsed().get(consumed..).unwrap_or_default();
            match parser.parse(frame, limits) {
                Ok(Some(len)) => {
                    if parser.is_inline() {
                        let inline: Vec<&[u8]> = parser.args(frame).collect();
                        if !inline.is_empty() {
                            execute(srv, sess, &mut out, &inline);
                            commands += 1;
                        }
                    } else {
                        argv.clear();
                        argv.extend(
                            parser
                                .ranges()
                                .iter()
                                .map(|r| frame.get(r.clone()).unwrap_or_default()),
                        );
                        if !argv.is_empty() {
                            execute(srv, sess, &mut out, &argv);
                            commands += 1;
                        }
                    }
                    parser.reset();
                    consumed += len;
                    if let Some(work) = sess.deferred.take() {
                        let (srv2, resp3) = (srv.clone(), out.resp3);
                        let done = tokio::task::spawn_blocking(move || {
                            let mut o = Out { buf: Vec::new(), resp3 };
                            work(&srv2, &mut o);
                            o.buf
                        })
                        .await;
                        match done {
                            Ok(bytes) => out.buf.extend_from_slice(&bytes),
                            Err(e) => out.err(&format!("internal error: {e}")),
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    out.err(&e.to_string());
                    fatal = true;
                    break;
                }
            }
        }
        drop(argv);
        input.consume(consumed);
        input.shrink();
        srv.stats.commands_processed.fetch_add(commands, Relaxed);
        if sess.wrote && always {
            sess.wrote = false;
            if let Err(e) = srv.syncer.wait().await {
                // Nothing in this batch may be acknowledged: every reply becomes the error.
                out.buf.clear();
                for _ in 0..commands.max(1) {
                    out.err(&format!("the write was not made durable: {e}"));
                }
            }
        }
        sess.wrote = false;
        if !out.buf.is_empty() {
            socket.write_all(&out.buf).await?;
            srv.stats.net_output_bytes.fetch_add(out.buf.len() as u64, Relaxed);
            out.buf.clear();
            if out.buf.capacity() > 1 << 20 {
                out.buf.shrink_to(READ_CHUNK);
            }
        }
        if fatal || sess.quit {
            return Ok(());
        }
    }
}

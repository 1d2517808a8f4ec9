//! One connection: read, parse every complete request in the buffer, run them, wait for
//! the group commit when they wrote under `--sync always`, and send all replies in one
//! write. A protocol error is answered, then the connection is closed.

use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::time::Duration;

use bitcask_core::SyncPolicy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::commands::execute;
use crate::reply::Out;
use crate::resp::{Limits, Parser, UNAUTHENTICATED};
use crate::session::Session;
use crate::shared::{ClientInfo, Shared};

/// Read at least this much room at a time.
const READ_CHUNK: usize = 16 * 1024;

/// Serves one client until it quits, fails or the server stops.
pub async fn serve(srv: Arc<Shared>, mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let id = srv.next_id.fetch_add(1, Relaxed);
    let addr = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    srv.clients().insert(
        id,
        ClientInfo { addr: addr.clone(), name: String::new(), created: std::time::Instant::now() },
    );
    let mut sess = Session::new(id, addr, srv.cfg.requirepass.is_some());
    let _ = run(&srv, &mut stream, &mut sess).await;
    srv.clients().remove(&id);
    srv.stats.connected_clients.fetch_sub(1, Relaxed);
}

async fn run(srv: &Arc<Shared>, stream: &mut TcpStream, sess: &mut Session) -> std::io::Result<()> {
    let cfg = &srv.cfg;
    let full = Limits { max_bulk: cfg.max_bulk_len, max_args: cfg.max_args };
    let strict = Limits {
        max_bulk: UNAUTHENTICATED.max_bulk.min(full.max_bulk),
        max_args: UNAUTHENTICATED.max_args.min(full.max_args),
    };
    let always = cfg.sync == SyncPolicy::Always;
    let idle = (cfg.timeout > 0).then(|| Duration::from_secs(cfg.timeout));
    let mut out = Out::default();
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut start = 0;
    let mut parser = Parser::default();
    loop {
        if buf.len() - start > cfg.max_query_buffer {
            eprintln!(
                "bitcask-server: closing client {} that reached the query buffer limit",
                sess.addr
            );
            return Ok(());
        }
        if buf.capacity() - buf.len() < READ_CHUNK {
            buf.reserve(READ_CHUNK);
        }
        let n = match idle {
            Some(t) => match tokio::time::timeout(t, stream.read_buf(&mut buf)).await {
                Ok(r) => r?,
                Err(_) => return Ok(()),
            },
            None => stream.read_buf(&mut buf).await?,
        };
        if n == 0 {
            return Ok(());
        }
        srv.stats.net_input_bytes.fetch_add(n as u64, Relaxed);
        let mut commands = 0u64;
        let mut fatal = false;
        // One argument vector for every request of this read.
        let mut argv: Vec<&[u8]> = Vec::with_capacity(8);
        while !sess.quit {
            let limits = if sess.authed { full } else { strict };
            let frame = buf.get(start..).unwrap_or_default();
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
                    start += len;
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
        srv.stats.commands_processed.fetch_add(commands, Relaxed);
        if start == buf.len() {
            buf.clear();
            start = 0;
        } else if start > 0 && (start >= READ_CHUNK || start * 2 >= buf.len()) {
            buf.drain(..start);
            start = 0;
        }
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
            stream.write_all(&out.buf).await?;
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

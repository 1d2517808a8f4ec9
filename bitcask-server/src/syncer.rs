//! Group commit: connections that wrote under `--sync always` (or ran SAVE) wait here, off
//! the network threads, until one `fsync` of every shard with unsynced writes covers their
//! writes. Whoever arrives while a sync runs shares the next one.

use std::sync::mpsc;
use std::sync::Weak;

use tokio::sync::oneshot;

/// The result a waiter gets: `Err` holds the error text.
pub type SyncResult = Result<(), String>;

/// A handle to the sync thread.
pub struct Syncer {
    tx: mpsc::Sender<oneshot::Sender<SyncResult>>,
}

impl Syncer {
    /// Starts the sync thread; `sync` makes everything acknowledged so far durable (it is
    /// given a weak handle so the thread ends with the server).
    pub fn start<T: Send + Sync + 'static>(target: Weak<T>, sync: fn(&T) -> SyncResult) -> Syncer {
        let (tx, rx) = mpsc::channel::<oneshot::Sender<SyncResult>>();
        std::thread::Builder::new()
            .name("bitcask-sync".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    // Every waiter queued now wrote before this sync starts: one covers all.
                    let mut waiters = vec![first];
                    waiters.extend(rx.try_iter());
                    let result = match target.upgrade() {
                        Some(t) => sync(&t),
                        None => Err("the server is shutting down".into()),
                    };
                    for w in waiters {
                        let _ = w.send(result.clone());
                    }
                }
            })
            .unwrap_or_else(|e| panic!("cannot start the sync thread: {e}"));
        Syncer { tx }
    }

    /// Waits until every write made before this call is durable.
    pub async fn wait(&self) -> SyncResult {
        let (tx, rx) = oneshot::channel();
        self.tx.send(tx).map_err(|_| "the sync thread has stopped".to_string())?;
        rx.await.map_err(|_| "the sync thread has stopped".to_string())?
    }
}

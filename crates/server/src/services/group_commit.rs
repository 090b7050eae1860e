//! Group commit of sign-ins. A verified sign-in writes its counter, its session, the
//! revocation of the session it replaces and its audit event in one transaction; with many
//! sign-ins at once, each paying for its own durable commit (an `fsync` on SQLite) is what
//! limits throughput. Here the sign-ins waiting for their write go to one task that commits
//! whatever has queued up since its last commit in a single transaction
//! ([`Store::complete_sign_ins`]): one commit for all of them, and still no answer before the
//! commit that makes it durable.
//!
//! ```text
//!  auth/finish ─┐                       ┌─► one transaction: n compare-and-sets,
//!  auth/finish ─┼─► queue ─► writer task ┤   n sessions, revocations, n audit events
//!  auth/finish ─┘   (up to MAX_BATCH)    └─► each caller gets its own outcome
//! ```
//!
//! A lone sign-in is written at once (the writer never waits to fill a batch). If a batch
//! fails as a whole, each of its sign-ins is retried alone, so one bad write cannot fail the
//! others; compare-and-sets keep their order, so of two uses of the same assertion in one
//! batch only the first wins.

use crate::store::{SignInWrite, Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The most sign-ins committed in one transaction.
pub const MAX_BATCH: usize = 64;
/// Sign-ins that may wait for the writer before callers wait to queue.
const QUEUE: usize = 1024;

struct Job {
    write: SignInWrite,
    reply: oneshot::Sender<Result<bool, StoreError>>,
}

/// The handle sign-ins use; the writer task ends when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct SignInWriter {
    queue: mpsc::Sender<Job>,
}

fn stopped() -> StoreError {
    StoreError::Backend("the sign-in writer has stopped".into())
}

impl SignInWriter {
    /// Starts the writer task on the current Tokio runtime.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, jobs));
        Self { queue }
    }

    /// Writes one verified sign-in (see [`Store::complete_sign_in`]) together with whatever
    /// others are waiting; true when its compare-and-set won and everything is committed.
    pub async fn complete(&self, write: SignInWrite) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { write, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(store: Arc<dyn Store>, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (writes, replies): (Vec<SignInWrite>, Vec<_>) =
            batch.drain(..).map(|j| (j.write, j.reply)).unzip();
        match store.complete_sign_ins(&writes).await {
            Ok(won) => {
                for (reply, won) in replies.into_iter().zip(won) {
                    // The caller may have gone (its client disconnected); the sign-in stands.
                    let _ = reply.send(Ok(won));
                }
            }
            Err(e) if writes.len() == 1 => {
                if let Some(reply) = replies.into_iter().next() {
                    let _ = reply.send(Err(e));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, sign_ins = writes.len(), "batched sign-in write failed; writing each alone");
                for (write, reply) in writes.iter().zip(replies) {
                    let one = store
                        .complete_sign_ins(std::slice::from_ref(write))
                        .await
                        .map(|won| won.first().copied().unwrap_or(false));
                    let _ = reply.send(one);
                }
            }
        }
    }
}

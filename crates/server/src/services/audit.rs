//! The tamper-evident audit log: every security event appended to a hash chain, signed
//! checkpoints, and the verification `passkeyd audit verify` runs.
//!
//! ```text
//!  event ──► Store::append_audit (or inside the ceremony's own transaction)
//!            seq = head.seq + 1, prev_hash = head.hash, hash = SHA-256(fields, prev_hash)
//!  every N events ──► checkpoint: Ed25519 signature over (seq, hash) with the audit key
//!  verify ──► walk 1..=head: numbering, prev_hash links, recomputed hashes, head, checkpoints
//! ```
//!
//! The audit key is made by the first instance and kept in the store's shared secrets, like
//! the token keys. Someone who can write the database can also read that key and rebuild the
//! whole chain, so the chain proves integrity against everyone else; against the database's own
//! administrators, compare with checkpoints kept elsewhere: each one is also written to the log
//! (`audit checkpoint`), and `passkeyd audit verify --expect SEQ:HASH` checks a recorded one.

use super::{now, random_bytes};
use crate::error::Error;
use crate::store::{AUDIT_GENESIS, AuditCheckpoint, AuditEvent, Store, checkpoint_message};
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use passkeyd_webauthn::b64;
use std::sync::Arc;

/// Name of the audit signing key in the store's shared secrets (PKCS#8).
pub const AUDIT_KEY_SECRET: &str = "audit-key";
/// A checkpoint every this many events unless configured otherwise.
pub const DEFAULT_CHECKPOINT_EVERY: i64 = 1000;

/// Where a request came from, for the audit trail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// The `Origin` header.
    pub origin: Option<String>,
    /// The client's address (the peer, or the configured proxy header).
    pub client_addr: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

impl RequestContext {
    /// `e` with this context's origin and address.
    pub fn stamp(&self, mut e: AuditEvent) -> AuditEvent {
        e.origin.clone_from(&self.origin);
        e.client_addr.clone_from(&self.client_addr);
        e
    }
}

/// `user:<handle base64url>`.
pub fn user_ref(handle: &[u8]) -> String {
    format!("user:{}", b64::encode(handle))
}

/// The audit service.
pub struct Audit {
    store: Arc<dyn Store>,
    key: Ed25519KeyPair,
    key_id: String,
    every: i64,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit")
            .field("key_id", &self.key_id)
            .field("every", &self.every)
            .finish_non_exhaustive()
    }
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("audit: {e}"))
}

/// The id of an audit public key: the first 16 hex digits of its SHA-256.
pub fn key_id(public_key: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, public_key)
        .as_ref()
        .iter()
        .take(8)
        .fold(String::new(), |mut s, b| {
            use std::fmt::Write as _;
            let _ = write!(s, "{b:02x}");
            s
        })
}

impl Audit {
    /// Loads (or, on the first start of the store, makes) the audit key.
    pub async fn open(store: Arc<dyn Store>, every: i64) -> Result<Self, Error> {
        let candidate = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new())
            .map_err(|_| internal("cannot generate the audit key"))?;
        let pkcs8 = store
            .shared_secret(AUDIT_KEY_SECRET, candidate.as_ref())
            .await?;
        let key = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| internal("stored key"))?;
        let key_id = key_id(key.public_key().as_ref());
        // Touch the RNG-backed helper so a broken RNG fails at start, not at the first event.
        random_bytes::<1>()?;
        Ok(Self {
            store,
            key,
            key_id,
            every: every.max(1),
        })
    }

    /// The public key checkpoints are signed with.
    pub fn public_key(&self) -> Vec<u8> {
        self.key.public_key().as_ref().to_vec()
    }

    /// Appends `event` stamped with `ctx`. A failure to record is logged, not returned: the
    /// request it describes has already happened (events of successful changes are written in
    /// the change's own transaction instead, and cannot be lost this way).
    pub async fn record(&self, event: AuditEvent, ctx: &RequestContext) {
        let e = ctx.stamp(event);
        if let Err(err) = self.store.append_audit(&e).await {
            tracing::error!(error = %err, event = %e.event, outcome = %e.outcome, "audit: cannot append event");
        }
    }

    /// Signs a checkpoint for every multiple of N up to the head that has none yet; returns how
    /// many it made.
    pub async fn checkpoint(&self) -> Result<usize, Error> {
        let (head, _) = self.store.audit_head().await?;
        let last = self
            .store
            .audit_checkpoints()
            .await?
            .last()
            .map_or(0, |c| c.seq);
        let mut made = 0;
        let mut seq = (last / self.every + 1) * self.every;
        while seq <= head {
            let Some(event) = self.store.audit_events(seq - 1, 1).await?.pop() else {
                break;
            };
            let signature = self.key.sign(&checkpoint_message(event.seq, &event.hash));
            self.store
                .insert_checkpoint(&AuditCheckpoint {
                    seq: event.seq,
                    hash: event.hash.clone(),
                    key_id: self.key_id.clone(),
                    signature: b64::encode(signature.as_ref()),
                    at: now(),
                })
                .await?;
            tracing::info!(seq = event.seq, hash = %event.hash, key_id = %self.key_id, "audit checkpoint");
            made += 1;
            seq += self.every;
        }
        Ok(made)
    }
}

/// What `passkeyd audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events checked.
    pub events: i64,
    /// Checkpoints whose signature and hash matched.
    pub checkpoints: usize,
    /// The first broken link, in words; `None` when the chain is whole.
    pub broken: Option<String>,
}

/// Walks the whole chain: sequence numbers 1, 2, ... without gaps, each `prev_hash` equal to the
/// previous event's hash, each hash recomputed from the fields, the head equal to the last
/// event, every checkpoint signed by `public_key` over the hash the chain has at its number, and
/// every `expected` (`seq`, `hash`) pair recorded elsewhere matching.
pub async fn verify_chain(
    store: &dyn Store,
    public_key: &[u8],
    expected: &[(i64, String)],
) -> Result<VerifyReport, Error> {
    let checkpoints = store.audit_checkpoints().await?;
    let verifier = UnparsedPublicKey::new(&ED25519, public_key);
    let own_id = key_id(public_key);
    let mut prev_hash = AUDIT_GENESIS.to_owned();
    let mut seq = 0i64;
    let mut hashes = std::collections::HashMap::new();
    let broken = |events: i64, why: String| -> Result<VerifyReport, Error> {
        Ok(VerifyReport {
            events,
            checkpoints: 0,
            broken: Some(why),
        })
    };
    loop {
        let page = store.audit_events(seq, 1000).await?;
        if page.is_empty() {
            break;
        }
        for e in page {
            if e.seq != seq + 1 {
                return broken(
                    seq,
                    format!(
                        "event {}: missing (the next event stored is {}): events were deleted",
                        seq + 1,
                        e.seq
                    ),
                );
            }
            if e.prev_hash != prev_hash {
                return broken(
                    seq,
                    format!(
                        "event {}: its prev_hash does not match event {}'s hash: the chain was cut or an earlier event replaced",
                        e.seq, seq
                    ),
                );
            }
            if e.compute_hash() != e.hash {
                return broken(
                    seq,
                    format!(
                        "event {}: its hash does not match its fields: the event was modified",
                        e.seq
                    ),
                );
            }
            seq = e.seq;
            prev_hash.clone_from(&e.hash);
            if checkpoints.iter().any(|c| c.seq == e.seq) || expected.iter().any(|x| x.0 == e.seq) {
                hashes.insert(e.seq, e.hash.clone());
            }
        }
    }
    let (head_seq, head_hash) = store.audit_head().await?;
    if head_seq != seq || head_hash != prev_hash {
        return broken(
            seq,
            format!(
                "the head says event {head_seq} is last, the chain ends at event {seq}: events at the end were deleted or the head was changed"
            ),
        );
    }
    let mut good = 0;
    for c in &checkpoints {
        let Some(hash) = hashes.get(&c.seq) else {
            return broken(
                seq,
                format!("checkpoint {}: there is no such event any more", c.seq),
            );
        };
        if *hash != c.hash {
            return broken(
                seq,
                format!(
                    "checkpoint {}: the chain's hash differs from the signed one: the chain was rebuilt",
                    c.seq
                ),
            );
        }
        let sig = b64::decode(&c.signature).unwrap_or_default();
        if c.key_id != own_id
            || verifier
                .verify(&checkpoint_message(c.seq, &c.hash), &sig)
                .is_err()
        {
            return broken(
                seq,
                format!(
                    "checkpoint {}: the signature does not verify with the audit key",
                    c.seq
                ),
            );
        }
        good += 1;
    }
    for (s, h) in expected {
        if hashes.get(s) != Some(h) {
            return broken(
                seq,
                format!("event {s}: its hash differs from the one recorded elsewhere ({h})"),
            );
        }
    }
    Ok(VerifyReport {
        events: seq,
        checkpoints: good,
        broken: None,
    })
}

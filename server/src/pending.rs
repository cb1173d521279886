//! Handshake slots: the sockets in their handshake, a fixed number at once,
//! the oldest evicted when a new socket finds them all taken.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// The sockets in their handshake, at most a fixed number at once. When
/// all slots are taken, a new socket evicts the oldest handshake (which is
/// closed at once) instead of waiting for the handshake timeout, provided
/// that handshake is at least [`EVICTABLE_AFTER`] old: a real client
/// finishes its hello within milliseconds, so only sockets that dawdle are
/// evicted, and a burst of real clients waits for slots as before.
pub struct Pending {
    slots: Arc<Semaphore>,
    /// The handshakes under way, oldest first.
    queue: Mutex<VecDeque<Handshaking>>,
    next: AtomicU64,
}

/// One handshake under way.
struct Handshaking {
    key: u64,
    since: tokio::time::Instant,
    evicted: CancellationToken,
}

/// How old a handshake must be before a new socket may evict it.
pub const EVICTABLE_AFTER: std::time::Duration = std::time::Duration::from_millis(500);

/// One socket's handshake slot; given back when dropped.
pub struct PendingSlot {
    _permit: OwnedSemaphorePermit,
    evicted: CancellationToken,
    key: u64,
    pending: Arc<Pending>,
}

impl Pending {
    /// Room for `slots` handshakes at once.
    pub fn new(slots: usize) -> Arc<Pending> {
        Arc::new(Pending {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            queue: Mutex::new(VecDeque::new()),
            next: AtomicU64::new(0),
        })
    }

    /// A slot for a socket just accepted, evicting the oldest handshake
    /// when none is free. `None` only if the slots were closed.
    pub async fn admit(self: &Arc<Self>) -> Option<PendingSlot> {
        let permit = loop {
            if let Ok(permit) = self.slots.clone().try_acquire_owned() {
                break permit;
            }
            let oldest = self.lock().front().map(|h| (h.key, h.since));
            let evictable = async {
                match oldest {
                    Some((key, since)) => {
                        tokio::time::sleep_until(since + EVICTABLE_AFTER).await;
                        key
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                permit = self.slots.clone().acquire_owned() => break permit.ok()?,
                key = evictable => {
                    let oldest = {
                        let mut queue = self.lock();
                        if queue.front().is_some_and(|h| h.key == key) {
                            queue.pop_front()
                        } else {
                            None
                        }
                    };
                    if let Some(oldest) = oldest {
                        // It gives its slot back as it ends, within a poll:
                        // wait for that slot rather than evict another.
                        oldest.evicted.cancel();
                        break self.slots.clone().acquire_owned().await.ok()?;
                    }
                }
            }
        };
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        let evicted = CancellationToken::new();
        self.lock().push_back(Handshaking {
            key,
            since: tokio::time::Instant::now(),
            evicted: evicted.clone(),
        });
        Some(PendingSlot {
            _permit: permit,
            evicted,
            key,
            pending: self.clone(),
        })
    }

    /// Handshakes under way.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Handshaking>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl PendingSlot {
    /// Resolves when a newer socket evicted this handshake.
    pub async fn evicted(&self) {
        self.evicted.cancelled().await;
    }
}

impl Drop for PendingSlot {
    fn drop(&mut self) {
        let mut queue = self.pending.lock();
        if let Some(place) = queue.iter().position(|h| h.key == self.key) {
            queue.remove(place);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Pending;

    #[tokio::test]
    async fn a_new_socket_evicts_the_oldest_handshake_when_the_slots_are_full() {
        let pending = Pending::new(2);
        let oldest = pending.admit().await.unwrap();
        let second = pending.admit().await.unwrap();
        assert_eq!(pending.len(), 2);
        let evicting = tokio::spawn({
            let pending = pending.clone();
            async move { pending.admit().await.map(|_slot| ()) }
        });
        // The oldest is told to go; its slot comes back once it ends.
        oldest.evicted().await;
        drop(oldest);
        evicting
            .await
            .unwrap()
            .expect("the third socket got the freed slot");
        assert!(
            !second.evicted.is_cancelled(),
            "only the oldest handshake is evicted"
        );
        drop(second);
        assert_eq!(pending.len(), 0);
    }
}

//! Batching of concurrent work: items that arrive while earlier batches are in flight are
//! gathered into the next batch ([`Gather`]). Point lookups use it as `= ANY($1)` queries
//! ([`Coalescer`]); sign-ups use it as a group commit (one transaction for every sign-up
//! queued). Under load this turns many round trips and commits into a few (less CPU in
//! PostgreSQL and fewer socket calls here); at low load a batch holds one item and adds no
//! delay.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use tokio::sync::{Semaphore, oneshot};
use zhiyuan_store::{Result, StoreError};

/// Gathers items `T` (each carrying its own reply channel) into batches.
pub struct Gather<T> {
    queue: Mutex<Vec<T>>,
    /// Batches allowed in flight at once; items arriving meanwhile wait and join the next
    /// batch.
    in_flight: Arc<Semaphore>,
}

impl<T: Send + 'static> Gather<T> {
    pub fn new(max_in_flight: usize) -> Self {
        Self {
            queue: Mutex::new(Vec::new()),
            in_flight: Arc::new(Semaphore::new(max_in_flight.max(1))),
        }
    }

    /// Queues `item`. The item that opens a batch spawns `run`, which waits for a free slot
    /// and then receives every item queued by then; it must answer each of them. It runs
    /// on its own task, so a caller that goes away never strands the others.
    pub fn push<F, Fut>(self: &Arc<Self>, item: T, run: F) -> Result<()>
    where
        F: FnOnce(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let first = {
            let mut queue = self
                .queue
                .lock()
                .map_err(|_| StoreError::corrupt("batch queue poisoned"))?;
            queue.push(item);
            queue.len() == 1
        };
        if first {
            let this = self.clone();
            tokio::spawn(async move {
                let Ok(_permit) = this.in_flight.clone().acquire_owned().await else {
                    return;
                };
                let batch = match this.queue.lock() {
                    Ok(mut q) => std::mem::take(&mut *q),
                    Err(_) => return,
                };
                run(batch).await;
            });
        }
        Ok(())
    }
}

/// A write waiting for its group commit, with where its answer goes.
pub type Queued<T, R> = (T, oneshot::Sender<Result<R>>);

impl<T, R> Gather<Queued<T, R>>
where
    T: Send + Sync + 'static,
    R: Send + 'static,
{
    /// Group-commits `item`: queues it, and the batch it joins goes through
    /// [`commit_in_rounds`] with `key` and `together`. Returns the item's own outcome.
    pub async fn commit(
        self: &Arc<Self>,
        item: T,
        key: fn(&T) -> i64,
        together: impl for<'a> Fn(&'a [&'a T]) -> BoxFuture<'a, Result<Vec<Result<R>>>> + Send + 'static,
    ) -> Result<R> {
        let (reply, answer) = oneshot::channel();
        self.push((item, reply), move |batch| async move {
            commit_in_rounds(batch, key, together).await;
        })?;
        answer
            .await
            .map_err(|_| StoreError::corrupt("a group-committed write was dropped"))?
    }
}

/// Answers a batch of queued writes through `together`, which writes several in one
/// transaction and returns each one's own outcome (an error of its own fails them all).
/// The batch goes in rounds in which each `key` appears once, in the order queued, so a
/// write sees any earlier one of the same key committed. If a round fails, each of its
/// writes is retried alone, so one bad write fails only itself.
pub async fn commit_in_rounds<T, R>(
    batch: Vec<Queued<T, R>>,
    key: impl Fn(&T) -> i64,
    together: impl for<'a> Fn(&'a [&'a T]) -> BoxFuture<'a, Result<Vec<Result<R>>>>,
) {
    let mut rounds: Vec<Vec<Queued<T, R>>> = Vec::new();
    let mut seen: HashMap<i64, usize> = HashMap::new();
    for queued in batch {
        let round = seen.entry(key(&queued.0)).or_insert(0);
        if rounds.len() == *round {
            rounds.push(Vec::new());
        }
        rounds[*round].push(queued);
        *round += 1;
    }
    for round in rounds {
        let items: Vec<&T> = round.iter().map(|(t, _)| t).collect();
        let outcome = together(&items).await;
        drop(items);
        match outcome {
            Ok(results) => {
                for ((_, reply), result) in round.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) if round.len() == 1 => {
                if let Some((_, reply)) = round.into_iter().next() {
                    let _ = reply.send(Err(e));
                }
            }
            Err(_) => {
                for (item, reply) in round {
                    let result = together(&[&item]).await.and_then(|r| {
                        r.into_iter()
                            .next()
                            .unwrap_or_else(|| Err(StoreError::corrupt("a write was not answered")))
                    });
                    let _ = reply.send(result);
                }
            }
        }
    }
}

/// The same kind of error for each of several waiters (errors are not `Clone`): retryable
/// stays retryable, the rest is internal.
pub fn shared_error(e: &StoreError) -> impl Fn() -> StoreError + use<> {
    let retry = matches!(e, StoreError::Unavailable(_));
    let message = e.to_string();
    move || {
        if retry {
            StoreError::Unavailable(message.clone())
        } else {
            StoreError::corrupt(message.clone())
        }
    }
}

type Waiter<V> = oneshot::Sender<Result<Option<V>>>;

/// Gathers lookups by key `K` of rows `V`. Clones share their batches.
pub struct Coalescer<K, V>(Arc<Gather<(K, Waiter<V>)>>);

impl<K, V> Clone for Coalescer<K, V> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<K, V> Coalescer<K, V>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + 'static,
{
    pub fn new(max_in_flight: usize) -> Self {
        Self(Arc::new(Gather::new(max_in_flight)))
    }

    /// Looks `key` up through `fetch`, which receives a batch of distinct keys and returns
    /// the rows found.
    pub async fn get<F, Fut>(&self, key: K, fetch: F) -> Result<Option<V>>
    where
        F: FnOnce(Vec<K>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<HashMap<K, V>>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.0.push((key, tx), move |batch| async move {
            let mut seen = std::collections::HashSet::with_capacity(batch.len());
            let keys: Vec<K> = batch
                .iter()
                .filter(|(k, _)| seen.insert(k.clone()))
                .map(|(k, _)| k.clone())
                .collect();
            match fetch(keys).await {
                Ok(found) => {
                    for (k, waiter) in batch {
                        let _ = waiter.send(Ok(found.get(&k).cloned()));
                    }
                }
                Err(e) => {
                    let error = shared_error(&e);
                    for (_, waiter) in batch {
                        let _ = waiter.send(Err(error()));
                    }
                }
            }
        })?;
        rx.await
            .map_err(|_| StoreError::corrupt("lookup batch was dropped"))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_lookups_share_batches_and_each_gets_its_own_row() {
        let coalescer = Coalescer::<i64, String>::new(1);
        let batches = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..200i64)
            .map(|i| {
                let c = coalescer.clone();
                let batches = batches.clone();
                tokio::spawn(async move {
                    let key = i % 50;
                    let found = c
                        .get(key, move |keys| async move {
                            batches.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                            Ok(keys
                                .into_iter()
                                .filter(|k| k % 7 != 0)
                                .map(|k| (k, format!("row {k}")))
                                .collect())
                        })
                        .await
                        .unwrap();
                    (key, found)
                })
            })
            .collect();
        for t in tasks {
            let (key, found) = t.await.unwrap();
            if key % 7 == 0 {
                assert_eq!(found, None);
            } else {
                assert_eq!(found, Some(format!("row {key}")));
            }
        }
        assert!(batches.load(Ordering::SeqCst) < 200, "no batching happened");
    }

    /// Items are `(key, value, bad)`: a round holding a bad item fails as a whole, and a
    /// bad item alone fails with its own error.
    #[tokio::test]
    async fn a_failed_round_is_retried_one_by_one_and_a_key_waits_for_the_next_round() {
        let calls: Arc<Mutex<Vec<Vec<i64>>>> = Arc::default();
        let mut batch = Vec::new();
        let mut answers = Vec::new();
        for item in [
            (1, 10, false),
            (2, 20, true),
            (1, 11, false),
            (3, 30, false),
        ] {
            let (tx, rx) = oneshot::channel();
            batch.push((item, tx));
            answers.push(rx);
        }
        let seen = calls.clone();
        commit_in_rounds(
            batch,
            |&(key, _, _)| key,
            move |items: &[&(i64, i64, bool)]| {
                seen.lock()
                    .unwrap()
                    .push(items.iter().map(|i| i.1).collect());
                let outcome = if items.len() > 1 && items.iter().any(|i| i.2) {
                    Err(StoreError::Unavailable("the round failed".into()))
                } else {
                    Ok(items
                        .iter()
                        .map(|i| {
                            if i.2 {
                                Err(StoreError::NotFound)
                            } else {
                                Ok(i.1)
                            }
                        })
                        .collect())
                };
                Box::pin(async move { outcome })
            },
        )
        .await;
        let mut got = Vec::new();
        for rx in answers {
            got.push(rx.await.unwrap());
        }
        assert!(matches!(got[0], Ok(10)));
        assert!(matches!(got[1], Err(StoreError::NotFound)), "{:?}", got[1]);
        assert!(matches!(got[2], Ok(11)));
        assert!(matches!(got[3], Ok(30)));
        assert_eq!(
            *calls.lock().unwrap(),
            [vec![10, 20, 30], vec![10], vec![20], vec![30], vec![11]],
            "the first round fails and is retried item by item; key 1's second item \
             comes in a round of its own, after"
        );
    }

    #[tokio::test]
    async fn a_failed_batch_fails_each_of_its_lookups() {
        let coalescer = Coalescer::<i64, String>::new(2);
        let r = coalescer
            .get(1, |_| async { Err(StoreError::Unavailable("down".into())) })
            .await;
        assert!(matches!(r, Err(StoreError::Unavailable(_))));
    }
}

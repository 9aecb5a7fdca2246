//! Requests sent with an `Idempotency-Key`: what the first of them answered, so that a
//! client retrying after a lost answer (a phone on a train) gets that answer again instead
//! of doing the thing twice.

/// The answer kept for a request, replayed to its retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptResponse {
    pub status: u16,
    /// The headers that say what the body is (`content-type`, `content-disposition`, …).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Where a request with a key stands when it arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyedRequest {
    /// First seen (or its earlier attempt was abandoned): run it.
    Started,
    /// The same request is being run now by an earlier attempt.
    InProgress,
    /// The key was used for a different request (another path or body).
    Mismatch,
    /// Answered before: this is the answer.
    Answered(KeptResponse),
}

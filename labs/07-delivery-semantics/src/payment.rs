//! The work: a payment, processed in PROCESSING_MS.

use std::time::Duration;

/// Processes one payment. A crash in here is what the two guarantees differ on.
pub async fn process(work: Duration) {
    tokio::time::sleep(work).await;
}

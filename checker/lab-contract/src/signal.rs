//! Stopping a lab the way the checker and a terminal user both ask.

/// Resolves when the process is asked to stop with SIGINT (Ctrl-C) or SIGTERM.
///
/// The checker stops long-running labs with SIGTERM and expects them to leave their group
/// cleanly; a terminal user presses Ctrl-C. Both mean the same here.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

/// Closes every consumer at the same time, each on a thread of its own, and returns once all
/// have left their group.
///
/// Closed one after another, the members of one group can wait on each other. The first to
/// leave starts a rebalance. A member that hears of it before its own close begins rejoins,
/// and Kafka holds that JoinGroup until every member has rejoined or left; closing waits for
/// the JoinGroup's answer, while the members that would let it complete are still waiting
/// for their turn to close. Closed together, they all leave at once.
pub async fn close_together<C: Send + 'static>(consumers: Vec<C>) {
    let closing: Vec<_> = consumers
        .into_iter()
        .map(|consumer| tokio::task::spawn_blocking(move || drop(consumer)))
        .collect();
    for close in closing {
        let _ = close.await;
    }
}

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

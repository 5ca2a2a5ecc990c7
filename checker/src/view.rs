//! The group view: one page, served on loopback, that shows a broker's topics and groups
//! (members, partitions, offsets, lag) and each group's timeline, kept up to date in the
//! browser with Server-Sent Events. Read-only: nothing on it changes the broker. The page
//! and its script are inside the binary (`view/page/`), so it works offline.
//!
//! The data comes from polling the broker (`poll.rs`), which any Kafka serves. On the
//! embedded broker the coordinator tells each event as it happens (`live.rs`): the view
//! reads the group again at once, so a change reaches the page within a few milliseconds,
//! and the timeline says why. On any other broker the events are inferred from what
//! changed between two polls (`model.rs`), and the page says so.

mod live;
mod model;
mod poll;
pub mod terminal;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use embedded_broker::GroupEvent;
use futures_util::Stream;
use tokio::sync::{broadcast, watch};

pub use model::View;

const PAGE: &str = include_str!("view/page/index.html");
const SCRIPT: &str = include_str!("view/page/view.js");
const STYLE: &str = include_str!("view/page/view.css");

/// A view being served. Dropping it stops serving and polling.
pub struct ViewServer {
    address: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl ViewServer {
    /// Serves the view of the broker at `bootstrap` (named `broker` on the page) on
    /// 127.0.0.1:`port` (0: a free port). `live`: the broker's coordinator's events, where
    /// it tells them (the embedded broker); without them the timeline is inferred.
    pub async fn start(
        bootstrap: &str,
        broker: &str,
        port: u16,
        live: Option<broadcast::Receiver<GroupEvent>>,
    ) -> Result<ViewServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| match port {
                0 => "cannot serve the group view on 127.0.0.1".to_string(),
                port => format!(
                    "cannot serve the group view on 127.0.0.1:{port} (is the port taken? \
                     choose another with --view-port, or 0 for any free one)"
                ),
            })?;
        let address = listener.local_addr()?;
        let (sender, receiver) = watch::channel(View {
            broker: broker.to_string(),
            source: "connecting".to_string(),
            ..View::default()
        });
        let poller = tokio::spawn(poll_forever(
            bootstrap.to_string(),
            broker.to_string(),
            sender,
            live,
        ));
        let app = router(Arc::new(receiver));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(ViewServer {
            address,
            tasks: vec![poller, server],
        })
    }

    /// Serves the view of a broker the checker runs or reaches, live where the broker tells
    /// its groups' events (the embedded one), on 127.0.0.1:`port` (0: a free port).
    pub async fn of(broker: &crate::broker::Broker, port: u16) -> Result<ViewServer> {
        ViewServer::start(
            broker.bootstrap(),
            &broker.describe(),
            port,
            broker.group_events(),
        )
        .await
    }

    /// The page's address, `http://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }
}

impl Drop for ViewServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Asks the desktop to open `url` in the learner's browser (`xdg-open`, or `open` on
/// macOS); `false` when there is no desktop to ask (a server, CI, no display).
pub fn open_in_browser(url: &str) -> bool {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
            return false;
        }
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}

/// Serves the view of `bootstrap` until Ctrl-C: `checker view`.
pub async fn run(bootstrap: &str, port: u16) -> Result<()> {
    let view = ViewServer::start(bootstrap, &format!("Kafka at {bootstrap}"), port, None).await?;
    println!("The group view of {bootstrap}: {}", view.url());
    println!(
        "(read-only; polls the broker every {} s; Ctrl-C stops it)",
        poll::INTERVAL.as_secs()
    );
    // Ctrl-C is the checker's one handler's (`cleanup::exit_on_ctrl_c`): it exits 130.
    let _serving = view;
    std::future::pending::<()>().await;
    unreachable!("only Ctrl-C ends it")
}

/// Polls the broker and publishes each new view; a broker that cannot be reached is shown
/// disconnected, with the reason, and polled again. With `live` events, each one also
/// starts a poll at once, and they make the timeline.
async fn poll_forever(
    bootstrap: String,
    broker: String,
    sender: watch::Sender<View>,
    mut live: Option<broadcast::Receiver<GroupEvent>>,
) {
    let mut poller = poll::Poller::new(&bootstrap);
    let mut last = Instant::now();
    let mut told: Vec<GroupEvent> = Vec::new();
    loop {
        let polled = poller.poll().await;
        let elapsed = last.elapsed().as_secs_f64();
        last = Instant::now();
        // Events that came while polling are told at the next poll, which they start.
        let events = live.as_ref().map(|_| std::mem::take(&mut told));
        sender.send_modify(|current| match polled {
            Ok(mut fresh) => {
                fresh.broker = broker.clone();
                if live.is_some() {
                    fresh.source = live::SOURCE.to_string();
                }
                *current = current.advance(fresh, elapsed, events.as_deref());
            }
            Err(error) => {
                current.disconnected = Some(format!("{error:#}"));
                current.polled_at = embedded_broker::now_millis();
            }
        });
        let Some(receiver) = live.as_mut() else {
            tokio::time::sleep(poll::INTERVAL).await;
            continue;
        };
        tokio::select! {
            _ = tokio::time::sleep(poll::INTERVAL) => {}
            event = receiver.recv() => match event {
                Ok(event) => {
                    told.push(event);
                    // A rebalance is a burst of events: take what has come with this one.
                    while let Ok(more) = receiver.try_recv() {
                        told.push(more);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => live = None,
            },
        }
    }
}

type Views = Arc<watch::Receiver<View>>;

fn router(views: Views) -> Router {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route(
            "/view.js",
            get(|| async { asset("text/javascript", SCRIPT) }),
        )
        .route("/view.css", get(|| async { asset("text/css", STYLE) }))
        .route("/state", get(state))
        .route("/events", get(events))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found: the view serves / only\n") })
        .with_state(views)
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

async fn state(State(views): State<Views>) -> Json<View> {
    Json(views.borrow().clone())
}

/// The view now, then again at every change.
async fn events(State(views): State<Views>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut receiver = (*views).clone();
    receiver.mark_changed();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.changed().await.ok()?;
        let json = serde_json::to_string(&*receiver.borrow_and_update()).ok()?;
        Some((Ok(Event::default().data(json)), receiver))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

//! One WebSocket per backend: ComfyUI's events, routed to the job whose prompt they concern.
//!
//! Invariants: jobs wait for the first connection attempt to settle before they post, so the
//! socket (whose clientId they submit with) is open when their events start; an event reaches
//! only the subscription of its prompt id; a dropped socket is reopened with the same clientId
//! while any job listens, and every connection bumps [`Link::generation`] so that jobs look
//! their prompt up again (it may have been lost meanwhile); with no job listening the socket
//! closes and its task ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use super::history;

/// A ComfyUI event about one prompt.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started {
        ts: Option<i64>,
    },
    Cached {
        nodes: Vec<String>,
    },
    /// A node started; `None`: the prompt is done and its history written.
    Executing {
        node: Option<String>,
    },
    /// Steps of a node (samplers report one per step).
    Progress {
        node: Option<String>,
        value: f64,
        max: f64,
    },
    /// Every node that is not pending: `(id, finished, value, max)`.
    NodeStates(Vec<(String, bool, f64, f64)>),
    Executed {
        node: String,
        output: Value,
    },
    Success {
        ts: Option<i64>,
    },
    Error {
        text: String,
        ts: Option<i64>,
    },
    Interrupted {
        text: String,
        ts: Option<i64>,
    },
}

#[derive(Deserialize)]
struct Msg {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Value,
}

/// A text frame → the prompt it concerns and the event; `None` for frames about no prompt
/// (`status`, `feature_flags`) or that are not understood.
pub fn parse(text: &str) -> Option<(String, Event)> {
    let msg: Msg = serde_json::from_str(text).ok()?;
    let d = &msg.data;
    let pid = d.get("prompt_id")?.as_str()?.to_string();
    let ts = d.get("timestamp").and_then(Value::as_i64);
    let node = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
    let num = |k: &str| d.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let ev = match msg.kind.as_str() {
        "execution_start" => Event::Started { ts },
        "execution_cached" => Event::Cached {
            nodes: d
                .get("nodes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        },
        "executing" => Event::Executing { node: node("node") },
        "progress" => Event::Progress {
            node: node("node"),
            value: num("value"),
            max: num("max"),
        },
        "progress_state" => Event::NodeStates(
            d.get("nodes")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(id, n)| {
                            let f = |k: &str| n.get(k).and_then(Value::as_f64).unwrap_or(0.0);
                            let done = n.get("state").and_then(Value::as_str) == Some("finished");
                            (id.clone(), done, f("value"), f("max"))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        ),
        "executed" => Event::Executed {
            node: node("node")?,
            output: d.get("output").cloned().unwrap_or(Value::Null),
        },
        "execution_success" => Event::Success { ts },
        "execution_error" => Event::Error {
            text: history::error_text(d),
            ts,
        },
        "execution_interrupted" => Event::Interrupted {
            text: history::interrupted_text(d),
            ts,
        },
        _ => return None,
    };
    Some((pid, ev))
}

/// The socket's state as jobs see it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Link {
    pub up: bool,
    /// Connections made so far.
    pub generation: u64,
    /// The current connection attempt has ended (in success or failure).
    pub settled: bool,
}

pub struct Hub {
    url: String,
    client_id: String,
    inner: Mutex<Inner>,
    link: watch::Sender<Link>,
}

#[derive(Default)]
struct Inner {
    subs: HashMap<String, mpsc::UnboundedSender<Event>>,
    running: bool,
}

/// A job's view of the hub; unsubscribes when dropped.
pub struct Subscription {
    hub: Arc<Hub>,
    prompt_id: String,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub link: watch::Receiver<Link>,
}

impl Subscription {
    /// Waits (at most `wait`) until the socket is up or the attempt to open it has failed.
    pub async fn ready(&mut self, wait: Duration) {
        let _ = tokio::time::timeout(wait, self.link.wait_for(|l| l.up || l.settled)).await;
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Ok(mut inner) = self.hub.inner.lock() {
            inner.subs.remove(&self.prompt_id);
        }
    }
}

impl Hub {
    pub fn new(url: String, client_id: String) -> Arc<Self> {
        let (link, _) = watch::channel(Link::default());
        Arc::new(Self {
            url,
            client_id,
            inner: Mutex::new(Inner::default()),
            link,
        })
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Listens for events of `prompt_id`; opens the socket if it is closed.
    pub fn subscribe(self: &Arc<Self>, prompt_id: &str) -> Subscription {
        let (tx, events) = mpsc::unbounded_channel();
        let start = match self.inner.lock() {
            Ok(mut inner) => {
                inner.subs.insert(prompt_id.to_string(), tx);
                !std::mem::replace(&mut inner.running, true)
            }
            Err(_) => false,
        };
        if start {
            self.link.send_modify(|l| l.settled = false);
            tokio::spawn(self.clone().drive());
        }
        Subscription {
            hub: self.clone(),
            prompt_id: prompt_id.to_string(),
            events,
            link: self.link.subscribe(),
        }
    }

    /// Ends the task when nobody listens (under the lock, so a new subscriber restarts it).
    fn stop_if_idle(&self) -> bool {
        match self.inner.lock() {
            Ok(mut inner) if inner.subs.is_empty() => {
                inner.running = false;
                true
            }
            Ok(_) => false,
            Err(_) => true,
        }
    }

    fn idle(&self) -> bool {
        self.inner.lock().map_or(true, |i| i.subs.is_empty())
    }

    fn dispatch(&self, text: &str) {
        let Some((pid, ev)) = parse(text) else {
            return;
        };
        let tx = self
            .inner
            .lock()
            .ok()
            .and_then(|i| i.subs.get(&pid).cloned());
        if let Some(tx) = tx {
            let _ = tx.send(ev);
        }
    }

    async fn drive(self: Arc<Self>) {
        let mut pause = Duration::from_millis(200);
        loop {
            let attempt = tokio::time::timeout(
                Duration::from_secs(5),
                tokio_tungstenite::connect_async(self.url.as_str()),
            )
            .await;
            match attempt {
                Ok(Ok((ws, _))) => {
                    pause = Duration::from_millis(200);
                    self.link.send_modify(|l| {
                        l.up = true;
                        l.settled = true;
                        l.generation += 1;
                    });
                    let (mut sink, mut stream) = ws.split();
                    let mut tick = tokio::time::interval(Duration::from_secs(2));
                    loop {
                        tokio::select! {
                            msg = stream.next() => match msg {
                                Some(Ok(Message::Text(t))) => self.dispatch(t.as_str()),
                                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                                Some(Ok(_)) => {}
                            },
                            _ = tick.tick() => if self.idle() {
                                let _ = sink.close().await;
                                break;
                            }
                        }
                    }
                    self.link.send_modify(|l| l.up = false);
                }
                Ok(Err(e)) => {
                    tracing::debug!(url = %self.url, error = %e, "ComfyUI WebSocket connect failed");
                    self.link.send_modify(|l| l.settled = true);
                }
                Err(_) => {
                    tracing::debug!(url = %self.url, "ComfyUI WebSocket connect timed out");
                    self.link.send_modify(|l| l.settled = true);
                }
            }
            if self.stop_if_idle() {
                return;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
            if self.stop_if_idle() {
                return;
            }
        }
    }
}

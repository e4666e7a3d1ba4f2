//! `previs backends [--check]`: the configured backends, and with `--check` their health:
//! reachability, authentication, model files, queue depth, GPUs.

use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use super::Ctx;
use super::output::{outln, print_json, table};
use crate::backend::Health;

#[derive(Serialize)]
struct BackendView {
    name: String,
    kind: String,
    model: String,
    endpoint: Option<String>,
    max_in_flight: usize,
    default: bool,
    /// With `--check`.
    #[serde(skip_serializing_if = "Option::is_none")]
    health: Option<Health>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ok: Option<bool>,
}

/// How long one backend's check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

pub fn list(ctx: &Ctx, check: bool) -> Result<i32> {
    let backends = ctx.registry.all();
    let healths: Vec<Option<Health>> = if check {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            let checks = backends.iter().map(|b| async move {
                match tokio::time::timeout(CHECK_TIMEOUT, b.health()).await {
                    Ok(h) => h,
                    Err(_) => Health {
                        problems: vec![format!("no answer within {} s", CHECK_TIMEOUT.as_secs())],
                        ..Health::default()
                    },
                }
            });
            futures_util::future::join_all(checks)
                .await
                .into_iter()
                .map(Some)
                .collect()
        })
    } else {
        backends.iter().map(|_| None).collect()
    };
    let views: Vec<BackendView> = backends
        .iter()
        .zip(healths)
        .map(|(b, h)| BackendView {
            name: b.name().to_string(),
            kind: b.kind().to_string(),
            model: b.model().to_string(),
            endpoint: b.endpoint(),
            max_in_flight: b.max_in_flight(),
            default: b.name() == ctx.registry.default_name(),
            ok: h.as_ref().map(Health::ok),
            health: h,
        })
        .collect();
    let failing = views.iter().filter(|v| v.ok == Some(false)).count();
    if ctx.json {
        print_json(&views)?;
    } else {
        let rows: Vec<Vec<String>> = views
            .iter()
            .map(|v| {
                let status = match &v.health {
                    None => String::new(),
                    Some(h) if h.ok() => {
                        let mut parts = vec!["ok".to_string()];
                        if let Some(ms) = h.latency_ms {
                            parts.push(format!("{ms} ms"));
                        }
                        if let Some(q) = h.queue_depth {
                            parts.push(format!("queue {q}"));
                        }
                        for g in &h.gpus {
                            parts.push(format!(
                                "{} {:.0}/{:.0} GiB free",
                                g.name,
                                gib(g.vram_free),
                                gib(g.vram_total)
                            ));
                        }
                        parts.join(", ")
                    }
                    Some(h) => h.problems.join("; "),
                };
                vec![
                    format!("{}{}", v.name, if v.default { " *" } else { "" }),
                    v.kind.clone(),
                    v.model.clone(),
                    v.max_in_flight.to_string(),
                    v.endpoint.clone().unwrap_or_default(),
                    status,
                ]
            })
            .collect();
        let mut headers = vec!["BACKEND", "KIND", "MODEL", "IN FLIGHT", "WHERE"];
        if check {
            headers.push("HEALTH");
        } else {
            headers.push("");
        }
        table(&headers, &rows);
        if !check {
            outln!("(* default; `previs backends --check` asks each one how it is)");
        }
    }
    Ok(i32::from(failing > 0))
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1u32 << 30)
}

//! Server-side printing: the `Table` kubectl asks for (`Accept: …;as=Table;…`), so that
//! `kubectl get pods` in the lab shows READY, STATUS and RESTARTS as a real cluster does.

use axum::http::HeaderMap;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

/// Whether the client asked for a Table.
pub fn wanted(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("as=Table"))
}

fn column(name: &str, kind: &str) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": kind, "format": format, "description": "", "priority": 0})
}

fn row(cells: Vec<Value>, meta: &ObjectMeta) -> Value {
    let metadata = serde_json::to_value(meta).unwrap_or_default();
    json!({
        "cells": cells,
        "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata},
    })
}

fn table(rv: u64, columns: Vec<Value>, rows: Vec<Value>) -> Value {
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv.to_string()},
        "columnDefinitions": columns,
        "rows": rows,
    })
}

/// `5s`, `3m`, `2h`, `4d`, as kubectl shows ages.
pub fn age(created: Option<&Time>) -> String {
    let Some(Time(created)) = created else { return "<unknown>".into() };
    let secs = Timestamp::now().as_second().saturating_sub(created.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

pub fn pods(pods: &[Pod], rv: u64) -> Value {
    let columns = ["Name", "Ready", "Status", "Restarts", "Age"]
        .iter()
        .map(|c| column(c, if *c == "Restarts" { "integer" } else { "string" }))
        .collect();
    let rows = pods
        .iter()
        .map(|pod| {
            let statuses =
                pod.status.as_ref().and_then(|s| s.container_statuses.clone()).unwrap_or_default();
            let ready = statuses.iter().filter(|c| c.ready).count();
            let restarts: i32 = statuses.iter().map(|c| c.restart_count).sum();
            let status = if pod.metadata.deletion_timestamp.is_some() {
                "Terminating".to_owned()
            } else {
                pod.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default()
            };
            let cells = vec![
                json!(pod.metadata.name),
                json!(format!("{ready}/{}", statuses.len())),
                json!(status),
                json!(restarts),
                json!(age(pod.metadata.creation_timestamp.as_ref())),
            ];
            row(cells, &pod.metadata)
        })
        .collect();
    table(rv, columns, rows)
}

pub fn services(services: &[Service], rv: u64) -> Value {
    let columns = ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"]
        .iter()
        .map(|c| column(c, "string"))
        .collect();
    let rows = services
        .iter()
        .map(|svc| {
            let spec = svc.spec.clone().unwrap_or_default();
            let ports: Vec<String> = spec
                .ports
                .unwrap_or_default()
                .iter()
                .map(|p| format!("{}/{}", p.port, p.protocol.as_deref().unwrap_or("TCP")))
                .collect();
            let cells = vec![
                json!(svc.metadata.name),
                json!(spec.type_.unwrap_or_else(|| "ClusterIP".into())),
                json!(spec.cluster_ip.unwrap_or_default()),
                json!("<none>"),
                json!(ports.join(",")),
                json!(age(svc.metadata.creation_timestamp.as_ref())),
            ];
            row(cells, &svc.metadata)
        })
        .collect();
    table(rv, columns, rows)
}

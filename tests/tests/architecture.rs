//! The architecture as a test (#17): `cargo metadata` must show no
//! forbidden arrow between the crates. Adapters (REST `api`, the bot `bot`)
//! sit on the app layer (`app`) and never on each other; `app` knows no
//! adapter and no transport; `store` is the only crate that speaks SQL and
//! does not depend on `matcher`; `domain` and `matcher` do no I/O.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use serde_json::Value;
use std::collections::BTreeMap;

/// Crates that talk to users or to other systems over a wire.
const ADAPTERS: &[&str] = &["api", "bot"];
/// Crates that do I/O (a database, a network, files of a format, a runtime).
const IO: &[&str] = &[
    "diesel",
    "diesel_migrations",
    "diesel-async",
    "tokio",
    "redis",
    "reqwest",
    "actix-web",
    "actix-multipart",
    "actix-web-prom",
    "teloxide",
    "tantivy",
    "calamine",
    "rust_xlsxwriter",
    "zip",
    "hyper",
    "sqlx",
];
/// Transports the app layer must not know.
const TRANSPORTS: &[&str] = &["actix-web", "actix-multipart", "teloxide", "utoipa-actix-web", "utoipa-swagger-ui"];

/// Each workspace crate and the crates it depends on (normal dependencies).
fn arrows(metadata: &Value) -> BTreeMap<String, Vec<String>> {
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .collect();
            (p["name"].as_str().unwrap().to_owned(), deps)
        })
        .collect()
}

/// Every forbidden arrow, as `from -> to (why)`.
fn violations(arrows: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut out = Vec::new();
    let mut no = |from: &str, to: &str, why: &str| {
        if arrows.get(from).is_some_and(|deps| deps.iter().any(|d| d == to)) {
            out.push(format!("{from} -> {to} ({why})"));
        }
    };
    for a in ADAPTERS {
        for b in ADAPTERS {
            if a != b {
                no(a, b, "an adapter depends on another adapter");
            }
        }
        no("app", a, "the app layer depends on an adapter");
        no("store", a, "store depends on an adapter");
        no("domain", a, "domain depends on an adapter");
    }
    no("store", "matcher", "store depends on the matcher (its input types live in domain)");
    for t in TRANSPORTS {
        no("app", t, "the app layer knows a transport");
    }
    let workspace: Vec<String> = arrows.keys().cloned().collect();
    for pure in ["domain", "matcher"] {
        for io in IO {
            no(pure, io, "a pure crate does I/O");
        }
    }
    for w in &workspace {
        no("domain", w, "domain depends on another crate of the workspace");
        if w != "domain" {
            no("matcher", w, "the matcher depends on a crate of the workspace other than domain");
        }
    }
    out
}

#[test]
fn no_forbidden_arrow_between_the_crates() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    let metadata: Value = serde_json::from_slice(&out.stdout).unwrap();
    let arrows = arrows(&metadata);
    for c in ["domain", "store", "app", "api", "bot", "matcher", "search-index"] {
        assert!(arrows.contains_key(c), "crate {c} is not in the workspace: {:?}", arrows.keys());
    }
    let v = violations(&arrows);
    assert!(v.is_empty(), "forbidden dependencies:\n{}", v.join("\n"));
}

/// The checker itself finds each kind of forbidden arrow.
#[test]
fn each_forbidden_arrow_is_found() {
    let clean: BTreeMap<String, Vec<String>> = [
        ("domain", vec!["chrono", "serde"]),
        ("matcher", vec!["domain"]),
        ("store", vec!["domain", "diesel"]),
        ("app", vec!["domain", "store", "matcher", "tokio"]),
        ("api", vec!["app", "store", "actix-web"]),
        ("bot", vec!["app", "store", "teloxide"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(violations(&clean), Vec::<String>::new());
    for (from, to) in [
        ("bot", "api"),
        ("api", "bot"),
        ("store", "matcher"),
        ("domain", "tokio"),
        ("domain", "diesel"),
        ("domain", "store"),
        ("matcher", "store"),
        ("app", "api"),
        ("app", "actix-web"),
        ("app", "teloxide"),
    ] {
        let mut bad = clean.clone();
        bad.get_mut(from).unwrap().push(to.to_owned());
        let v = violations(&bad);
        assert_eq!(v.len(), 1, "{from} -> {to}: {v:?}");
        assert!(v[0].starts_with(&format!("{from} -> {to} ")), "{v:?}");
    }
}

/// Tests wait for a condition through `qianlink_tests::eventually`, never by
/// sleeping a fixed time (#17): a sleep either wastes time or, on a slow
/// machine, hopes. Only the fake servers (their long poll, their webhook
/// retries) and the helper itself may sleep.
#[test]
fn tests_wait_with_eventually_not_with_sleeps() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let needle = concat!("sle", "ep("); // not found in this file itself
    let mut found = Vec::new();
    for dir in ["tests", "src"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        for e in entries.flatten() {
            let path = e.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !name.ends_with(".rs") || ["eventually.rs", "fake_telegram.rs"].contains(&name) {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, line) in text.lines().enumerate() {
                if line.contains(needle) && !line.trim_start().starts_with("//") {
                    found.push(format!("{dir}/{name}:{}: {}", i + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "fixed sleeps in tests (use eventually):\n{}", found.join("\n"));
}

//! The docs keep their promise that every spec in them parses.
//!
//! A Rust example runs as a doc test (the README's too, through
//! `ReadmeDoctests`), so its spec is parsed there, but only if it is not
//! `no_run` or `ignore`: those are only compiled. The README's spec shown
//! as text is `tests/data/example.spec`, which `spec.rs` parses, and its
//! Unix sockets block is parsed here.

use std::path::Path;

use crate::spec::EXAMPLE;

const README: &str = include_str!("../../README.md");

/// The fences in `text` that keep an example from running, as `path:line`.
fn unrun(path: &str, text: &str, out: &mut Vec<String>) {
    for (n, line) in text.lines().enumerate() {
        let code = line
            .trim_start()
            .trim_start_matches("//!")
            .trim_start_matches("///")
            .trim_start();
        if let Some(tag) = code.strip_prefix("```")
            && tag
                .split(',')
                .any(|t| matches!(t.trim(), "no_run" | "ignore"))
        {
            out.push(format!("{path}:{}: {line}", n + 1));
        }
    }
}

fn sources(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            unrun(&path.display().to_string(), &text, out);
        }
    }
}

#[test]
fn every_doc_example_runs_so_its_spec_is_parsed() {
    let mut found = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    unrun("README.md", README, &mut found);
    assert!(
        found.is_empty(),
        "these examples would not run as doc tests, so their specs are never parsed; \
         make them runnable (loopback, port 0, a `Host::builder()` host):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_readmes_spec_language_block_is_the_parsed_example() {
    assert!(
        README.contains(&format!("```text\n{EXAMPLE}```")),
        "README's \"The spec language\" block must be tests/data/example.spec verbatim"
    );
}

#[test]
fn the_readmes_unix_block_parses_and_means_what_it_says() {
    let (_, after) = README
        .split_once("### Unix domain sockets")
        .expect("the README has a Unix sockets section");
    let block = after
        .split_once("```text\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("the section opens with a spec block")
        .0;
    let spec: listenspec::ListenSpec = block.parse().unwrap_or_else(|e| panic!("{e}"));
    let paths: Vec<String> = spec
        .endpoints()
        .iter()
        .map(|e| format!("{} {}", e.qualified(), e.unix_path().unwrap()))
        .collect();
    assert_eq!(
        paths,
        [
            "local.api /run/app/api.sock",
            "local.ctl @app-ctl",
            "local.log /run/app/log.sock"
        ]
    );
    assert_eq!(spec.endpoints()[0].options().mode, Some(0o660));
}

/// The crate root's feature table (what docs.rs shows first) lists every
/// feature of Cargo.toml, and no other.
#[test]
fn the_crate_roots_feature_table_lists_every_feature() {
    let manifest: toml::Table = include_str!("../../Cargo.toml").parse().unwrap();
    let mut features: Vec<&str> = manifest["features"]
        .as_table()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|f| *f != "default")
        .collect();
    features.sort_unstable();
    let lib = include_str!("../../src/lib.rs");
    let table = lib
        .split_once("//! # Features")
        .and_then(|(_, rest)| rest.split_once("//! #"))
        .map(|(table, _)| table)
        .expect("lib.rs has a Features section");
    let mut listed: Vec<&str> = table
        .lines()
        .filter_map(|l| l.strip_prefix("//! | `"))
        .filter_map(|l| l.split_once('`').map(|(name, _)| name))
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, features);
    // docs.rs turns every feature on, and doc_cfg marks what needs one.
    let docs_rs = &manifest["package"]["metadata"]["docs"]["rs"];
    assert_eq!(docs_rs["all-features"].as_bool(), Some(true));
    assert!(docs_rs["rustdoc-args"].to_string().contains("docsrs"));
    assert!(lib.contains("#![cfg_attr(docsrs, feature(doc_cfg))]"));
}

/// crates.io shows the README's code as written: no line of a Rust block
/// is one rustdoc would hide (`# ...`), so what a reader copies is what
/// the doc test runs.
#[test]
fn the_readmes_rust_blocks_hide_nothing() {
    let mut in_rust = false;
    let mut hidden = Vec::new();
    for (n, line) in README.lines().enumerate() {
        match line.trim() {
            "```rust" => in_rust = true,
            "```" => in_rust = false,
            l if in_rust && (l == "#" || l.starts_with("# ")) => {
                hidden.push(format!("README.md:{}: {line}", n + 1));
            }
            _ => {}
        }
    }
    assert!(hidden.is_empty(), "hidden lines:\n{}", hidden.join("\n"));
}

/// The README's table of other programs' forms tells, in some rows, the
/// two lines to write instead (`listen = …` and `listen.tcp = …`): each
/// such pair parses and plans on a host with both families, as written.
/// (Three rows said `listen = ::`, which a network named `listen` refuses
/// without `expose=public`.)
#[test]
fn the_readmes_suggested_lines_plan_as_written() {
    let host = listenspec::Host::builder()
        .interface("lo", 1, ["127.0.0.1/8", "::1/128"])
        .interface("eth0", 2, ["198.51.100.7/24", "2001:db8::7/64"])
        .build()
        .unwrap();
    let mut checked = 0;
    for line in README.lines().filter(|l| l.starts_with('|')) {
        let spans: Vec<&str> = line.split('`').skip(1).step_by(2).collect();
        for pair in spans.windows(2) {
            let [network, endpoint] = pair else { continue };
            if network.starts_with("listen = ") && endpoint.starts_with("listen.tcp = ") {
                let text = format!("{network}\n{endpoint}");
                let spec: listenspec::ListenSpec =
                    text.parse().unwrap_or_else(|e| panic!("{line}\n{e}"));
                listenspec::plan(&spec, &host).unwrap_or_else(|e| panic!("{line}\n{e}"));
                checked += 1;
            }
        }
    }
    assert!(checked >= 2, "only {checked} pairs found");
}

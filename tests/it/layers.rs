//! One spec from a config file, flags and the environment.

use std::collections::HashMap;

use listenspec::spec::{Layers, SpecErrorKind};
use listenspec::{Host, ListenSpec};

const FILE: &str = "
public      = *            advertise https://svc.example
ops         = loopback
public.http = http:8080
ops.metrics = http:9100
ops.admin   = http:9200
";

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Send + Sync {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| vars.get(name).cloned()
}

#[test]
fn later_layers_replace_add_and_remove() {
    let spec = Layers::new()
        .text("config.toml [listen]", FILE)
        .text("--listen #1", "public.http = http:9090")
        .text("--listen #2", "public.grpc = tcp:9000")
        .text("--listen #3", "-ops.admin")
        .text("--listen #4", "ops = ::1")
        .build()
        .unwrap();
    let want: ListenSpec = "
        public = * advertise https://svc.example
        ops = ::1
        public.http = http:9090
        ops.metrics = http:9100
        public.grpc = tcp:9000
    "
    .parse()
    .unwrap();
    assert_eq!(spec, want, "replaced in place, added at the end, removed");

    let without_ops = Layers::new()
        .text("file", FILE)
        .text("flag", "-ops")
        .build()
        .unwrap();
    assert_eq!(
        without_ops.to_string(),
        "public = * advertise https://svc.example/\npublic.http = http:8080\n",
        "removing a network removes its endpoints"
    );
}

#[test]
fn a_layer_may_lean_on_the_layers_before_it() {
    // The flag names a network only the file defines: checked on the whole.
    let spec = Layers::new()
        .text("file", "ops = loopback")
        .text("--listen #1", "ops.metrics = http:9100")
        .build()
        .unwrap();
    assert_eq!(spec.endpoints()[0].qualified().to_string(), "ops.metrics");
    // A spec read elsewhere (a config struct through serde) is a layer too.
    let spec = Layers::new()
        .spec("config.toml [listen]", FILE.parse().unwrap())
        .text("$LISTEN", "0.0.0.0:8080")
        .build()
        .unwrap();
    assert!(spec.network("listen").is_some(), "{spec}");
    assert!(spec.network("public").is_some(), "{spec}");
}

#[test]
fn errors_name_their_layer_and_line() {
    let err = Layers::new()
        .text(
            "config.toml [listen]",
            "x = loopback\nx.a = tcp:1\nx.b = tcp:70000",
        )
        .text("--listen #2", "y.c = tcp:1")
        .text("--listen #3", "-nothing")
        .build()
        .unwrap_err();
    let text = err.to_string();
    for says in [
        "config.toml [listen] line 3: ports \"70000\"",
        "--listen #2 line 1: endpoint y.c is on a network that is not defined",
        "--listen #3 line 1: -nothing removes nothing",
    ] {
        assert!(text.contains(says), "{text}\ndoes not say {says:?}");
    }
    assert_eq!(
        crate::error_kinds(&err),
        ["BadPorts", "UnknownNetwork", "NothingToRemove"]
    );
    // One letter is no slip for another: no guess.
    assert!(!text.contains("did you mean"), "{text}");
}

/// A plan error of a spec of layers says where the network or endpoint
/// it is about was written: the config file's line, or the flag that
/// replaced it, in the text and in the JSON; a spec of one unnamed text
/// has one place to look, and says none.
#[test]
fn plan_errors_name_the_layer_that_wrote_the_statement() {
    let host = crate::loopback_host();
    let spec = Layers::new()
        .text(
            "config.toml [listen]",
            "ops = loopback expose=local\nops.a = tcp:9100\nops.b = tcp:9200",
        )
        .text("--listen #1", "ops = 0.0.0.0 expose=local")
        .text("--listen #2", "ops.b = tcp:9100")
        .build()
        .unwrap();
    let err = listenspec::plan(&spec, &host).unwrap_err();
    let text = err.to_string();
    for says in [
        "- network ops (--listen #1 line 1): expose=local forbids a wildcard",
        "- ops.b (--listen #2 line 1): tcp 0.0.0.0:9100 is also taken by ops.a",
    ] {
        assert!(text.contains(says), "{text}\ndoes not say {says:?}");
    }
    let json = serde_json::to_value(&err).unwrap();
    assert_eq!(json["errors"][0]["written"], "--listen #1 line 1", "{json}");
    assert_eq!(json["errors"][1]["written"], "--listen #2 line 1", "{json}");
    let unnamed: ListenSpec = spec.to_string().parse().unwrap();
    assert_eq!(unnamed, spec, "where it was written is no part of the spec");
    let text = listenspec::plan(&unnamed, &host).unwrap_err().to_string();
    assert!(text.contains("- network ops: expose=local"), "{text}");
    let json = serde_json::to_value(listenspec::plan(&unnamed, &host).unwrap_err()).unwrap();
    assert_eq!(
        json["errors"][0]["written"],
        serde_json::Value::Null,
        "{json}"
    );
}

/// A flag that misspells the network it means to change is told the one
/// meant: an endpoint on it, and a removal of it or its endpoint.
#[test]
fn a_misspelt_network_in_a_later_layer_is_told_the_one_meant() {
    let config =
        "public = 127.0.0.1\nops = 127.0.0.2\npublic.http = http:8080\nops.metrics = http:9100";
    let err = Layers::new()
        .text("config.toml [listen]", config)
        .text("--listen #1", "opps.metrics = http:9101")
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(crate::error_kinds(&err), ["UnknownNetwork"]);
    assert!(
        text.ends_with("defined networks: public, ops\ndid you mean ops.metrics for opps.metrics?"),
        "{text}"
    );
    let err = Layers::new()
        .text("config.toml [listen]", config)
        .text("--listen #1", "-opps.metrics")
        .text("--listen #2", "-pubilc")
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(
        crate::error_kinds(&err),
        ["NothingToRemove", "NothingToRemove"]
    );
    assert!(
        text.ends_with(
            "\ndid you mean -ops.metrics for -opps.metrics?\ndid you mean -public for -pubilc?"
        ),
        "{text}"
    );
    // A misspelt endpoint of a network that exists gets no guess of
    // another network's endpoint.
    let err = Layers::new()
        .text("config.toml [listen]", config)
        .text("config.d/opt", "opt = 127.0.0.3\nopt.a = tcp:1")
        .text("--listen #1", "-ops.metricz")
        .build()
        .unwrap_err();
    assert!(!err.to_string().contains("did you mean"), "{err}");
    // A misspelt network statement alone makes a network of its own,
    // without endpoints: its warning names the one meant.
    let spec = Layers::new()
        .text("config.toml [listen]", config)
        .text("--listen #1", "opps = 127.0.0.3")
        .build()
        .unwrap();
    let host = crate::loopback_host();
    let plan = spec.plan(&host).unwrap();
    let warnings: Vec<String> = plan.warnings().iter().map(|w| w.to_string()).collect();
    assert_eq!(
        warnings,
        [
            "network opps: has no endpoints, so nothing listens on it\n  \
          fix: add an endpoint (`NET.NAME = tcp:PORT`) or remove the network; \
          if it was meant to change network ops, name it ops: \
          a later layer's statement for ops replaces the earlier one"
        ]
    );
    // Within one layer a name is still defined once.
    let err = Layers::new()
        .text("file", "x = loopback\nx = loopback")
        .build()
        .unwrap_err();
    assert_eq!(crate::error_kinds(&err), ["DuplicateNetwork"]);
}

/// The guesses (a network without endpoints, an endpoint on an undefined
/// network) are for a person's few networks: among 256 they are made,
/// among more they are not (a generated spec would pay the product of its
/// networks).
#[test]
fn a_network_without_endpoints_is_guessed_among_256_networks_and_no_more() {
    let host = crate::loopback_host();
    for (networks, guessed) in [(256, true), (257, false)] {
        let mut text =
            String::from("ops = loopback shared\nops.m = tcp:0\nopps = loopback shared\n");
        for i in 0..networks - 2 {
            text.push_str(&format!("n{i:03} = loopback shared\n"));
        }
        let spec: ListenSpec = text.parse().unwrap();
        assert_eq!(spec.networks().len(), networks);
        let plan = spec.plan(&host).unwrap_or_else(|e| panic!("{e}"));
        let opps = plan
            .warnings()
            .iter()
            .find(|w| w.network_name().is_some_and(|n| n.as_str() == "opps"))
            .unwrap();
        assert_eq!(
            opps.fix().contains("if it was meant to change network ops"),
            guessed,
            "{networks}: {opps}"
        );
        // So is a spec error's guess for an endpoint on a misspelt network.
        let err = format!("{text}oops.a = tcp:1")
            .parse::<ListenSpec>()
            .unwrap_err();
        assert_eq!(
            err.to_string().contains("did you mean ops.a for oops.a?"),
            guessed,
            "{networks}"
        );
    }
}

#[test]
fn variables_stand_for_one_word_and_never_for_nothing() {
    let spec = Layers::new()
        .env(env(&[("PORT", "3000"), ("POD_IP", "203.0.113.7"), ("ADMIN_PORT", "")]))
        .text(
            "file",
            "cluster = * advertise ${POD_IP}\ncluster.http = http:${PORT:-8080}\ncluster.grpc = tcp:${GRPC_PORT:-9000}\ncluster.admin = tcp:${ADMIN_PORT:-9001}",
        )
        .build()
        .unwrap();
    // Unset or empty, a variable with a default is its default (a shell's `:-`).
    assert_eq!(
        spec.to_string(),
        "cluster = * advertise 203.0.113.7\ncluster.http = http:3000\ncluster.grpc = tcp:9000\ncluster.admin = tcp:9001\n"
    );

    let err = Layers::new()
        .env(env(&[("EVIL", "80 reuseport; public = *"), ("EMPTY", "")]))
        .text(
            "file",
            "x = loopback\nx.a = tcp:${PORT}\nx.b = tcp:${EVIL}\nx.c = tcp:${EMPTY}\nx.d = tcp:${PORT",
        )
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(
        crate::error_kinds(&err),
        [
            "UnsetVariable",
            "BadVariable",
            "BadVariable",
            "BadReference"
        ],
        "{text}"
    );
    assert!(text.contains("file line 2: ${PORT} is not set"), "{text}");
    assert!(
        text.contains("file line 4: ${EMPTY} is set but empty, and a variable stands for one word of the spec: set it, or write ${EMPTY:-DEFAULT} for a default to take when it is empty or not set"),
        "{text}"
    );
    assert!(
        matches!(&err.errors()[1].kind, SpecErrorKind::BadVariable { name, .. } if name == "EVIL")
    );

    // Without env, `${` is left as written, and refused as unexpanded.
    let err = Layers::new()
        .text("file", "x = loopback\nx.a = tcp:${PORT}")
        .build()
        .unwrap_err();
    assert_eq!(crate::error_kinds(&err), ["UnexpandedVariable"]);
}

/// Each bad reference is reported on its own line, quoted as written, and
/// the lines after a variable keep their numbers.
#[test]
fn reference_errors_say_where_and_what() {
    let err = Layers::new()
        .env(env(&[("EVIL", "a b")]))
        .text(
            "file",
            "x = loopback\nx.a = tcp:${A-B}\nx.b = tcp:${EVIL}\nx.c = tcp:${}\nx.d = tcp:${PORT\nx.e = tcp:${P:-${Q:-${R}}} ; x.f = tcp:${S:-${T}",
        )
        .build()
        .unwrap_err();
    let got: Vec<(Option<usize>, String)> = err
        .errors()
        .iter()
        .map(|l| {
            let what = match &l.kind {
                SpecErrorKind::BadReference(r) => r.clone(),
                SpecErrorKind::BadVariable { name, .. } => name.clone(),
                other => crate::variant_name(other),
            };
            (l.line, what)
        })
        .collect();
    // A default holding a reference is quoted to the `}` that closes it,
    // nested ones too; one that never closes, to the line's end.
    let want = [
        (2, "${A-B}"),
        (3, "EVIL"),
        (4, "${}"),
        (5, "${PORT"),
        (6, "${P:-${Q:-${R}}}"),
        (6, "${S:-${T}"),
    ];
    // An empty default stands for nothing, as an unset variable would.
    let empty = Layers::new()
        .env(env(&[]))
        .text("file", "x = loopback\nx.a = tcp:${X:-}")
        .build()
        .unwrap_err();
    assert_eq!(crate::error_kinds(&empty), ["BadReference"], "{empty}");
    assert!(
        empty.to_string().contains("\"${X:-}\" is no variable"),
        "{empty}"
    );
    let want: Vec<(Option<usize>, String)> =
        want.iter().map(|&(n, w)| (Some(n), w.to_owned())).collect();
    assert_eq!(got, want, "{err}");

    // A value the grammar refuses is its error, on the variable's own line.
    let err = Layers::new()
        .env(env(&[("PORT", "80x")]))
        .text("file", "x = loopback\nx.a = tcp:${PORT}")
        .build()
        .unwrap_err();
    assert_eq!(crate::error_kinds(&err), ["BadPorts"]);
    assert_eq!(err.errors()[0].line, Some(2), "{err}");
    // Quoted as the file has it, beside what the parser read.
    assert_eq!(
        err.errors()[0].statement.as_deref(),
        Some("x.a = tcp:${PORT}   (expanded: x.a = tcp:80x)"),
    );
    // A line without a variable is quoted as it is.
    let err = Layers::new()
        .env(env(&[("PORT", "80")]))
        .text("file", "x = loopback\nx.a = tcp:${PORT}\nx.b = tcp:8x")
        .build()
        .unwrap_err();
    assert_eq!(err.errors()[0].statement.as_deref(), Some("x.b = tcp:8x"));
    // Each line with its error, down the layer.
    let err = Layers::new()
        .env(env(&[("PORT", "80x")]))
        .text(
            "file",
            "x = loopback\nx.a = tcp:${PORT} backlg=1\nx.b = tcp:2\nx.c = tcp:${PORT}",
        )
        .build()
        .unwrap_err();
    let quoted: Vec<Option<&str>> = err
        .errors()
        .iter()
        .map(|l| l.statement.as_deref())
        .collect();
    assert_eq!(
        quoted,
        [
            Some("x.a = tcp:${PORT} backlg=1   (expanded: x.a = tcp:80x backlg=1)"),
            None,
            Some("x.c = tcp:${PORT}   (expanded: x.c = tcp:80x)"),
        ],
        "{err}"
    );
}

#[test]
fn a_spec_is_edited_in_code_by_laying_a_statement_over_it() {
    let spec: ListenSpec = FILE.parse().unwrap();
    let spec = spec
        .with("public.http = http:9090 advertise https://edge.example")
        .unwrap();
    let http = spec
        .endpoints()
        .iter()
        .find(|e| e.name() == "http")
        .unwrap();
    assert_eq!(http.ports().unwrap().first(), 9090);
    assert_eq!(
        http.advertised().unwrap().to_string(),
        "https://edge.example/"
    );
    let err = spec.with("nowhere.x = tcp:1").unwrap_err();
    assert_eq!(crate::error_kinds(&err), ["UnknownNetwork"]);
}

/// A variable whose value is refused is told once, however many
/// references repeat it: each error holds the value, which may be long.
#[test]
fn a_refused_variable_is_told_once() {
    let long = format!("a {}", "b".repeat(100_000));
    let text =
        "x = loopback advertise ${P}\nx.a = tcp:1 advertise ${P}; x.b = tcp:2 advertise ${P}"
            .repeat(200);
    let err = Layers::new()
        .env(|name| (name == "P").then(|| long.clone()))
        .text("file", text)
        .build()
        .unwrap_err();
    assert_eq!(crate::error_kinds(&err), ["BadVariable"]);
}

/// `env_vars` reads the process's own environment: cargo gives every test
/// process `CARGO_PKG_NAME`.
#[test]
fn env_vars_expands_from_the_process_environment() {
    let spec = Layers::new()
        .text("file", "x = loopback advertise ${CARGO_PKG_NAME}.example")
        .env_vars()
        .build()
        .unwrap();
    let advertise = spec.network("x").unwrap().advertised().unwrap();
    assert_eq!(advertise.to_string(), "listenspec.example");
}

/// A config struct that holds layers prints their names, not their texts,
/// and whether variables are expanded.
#[test]
fn layers_debug_names_each_layer() {
    let layers = Layers::new()
        .text("config.toml [listen]", "x = loopback")
        .text("--listen #1", "x.a = tcp:80")
        .env(|_| None);
    assert_eq!(
        format!("{layers:?}"),
        r#"Layers { layers: ["config.toml [listen]", "--listen #1"], env: true }"#
    );
}

/// Text parsed without an environment keeps its `${NAME}`: each statement
/// holding one is that error, saying what to call, not a bad port; and an
/// endpoint on a network so spoiled is not also "not defined".
#[test]
fn a_variable_nothing_expanded_says_to_lay_the_text_with_an_environment() {
    let text =
        "public = ${ADDR}\npublic.http = http:${PORT:-8080}\nops = loopback\nops.m = http:9100";
    for err in [
        text.parse::<ListenSpec>().unwrap_err(),
        Layers::new()
            .text("config.toml [listen]", text)
            .build()
            .unwrap_err(),
    ] {
        assert_eq!(
            crate::error_kinds(&err),
            ["UnexpandedVariable", "UnexpandedVariable"]
        );
        let lines: Vec<String> = err.errors().iter().map(|e| e.kind.to_string()).collect();
        assert_eq!(
            lines,
            [
                "${ADDR} is a variable, but nothing expanded it: lay the text with Layers::env_vars() (or Layers::env) to expand it; str::parse and Deserialize for ListenSpec take no environment, so keep config-file text in a SpecText and add it with Layers::text",
                "${PORT:-8080} is a variable, but nothing expanded it: lay the text with Layers::env_vars() (or Layers::env) to expand it; str::parse and Deserialize for ListenSpec take no environment, so keep config-file text in a SpecText and add it with Layers::text",
            ]
        );
    }
    // A whole spec of one address is read the same way.
    let err = "0.0.0.0:${PORT}".parse::<ListenSpec>().unwrap_err();
    assert_eq!(crate::error_kinds(&err), ["UnexpandedVariable"], "{err}");
    // With an environment it is expanded.
    let spec = Layers::new()
        .text("config.toml [listen]", text)
        .env(env(&[("ADDR", "127.0.0.1")]))
        .build()
        .unwrap();
    assert_eq!(spec.endpoints()[0].ports().unwrap().to_string(), "8080");
}

/// The future of `bind_layers_async` is `Send`, so a server can bind from
/// a spawned task, its layers carrying the process environment.
#[tokio::test]
async fn layers_bind_from_a_spawned_task() {
    let layers = Layers::new()
        .text(
            "config.toml [listen]",
            "local = 127.0.0.1; local.http = http:${NO_SUCH_PORT_VAR:-0}",
        )
        .env_vars();
    let bound = tokio::spawn(listenspec::bind_layers_async(layers))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(bound.endpoint("local", "http").unwrap().port(), Some(0));
}

#[test]
fn a_variable_in_a_list_may_hold_several_items() {
    let spec = Layers::new()
        .text("file", "ops = ${OPS_ADDRS}\nops.metrics = http:9100")
        .env(env(&[("OPS_ADDRS", "10.0.0.1,10.0.0.2")]))
        .build()
        .unwrap();
    assert_eq!(
        spec.to_string(),
        "ops = 10.0.0.1, 10.0.0.2\nops.metrics = http:9100\n"
    );
}

/// Each value a layer of its own, as repeated `--listen` flags are.
fn flags(values: &[&str]) -> String {
    values
        .iter()
        .enumerate()
        .fold(Layers::new(), |l, (i, v)| {
            l.text(format!("--listen #{i}"), *v)
        })
        .build()
        .unwrap_or_else(|e| panic!("{values:?}: {e}"))
        .to_string()
}

#[test]
fn nginx_s_pair_as_two_flags_is_both_families_and_the_address_alone_stays_dual_stack() {
    let both = "listen = 0.0.0.0, :: expose=public\nlisten.tcp = tcp:8080\n";
    assert_eq!(flags(&["0.0.0.0:8080", "[::]:8080"]), both);
    assert_eq!(
        flags(&["[::]:8080", "0.0.0.0:8080"]),
        "listen = ::, 0.0.0.0 expose=public\nlisten.tcp = tcp:8080\n"
    );
    if crate::STD_BINDS_DUAL {
        assert_eq!(
            flags(&["[::]:8080"]),
            "listen = :: expose=public\nlisten.tcp = tcp:8080 v6only=false\n"
        );
    }
}

/// A one-address `--listen` on an address, or a port, a config's network
/// has: the two networks share the address or their sockets collide, and
/// the fix says that the flag's form to move the config's endpoint is its
/// statement. Two written networks are not told.
#[test]
fn a_one_address_flag_on_a_config_network_s_address_is_told_the_statement_form() {
    use listenspec::plan::ProblemKind;
    let host = crate::loopback_host();
    // The fix of the first problem of the kind `is_kind` picks.
    let fix_of = |flag: &str, is_kind: fn(&ProblemKind) -> bool| {
        let spec = Layers::new()
            .text("config", "public = 127.0.0.1\npublic.http = http:8080")
            .text("--listen #1", flag)
            .build()
            .unwrap();
        let err = spec.plan(&host).unwrap_err();
        let problem = err
            .errors()
            .iter()
            .find(|p| is_kind(p.kind()))
            .unwrap_or_else(|| panic!("{flag}: {err}"))
            .clone();
        assert!(err.to_string().contains(&problem.fix()), "{err}");
        problem.fix()
    };
    let statement =
        "give its statement instead (--listen 'NETWORK.ENDPOINT = http:8282'; so too in $LISTEN)";
    let shared: fn(&ProblemKind) -> bool = |k| matches!(k, ProblemKind::SharedAddress { .. });
    assert!(fix_of("127.0.0.1:8282", shared).contains(statement));
    assert!(!fix_of("other = 127.0.0.1\nother.x = tcp:1", shared).contains("one-address"));
    // The same port on the wildcard, or on the same address: the flag's
    // socket collides with the config's, told the same.
    let conflict: fn(&ProblemKind) -> bool = |k| {
        matches!(
            k,
            ProblemKind::WildcardConflict { .. } | ProblemKind::Conflict { .. }
        )
    };
    for flag in ["0.0.0.0:8080", "127.0.0.1:8080"] {
        assert!(fix_of(flag, conflict).contains(statement), "{flag}");
    }
}

/// `--listen :8080` over a config that names a network `listen`: the
/// value's network would take that one's place and its endpoints would
/// bind every address. It is refused, in either order of the layers.
#[test]
fn a_one_address_flag_never_takes_the_place_of_a_network_the_config_wrote() {
    let config = "listen = 127.0.0.1 expose=local\nlisten.admin = http:9000";
    let err = Layers::new()
        .text("config", config)
        .text("--listen #1", ":8080")
        .build()
        .unwrap_err();
    assert!(
        err.errors()
            .iter()
            .any(|e| matches!(&e.kind, SpecErrorKind::OneAddressClash(n) if n == "listen")),
        "{err}"
    );
    assert!(err.to_string().contains("--listen #1"), "{err}");
    // A network of the config's own name still takes the value's place
    // in a later layer, as any later statement does; so does a removal.
    let spec = Layers::new()
        .text("--listen #1", "127.0.0.1:8080")
        .text("config", config)
        .build()
        .unwrap();
    assert_eq!(
        spec.to_string(),
        "listen = 127.0.0.1 expose=local\nlisten.tcp = tcp:8080\nlisten.admin = http:9000\n"
    );
}

/// Many one-address values of one port, as a `--listen-file` of every
/// address of a fleet: one network that grows, in linear time.
#[test]
fn many_one_address_values_of_one_port_read_in_linear_time() {
    let n = 100_000;
    let text: String = (0..n)
        .map(|i| {
            format!(
                "127.{}.{}.{}:8080\n",
                i >> 16 & 0xff,
                i >> 8 & 0xff,
                i & 0xff
            )
        })
        .collect();
    let spec: ListenSpec = Layers::new().text("--listen-file", text).build().unwrap();
    assert_eq!(spec.networks().len(), 1);
    assert_eq!(spec.networks()[0].includes().len(), n);
    assert_eq!(spec.endpoints().len(), 1);
}

/// A comment is no part of the spec: a variable there is not expanded,
/// so a line commented out, or a note of what a value was, needs no
/// variable set.
#[test]
fn variables_in_comments_are_left_alone() {
    let spec = Layers::new()
        .env(env(&[("PORT", "3000")]))
        .text(
            "file",
            "public = 127.0.0.1\npublic.http = http:${PORT}  # was ${OLD_PORT}\n# public.grpc = tcp:${GRPC_PORT}",
        )
        .build()
        .unwrap();
    assert_eq!(
        spec.to_string(),
        "public = 127.0.0.1\npublic.http = http:3000\n"
    );
}

/// A default is plain text: `${A:-${B}}` is a bad reference, not an
/// unexpanded `${B}` with advice to add an environment there already is.
#[test]
fn a_reference_as_a_default_is_refused_as_such() {
    let err = Layers::new()
        .env(env(&[("B", "9000")]))
        .text("file", "x = loopback\nx.a = tcp:${A:-${B}}")
        .build()
        .unwrap_err();
    assert_eq!(crate::error_kinds(&err), ["BadReference"], "{err}");
    assert!(
        err.to_string().contains("with a default of plain text"),
        "{err}"
    );
}

/// A spec file saved with a byte order mark (Notepad's UTF-8) reads as
/// the same file without one, in any layer.
#[test]
fn a_byte_order_mark_at_the_start_of_a_layer_is_not_text() {
    let text = "public = 127.0.0.1\npublic.http = http:8080";
    let want: ListenSpec = text.parse().unwrap();
    let bom = format!("\u{feff}{text}");
    assert_eq!(bom.parse::<ListenSpec>().unwrap(), want);
    let spec = Layers::new()
        .text("config", "x = loopback")
        .text("--listen-file", bom)
        .build()
        .unwrap();
    assert_eq!(
        spec.to_string(),
        "x = loopback\npublic = 127.0.0.1\npublic.http = http:8080\n"
    );
    assert!("\u{feff}:8080".parse::<ListenSpec>().is_ok());
}

/// A URL's user and password never reach the error's text or JSON: the
/// refused `advertise` value, the statement quoted under it, and a value
/// a secret's variable put into a one-address layer are each shown with
/// `***` in their place, while the host stays, to say which URL it is.
#[test]
fn an_error_never_echoes_a_urls_password() {
    let err = Layers::new()
        .text(
            "config.toml",
            "public = * advertise https://admin:hunter2@svc.example\npublic.http = http:8080",
        )
        .text("--listen #1", "${ADMIN_URL}")
        .text(
            "--listen #2",
            "x = loopback advertise https://svc:${PASS}@svc.example/",
        )
        .env(env(&[
            ("ADMIN_URL", "https://root:s3cr3t@0.0.0.0:9443/admin"),
            // A base64 secret holds `/`, `+` and more.
            ("PASS", "wJalrXUt/K7MDENG+bPxRfi?x"),
        ]))
        .build()
        .unwrap_err();
    let text = err.to_string();
    for secret in [
        "admin:", "hunter2", "root:", "s3cr3t", "wJalrXUt", "K7MDENG",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(
        text.contains(
            r#"advertise "https://***@svc.example": it may not carry a user or password"#
        ),
        "{text}"
    );
    assert!(text.contains("https://***@0.0.0.0:9443/admin"), "{text}");
    #[cfg(feature = "serde")]
    {
        let json = serde_json::to_string(&err).unwrap();
        for secret in ["hunter2", "s3cr3t", "wJalrXUt", "K7MDENG"] {
            assert!(!json.contains(secret), "{secret} in {json}");
        }
        assert!(json.contains("https://***@svc.example"), "{json}");
    }
}

/// Errors come in the order of the layers, a layer whose variables could
/// not be expanded among them (it was listed first, never having been
/// counted in).
#[test]
fn errors_come_in_the_order_of_the_layers() {
    let err = Layers::new()
        .text("--listen #1", "a = zz")
        .text("--listen #2", "b = ${UNSET}")
        .text("--listen #3", "c = yy")
        .env(env(&[]))
        .build()
        .unwrap_err();
    let layers: Vec<&str> = err
        .errors()
        .iter()
        .filter_map(|e| e.layer.as_deref())
        .collect();
    assert_eq!(
        layers,
        ["--listen #1", "--listen #2", "--listen #3"],
        "{err}"
    );
}

/// A variable's value is not expanded again, and one holding a reference
/// says so by the variable's name (it said that nothing had expanded the
/// text, to a server that had laid it with an environment).
#[test]
fn a_value_holding_a_reference_is_named_not_expanded() {
    let err = Layers::new()
        .text("--listen #1", "p = 127.0.0.1; p.http = http:${P}")
        .env(env(&[("P", "${Q}"), ("Q", "8080")]))
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(r#"${P} is "${Q}", which holds a reference of its own; a variable's value is not expanded again"#),
        "{text}"
    );
    assert!(!text.contains("nothing expanded it"), "{text}");
}

/// Each character that could add to a statement is refused in a value on
/// its own, not only beside another: `public = ${ADDR} expose=local` with
/// a `#` in ADDR would comment the exposure out (and `public`'s default is
/// `expose=public`), an `=` would add an option, a `;` a statement, a
/// space or tab another word.
#[test]
fn each_character_that_could_add_to_a_statement_is_refused_alone() {
    for value in [
        "*#",
        "127.0.0.1,expose=public",
        "*;127.0.0.1",
        "127.0.0.1 *",
        "127.0.0.1\t*",
    ] {
        let err = Layers::new()
            .env(env(&[("ADDR", value)]))
            .text(
                "file",
                "public = ${ADDR} expose=local\npublic.http = http:8080",
            )
            .build()
            .map(|spec| spec.to_string())
            .unwrap_err();
        assert_eq!(
            crate::error_kinds(&err),
            ["BadVariable"],
            "{value:?}: {err}"
        );
    }
}

/// A layer that removes or replaces what one-address values made starts
/// them over: no later value brings back an address taken away
/// (`0.0.0.0:8080`, `-listen`, `[::]:8080` bound the IPv4 wildcard again),
/// nor joins an endpoint moved to another port (`[::1]:8080` after
/// `listen.tcp = tcp:9000` was bound on port 9000). A value after its
/// network's removal makes `listen` again, the network the server takes.
#[test]
fn one_address_values_after_a_removal_or_a_move_start_over() {
    let dual = if crate::STD_BINDS_DUAL {
        " v6only=false"
    } else {
        ""
    };
    assert_eq!(
        flags(&["0.0.0.0:8080", "-listen", "[::]:8080"]),
        format!("listen = :: expose=public\nlisten.tcp = tcp:8080{dual}\n")
    );
    assert_eq!(
        flags(&["127.0.0.1:8080", "[::1]:8080", "-listen", "[::1]:8080"]),
        "listen = ::1 expose=public\nlisten.tcp = tcp:8080\n"
    );
    // Another port after the removal: the removed group stays gone, where
    // the second group had made it `shared` and whole again.
    assert_eq!(
        flags(&["127.0.0.1:8080", "-listen", "127.0.0.1:9090"]),
        "listen = 127.0.0.1 expose=public\nlisten.tcp = tcp:9090\n"
    );
    assert_eq!(
        flags(&["127.0.0.1:8080", "listen.tcp = tcp:9000", "[::1]:8080"]),
        "listen = 127.0.0.1 expose=public shared\nlisten-2 = ::1 expose=public shared\n\
         listen.tcp = tcp:9000\nlisten-2.tcp = tcp:8080\n"
    );
    assert_eq!(
        flags(&["127.0.0.1:8080", "-listen.tcp", "[::1]:8080"]),
        "listen = 127.0.0.1 expose=public shared\nlisten-2 = ::1 expose=public shared\n\
         listen-2.tcp = tcp:8080\n"
    );
    // The moved endpoint's network and the new one share the address they
    // both select, as two groups always may.
    let moved = Layers::new()
        .text("a", "127.0.0.1:8080")
        .text("b", "listen.tcp = tcp:9000")
        .text("c", "127.0.0.1:8081")
        .build()
        .unwrap();
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8"])
        .build()
        .unwrap();
    let plan = moved.plan(&host).unwrap_or_else(|e| panic!("{moved}\n{e}"));
    let binds: Vec<String> = plan
        .endpoints()
        .iter()
        .flat_map(|e| e.binds().iter().map(|b| b.addr().to_string()))
        .collect();
    assert_eq!(binds, ["127.0.0.1:9000", "127.0.0.1:8081"], "{plan}");
    // A group that takes a removed network's place, `listen`, makes the
    // other `shared` as a second group always does.
    assert_eq!(
        flags(&[
            "127.0.0.1:8080",
            "-listen.tcp",
            "[::1]:9090",
            "-listen",
            "127.0.0.1:7070"
        ]),
        "listen-2 = ::1 expose=public shared\nlisten = 127.0.0.1 expose=public shared\n\
         listen-2.tcp = tcp:9090\nlisten.tcp = tcp:7070\n"
    );
    // A removed group no longer counts: the two after it are the two that
    // make each other `shared`.
    assert_eq!(
        flags(&["127.0.0.1:8080", "-listen", "127.0.0.1:9090", "[::1]:7070"]),
        "listen = 127.0.0.1 expose=public shared\nlisten-2 = ::1 expose=public shared\n\
         listen.tcp = tcp:9090\nlisten-2.tcp = tcp:7070\n"
    );
    // A value written again over a network the user wrote in its group's
    // place is refused, as a new address of the group is (it was dropped
    // without a word).
    let err = Layers::new()
        .text("a", "127.0.0.1:8080")
        .text("b", "listen = 192.0.2.20 expose=public")
        .text("c", "127.0.0.1:8080")
        .build()
        .unwrap_err();
    assert!(
        matches!(err.errors()[0].kind, SpecErrorKind::OneAddressClash(_)),
        "{err}"
    );
    // Written again over the values' own network, it is nothing new.
    assert_eq!(
        flags(&["127.0.0.1:8080", "[::1]:8080", "127.0.0.1:8080"]),
        "listen = 127.0.0.1, ::1 expose=public\nlisten.tcp = tcp:8080\n"
    );
    // A network the user wrote over a value's, then removed: the group
    // goes with it, and its addresses do not come back.
    assert_eq!(
        flags(&[
            "10.0.0.1:8080",
            "listen = 10.0.0.5 expose=public",
            "-listen",
            "127.0.0.1:8080"
        ]),
        "listen = 127.0.0.1 expose=public\nlisten.tcp = tcp:8080\n"
    );
    assert_eq!(
        flags(&["/run/a.sock", "listen = unix", "-listen", "/run/a.sock"]),
        "listen = unix\nlisten.unix = unix:/run/a.sock\n"
    );
    // A Unix socket's group alike.
    assert_eq!(
        flags(&["/run/a.sock", "-listen", "/run/b.sock"]),
        "listen = unix\nlisten.unix = unix:/run/b.sock\n"
    );
    // The network the user wrote in place of a value's is theirs: a later
    // value of that group is refused, as before.
    let err = Layers::new()
        .text("a", "127.0.0.1:8080")
        .text("b", "listen = ::1")
        .text("c", "[::1]:8080")
        .build()
        .unwrap_err();
    assert!(
        matches!(err.errors()[0].kind, SpecErrorKind::OneAddressClash(_)),
        "{err}"
    );
}

//! The spec language: the example, table-driven text cases from
//! `tests/data/spec-cases.txt`, and the builder agreeing with the parser.

use listenspec::spec::{Advertise, Endpoint, Exposure, Family, Network, Ports, Protocol, Selector};
use listenspec::spec::{Device, SpecErrorKind, Zone};
use listenspec::{AddrClass, ListenSpec};

/// The example from the project's first issue, verbatim.
pub(crate) const EXAMPLE: &str = include_str!("../data/example.spec");

fn sel(s: &str) -> Selector {
    s.parse().unwrap()
}

#[test]
fn the_example_means_what_its_comments_say() {
    let spec: ListenSpec = EXAMPLE.parse().unwrap();
    let names: Vec<&str> = spec.networks().iter().map(|n| n.name().as_str()).collect();
    assert_eq!(
        names,
        [
            "public", "internal", "ops", "mgmt", "local", "edge", "pinned"
        ]
    );

    let public = spec.network("public").unwrap();
    assert_eq!(public.includes(), [Selector::Any]);
    assert_eq!(public.exposure(), Exposure::Public);
    assert_eq!(
        public.advertised().unwrap().to_string(),
        "https://my-awesome-service/"
    );

    let internal = spec.network("internal").unwrap();
    assert_eq!(
        internal.includes(),
        [
            Selector::Cidr("10.0.0.0/8".parse().unwrap()),
            Selector::Cidr("fd00::/8".parse().unwrap())
        ]
    );
    assert_eq!(internal.exposure(), Exposure::Private);

    let ops = spec.network("ops").unwrap();
    assert_eq!(ops.includes(), [sel("if:eth2")]);
    assert_eq!(ops.excludes(), [Selector::Class(AddrClass::LinkLocal)]);

    let mgmt = spec.network("mgmt").unwrap();
    let Selector::Interface(glob) = &mgmt.includes()[0] else {
        panic!("mgmt should select by interface")
    };
    assert!(glob.is_glob() && glob.matches("enp3s0") && !glob.matches("eth0"));
    assert_eq!(mgmt.family_filter(), Some(Family::V4));

    assert_eq!(
        spec.network("local").unwrap().includes(),
        [Selector::Class(AddrClass::Loopback)]
    );
    assert_eq!(
        spec.network("edge").unwrap().includes(),
        [Selector::Dns("my-awesome-service".into())]
    );
    assert_eq!(
        spec.network("pinned").unwrap().includes(),
        [
            Selector::Addr {
                ip: "10.0.15.23".parse().unwrap(),
                zone: None
            },
            Selector::Addr {
                ip: "fe80::1".parse().unwrap(),
                zone: Some(Zone::Name("eth0".into()))
            },
        ]
    );

    let ep = |n: &str, e: &str| {
        spec.endpoints()
            .iter()
            .find(|x| x.network() == n && x.name() == e)
            .unwrap()
    };
    assert_eq!(ep("public", "http").protocol(), Protocol::Http);
    assert_eq!(ep("public", "http").ports(), Some(Ports::single(8080)));
    assert!(ep("public", "admin").ports().unwrap().is_ephemeral());
    assert_eq!(
        ep("public", "admin").advertised().unwrap().to_string(),
        "https://admin.example.com/"
    );
    let grpc = ep("internal", "grpc").ports().unwrap();
    assert_eq!((grpc.first(), grpc.last()), (9000, 9010));
    let metrics = ep("ops", "metrics").options();
    assert_eq!(metrics.backlog, Some(1024));
    assert!(metrics.reuseport);
    assert_eq!(ep("ops", "snmp").protocol(), Protocol::Udp);

    let dns: Vec<&str> = spec.dns_names().collect();
    assert_eq!(dns, ["my-awesome-service"]);
    assert_eq!(spec.to_string().parse::<ListenSpec>().unwrap(), spec);
}

/// `BadSelector:Multicast` for a kind with a typed reason, else the kind.
fn kind_and_reason(kind: &SpecErrorKind) -> String {
    let reason = match kind {
        SpecErrorKind::BadSelector { reason, .. } => crate::variant_name(reason),
        SpecErrorKind::Foreign { form, .. } => crate::variant_name(form),
        SpecErrorKind::BadAdvertise { reason, .. } => crate::variant_name(reason),
        SpecErrorKind::BadOption { reason, .. } => crate::variant_name(reason),
        SpecErrorKind::BadPorts { reason, .. } => crate::variant_name(reason),
        SpecErrorKind::BadUnixPath { reason, .. } => crate::variant_name(reason),
        SpecErrorKind::UnixNetwork { reason, .. } => crate::variant_name(reason),
        SpecErrorKind::UnixEndpoint { reason, .. } => crate::variant_name(reason),
        _ => return crate::variant_name(kind),
    };
    format!("{}:{reason}", crate::variant_name(kind))
}

#[test]
fn spec_cases() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/spec-cases.txt"
    ))
    .unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for (n, line) in text.lines().enumerate() {
        let (ok, rest) = match line.split_once(' ') {
            Some(("ok", rest)) => (true, rest),
            Some(("err", rest)) => (false, rest),
            _ => continue,
        };
        count += 1;
        let (input, want) = rest.rsplit_once(" => ").unwrap_or((rest, ""));
        let input = input
            .trim()
            .replace("\\n", "\n")
            .replace("\\0", "\0")
            .replace("\\x01", "\x01")
            .replace("\\u{a0}", "\u{a0}")
            .replace("\\u{202e}", "\u{202e}");
        let (want, says) = match want.split_once(" ~ ") {
            Some((w, says)) => (w.trim(), Some(says.trim())),
            None => (want.trim(), None),
        };
        // A `[::]` shorthand (or `[0::0]`) is dual-stack where std binds it
        // so (Linux, macOS), v6-only elsewhere: the file writes Linux's want, and
        // only such a line has `v6only=false` it did not write.
        let want = if crate::STD_BINDS_DUAL || input.contains("v6only") {
            want.to_owned()
        } else {
            want.replace(" v6only=false", "")
        };
        let got = match input.parse::<ListenSpec>() {
            Ok(spec) => {
                let canonical = spec.to_string();
                let again: ListenSpec = canonical.parse().unwrap();
                if again != spec {
                    failures.push(format!("line {}: Display does not round-trip", n + 1));
                }
                format!("ok {}", canonical.lines().collect::<Vec<_>>().join("; "))
            }
            Err(e) => {
                let v: Vec<String> = e
                    .errors()
                    .iter()
                    .map(|l| format!("{}@{}", kind_and_reason(&l.kind), l.line.unwrap_or(0)))
                    .collect();
                // Every message must read as a sentence a person can act on.
                assert!(e.to_string().contains("error"), "{e}");
                // What another program's form is told to write is a spec:
                // copied as it is (placeholders filled in), it parses.
                if let [only] = e.errors()
                    && matches!(only.kind, SpecErrorKind::Foreign { .. })
                    && let Some(instead) = written_instead(&e.to_string())
                    && !has_placeholder(&instead)
                    && let Err(bad) = in_place_of(&input, only.line, &instead).parse::<ListenSpec>()
                {
                    failures.push(format!(
                        "line {}: {input:?} is told to write {instead:?}, which does not parse:\n{bad}",
                        n + 1
                    ));
                }
                if let Some(says) = says
                    && !e.to_string().contains(says)
                {
                    failures.push(format!("line {}: {e} does not say {says:?}", n + 1));
                }
                format!("err {}", v.join(", "))
            }
        };
        let expected = format!("{} {want}", if ok { "ok" } else { "err" });
        if got.trim_end() != expected.trim_end() {
            failures.push(format!(
                "line {}: {input:?}\n   got  {got}\n   want {expected}",
                n + 1
            ));
        }
    }
    assert!(count > 50, "spec-cases.txt was not read");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn errors_point_at_the_line_and_quote_it() {
    let err = "x = loopback\nx.a = tcp:1 nodelay\n"
        .parse::<ListenSpec>()
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("line 2"), "{text}");
    assert!(text.contains("x.a = tcp:1 nodelay"), "{text}");
    assert!(text.contains("backlog=N, reuseport"), "{text}");
}

#[test]
fn the_builder_checks_what_the_parser_checks() {
    let local = || "local".parse().unwrap();
    let spec = ListenSpec::new(
        vec![
            Network::new(local())
                .with_include(sel("loopback"))
                .with_expose(Exposure::Local)
                .with_advertise("https://admin.localhost".parse::<Advertise>().unwrap()),
        ],
        vec![
            Endpoint::new(
                local(),
                "admin".parse().unwrap(),
                Protocol::Https,
                Ports::single(0),
            )
            .with_options({
                let mut o = listenspec::spec::EndpointOptions::default();
                o.device = Some(Device::Own);
                o
            }),
        ],
    )
    .unwrap();
    let text = spec.to_string();
    assert_eq!(
        text,
        "local = loopback expose=local advertise https://admin.localhost/\nlocal.admin = https:0 device\n"
    );
    assert_eq!(text.parse::<ListenSpec>().unwrap(), spec);

    let err = ListenSpec::new(
        vec![
            Network::new(local())
                .with_include(Selector::Any)
                .with_include(sel("10.0.0.0/8")),
        ],
        vec![Endpoint::new(
            "nowhere".parse().unwrap(),
            "a".parse().unwrap(),
            Protocol::Udp,
            Ports::single(1),
        )],
    )
    .unwrap_err();
    let kinds = crate::error_kinds(&err);
    assert_eq!(kinds, ["WildcardMixed", "UnknownNetwork"]);
    assert!(err.errors().iter().all(|l| l.line.is_none()));
}

#[test]
fn the_builder_checks_unix_parts_as_the_parser_does() {
    use listenspec::spec::{Account, EndpointOptions, Stale, UnixPath};
    use std::path::PathBuf;

    let local = || "local".parse::<listenspec::spec::Name>().unwrap();
    let unix_net = || Network::new(local()).with_include(Selector::Unix);
    let on = |path: UnixPath, options: EndpointOptions| {
        Endpoint::unix(local(), "api".parse().unwrap(), Protocol::Http, path).with_options(options)
    };
    let mut options = EndpointOptions::default();
    options.mode = Some(0o660);
    options.owner = Some(Account::Name("www-data".to_owned()));
    options.group = Some(Account::Id(33));
    options.stale = Some(Stale::Refuse);
    options.keep_file = true;
    let spec = ListenSpec::new(
        vec![unix_net()],
        vec![on(UnixPath::File("/run/app/api.sock".into()), options)],
    )
    .unwrap();
    assert_eq!(
        spec.to_string(),
        "local = unix\nlocal.api = http:/run/app/api.sock mode=660 owner=www-data group=33 stale=refuse keep-file\n"
    );
    assert_eq!(spec.to_string().parse::<ListenSpec>().unwrap(), spec);
    assert_eq!(spec.network("local").unwrap().exposure(), Exposure::Local);

    // Each hand-made part that would not read back is the parser's error.
    let with = |f: &dyn Fn(&mut EndpointOptions)| {
        let mut o = EndpointOptions::default();
        f(&mut o);
        o
    };
    let file = |p: &str| UnixPath::File(PathBuf::from(p));
    let cases: Vec<(UnixPath, EndpointOptions, &str)> = vec![
        (file("run/app.sock"), with(&|_| {}), "BadUnixPath:NotAPath"),
        (file("/run/app/"), with(&|_| {}), "BadUnixPath:Directory"),
        (
            file("/run/a b.sock"),
            with(&|_| {}),
            "BadUnixPath:Separator",
        ),
        // `;` would end the statement, `#` start a comment, when read back.
        (
            file("/run/a;b.sock"),
            with(&|_| {}),
            "BadUnixPath:Separator",
        ),
        (
            file("/run/a#b.sock"),
            with(&|_| {}),
            "BadUnixPath:Separator",
        ),
        (
            file(&format!("/{}", "a".repeat(UnixPath::MAX_LEN))),
            with(&|_| {}),
            "BadUnixPath:TooLong",
        ),
        (
            UnixPath::Abstract(String::new()),
            with(&|_| {}),
            "BadUnixPath:EmptyName",
        ),
        (
            UnixPath::Abstract("a\0b".to_owned()),
            with(&|_| {}),
            "BadUnixPath:Separator",
        ),
        (
            file("/run/a.sock"),
            with(&|o| o.mode = Some(0o1777)),
            "BadOption:NotReadBack",
        ),
        (
            file("/run/a.sock"),
            with(&|o| o.owner = Some(Account::Name("33".to_owned()))),
            "BadOption:NotReadBack",
        ),
        (
            file("/run/a.sock"),
            with(&|o| o.group = Some(Account::Name("a b".to_owned()))),
            "BadOption:NotReadBack",
        ),
        (
            file("/run/a.sock"),
            with(&|o| o.owner = Some(Account::Id(u32::MAX))),
            "BadOption:NotReadBack",
        ),
    ];
    #[cfg(unix)]
    let cases = {
        use std::os::unix::ffi::OsStrExt;
        let mut cases = cases;
        let bytes = std::ffi::OsStr::from_bytes(b"/run/\xff.sock");
        cases.push((
            UnixPath::File(bytes.into()),
            EndpointOptions::default(),
            "BadUnixPath:NotReadBack",
        ));
        cases
    };
    for (path, options, want) in cases {
        let shown = format!("{path:?} {options:?}");
        let err = ListenSpec::new(vec![unix_net()], vec![on(path, options)]).unwrap_err();
        let got: Vec<String> = err
            .errors()
            .iter()
            .map(|l| kind_and_reason(&l.kind))
            .collect();
        assert_eq!(got, [want], "{shown}: {err}");
    }

    // The network's rules hold for built networks as for parsed ones.
    let err = ListenSpec::new(
        vec![
            unix_net()
                .with_include(Selector::Class(AddrClass::Loopback))
                .with_expose(Exposure::Public)
                .with_shared(),
        ],
        vec![],
    )
    .unwrap_err();
    let got: Vec<String> = err
        .errors()
        .iter()
        .map(|l| kind_and_reason(&l.kind))
        .collect();
    assert_eq!(
        got,
        [
            "UnixNetwork:Mixed",
            "UnixNetwork:Shared",
            "UnixNetwork:Expose"
        ]
    );
}

/// A word that is no selector is suggested as a host name only when it
/// could be one and is not a number.
#[test]
fn only_a_word_that_could_be_a_host_name_is_suggested_as_one() {
    use listenspec::spec::{SelectorError, Suggestion};
    for (word, want) in [
        ("my-service", Some(Suggestion::Dns("my-service".into()))),
        // A number is no host's name: a port, where it could be one.
        (
            "12345",
            Some(Suggestion::WithPort {
                selector: "*".into(),
                port: "12345".into(),
                dual_stack: false,
            }),
        ),
        ("123456", None),
        ("a+b", None),
        // Another program's word for a way of listening, not a host.
        ("sd-listen", None),
        ("_ec2_", None),
        // Elasticsearch's special values, as the selector they stand for.
        ("_site_", Some(Suggestion::Elasticsearch("private".into()))),
        (
            "_local_",
            Some(Suggestion::Elasticsearch("loopback".into())),
        ),
        (
            "_eth0:ipv6_",
            Some(Suggestion::Elasticsearch("if:eth0, ipv6".into())),
        ),
    ] {
        let err = format!("x = {word}\nx.a = tcp:1")
            .parse::<ListenSpec>()
            .unwrap_err();
        match &err.errors()[0].kind {
            SpecErrorKind::BadSelector {
                reason: SelectorError::Unknown(suggestion),
                ..
            } => assert_eq!(suggestion, &want, "{word}"),
            other => panic!("{word}: {other:?}"),
        }
    }
}

/// An address or host with its port where selectors go is told that the
/// port goes on an endpoint's line, with the selector for the host.
#[test]
fn a_selector_with_a_port_is_told_where_the_port_goes() {
    use listenspec::spec::{SelectorError, Suggestion};
    for (word, selector) in [
        ("0.0.0.0:8080", "0.0.0.0"),
        ("ipv4@:80", "0.0.0.0"),
        ("ipv6@:::80", "::"),
        (":8080", "*"),
        ("localhost:8080", "dns:localhost"),
        ("[::1]:8080", "::1"),
        ("db.example:5432", "dns:db.example"),
        ("eth0:8080", "if:eth0"),
        ("loopback:8080", "loopback"),
        ("_site_:9200", "private"),
    ] {
        let err = format!("x = {word}\nx.a = tcp:1")
            .parse::<ListenSpec>()
            .unwrap_err();
        let port = word.rsplit_once(':').unwrap().1;
        match &err.errors()[0].kind {
            SpecErrorKind::BadSelector {
                reason: SelectorError::Unknown(Some(suggestion)),
                ..
            } => assert_eq!(
                suggestion,
                &Suggestion::WithPort {
                    selector: selector.into(),
                    port: port.into(),
                    dual_stack: false,
                },
                "{word}"
            ),
            other => panic!("{word}: {other:?}"),
        }
        // A wildcard plans only on a network that may have one.
        let expose = if ["0.0.0.0", "::", "*"].contains(&selector) {
            " expose=public"
        } else {
            ""
        };
        assert!(
            err.to_string().contains(&format!(
                "a port goes on an endpoint's line, not among a network's selectors: write `NAME = {selector}{expose}` and `NAME.ENDPOINT = tcp:{port}`"
            )),
            "{err}"
        );
    }
    // `[::]:8080` alone takes IPv4 too: so does what it is told to write.
    let err = "x = [::]:8080\nx.a = tcp:1"
        .parse::<ListenSpec>()
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "write `NAME = :: expose=public` and `NAME.ENDPOINT = tcp:8080 v6only=false`"
        ),
        "{err}"
    );
}

/// An advertised value holding a separator (`;`, `#`, a space of any kind)
/// is refused as such, also when it reaches `Advertise` without the parser,
/// which splits words first.
#[test]
fn an_advertised_value_with_a_separator_is_refused_as_such() {
    use listenspec::spec::AdvertiseError;
    for text in [
        "svc.example;x",
        "svc.example#x",
        "svc example",
        "svc\u{a0}example",
    ] {
        assert!(
            matches!(
                text.parse::<Advertise>(),
                Err(SpecErrorKind::BadAdvertise {
                    reason: AdvertiseError::Separator,
                    ..
                })
            ),
            "{text:?}"
        );
    }
}

/// A qualified name equals the text `network.endpoint` that spells it, and
/// no text that gets either half wrong.
#[test]
fn a_qualified_name_equals_its_spelling() {
    use listenspec::spec::{Name, QualifiedName};
    let name = |s: &str| s.parse::<Name>().unwrap();
    let q = QualifiedName::new(name("public"), name("http"));
    assert!(q == *"public.http");
    let spelt = String::from("public.http");
    assert!(q == spelt);
    for other in [
        "public.https",
        "ops.http",
        "ops.metrics",
        "public",
        "publichttp",
    ] {
        assert!(q != *other, "{other}");
    }
}

/// Names the parser refuses or replaces as it reads a line at a time, the
/// builder gets in one go: each name defined twice, and an endpoint on a
/// network that is not there or of the other kind, is an error.
#[test]
fn the_builder_refuses_a_name_twice_and_an_endpoint_without_its_network() {
    let name = |s: &str| s.parse::<listenspec::spec::Name>().unwrap();
    let tcp =
        |net: &str, ep: &str| Endpoint::new(name(net), name(ep), Protocol::Tcp, Ports::single(1));
    let err = ListenSpec::new(
        vec![
            Network::new(name("local")).with_include(sel("loopback")),
            Network::new(name("local")).with_include(sel("loopback")),
            Network::new(name("sock")).with_include(Selector::Unix),
        ],
        vec![
            tcp("local", "a"),
            tcp("local", "a"),
            tcp("gone", "b"),
            tcp("sock", "c"),
        ],
    )
    .unwrap_err();
    let kinds = crate::error_kinds(&err);
    assert_eq!(
        kinds,
        [
            "DuplicateNetwork",
            "DuplicateEndpoint",
            "UnknownNetwork",
            "UnixEndpoint"
        ],
        "{err}"
    );
}

/// What the error of `written` says to write instead, as spec text (see
/// [`written_instead`]).
fn suggestion(written: &str) -> String {
    let err = written.parse::<ListenSpec>().unwrap_err().to_string();
    written_instead(&err).unwrap_or_else(|| panic!("{written:?}: no suggestion in {err}"))
}

/// The spec text an error message says to write, if it names one: the
/// statements it quotes (`NET = ...`), or else the address form it starts
/// with (`127.0.0.1:8080 with the port to use`); prose is none.
fn written_instead(err: &str) -> Option<String> {
    let (_, instead) = err.split_once("; write ")?;
    let instead = instead.lines().next()?;
    // The first of the alternatives it offers.
    let instead = instead.split(", or ").next()?;
    let statements: Vec<&str> = instead
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|q| q.contains(" = "))
        .collect();
    if !statements.is_empty() {
        return Some(statements.join("\n"));
    }
    let instead = instead
        .strip_prefix("the address alone, ")
        .unwrap_or(instead);
    let first = instead
        .split_whitespace()
        .next()?
        .trim_end_matches([',', ';', '.', ':']);
    let first = first.trim_matches('`');
    first.contains([':', '[']).then(|| first.to_owned())
}

/// `input` with its line `line` (from 1; the whole input for `None`)
/// replaced by `with`.
fn in_place_of(input: &str, line: Option<usize>, with: &str) -> String {
    let Some(line) = line else {
        return with.to_owned();
    };
    input
        .lines()
        .enumerate()
        .map(|(i, l)| if i + 1 == line { with } else { l })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A word a suggestion leaves for the reader to fill in (`tcp:PORT`,
/// `NET = ADDRESS`), which no spec holds.
fn has_placeholder(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|w| w.len() > 1 && w.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
}

/// nginx's `[::]:80;` pasted without `listen` never takes IPv4, as
/// nginx's does not: `[::]` alone is dual-stack where std binds it so
/// (a Linux or macOS host), so a `;` that ends the line (before a comment, too)
/// says it was nginx's and it is refused, told how to write IPv6 alone,
/// on whatever system the spec is read. nginx's pair with `0.0.0.0:80;`
/// reads as nginx's, and a `;` with more values after it is a list's.
#[test]
fn nginxs_ipv6_wildcard_with_its_semicolon_never_takes_ipv4() {
    let pasted = [
        ("[::]:80;", 80),
        ("[::]:443 ;", 443),
        ("[::]:80; # IPv6", 80),
        ("[::]:80;# IPv6", 80),
        ("[::]:80;;", 80),
        ("0.0.0.0:443;\n[::]:443;\n[::]:8443;", 8443),
        ("[::]:443;\n0.0.0.0:80;", 443),
    ];
    // Where std binds `[::]` on both families (Linux, macOS), `[::]:80` alone
    // does; a spec reads alike wherever it is read.
    for (written, port) in pasted {
        match written.parse::<ListenSpec>() {
            Err(e) => {
                let [only] = e.errors() else { panic!("{e}") };
                assert_eq!(kind_and_reason(&only.kind), "Foreign:Terminated", "{e}");
                assert!(
                    e.to_string().contains(&format!(
                        "is an address ended by `;` as nginx's listen is, where nginx binds [::] on IPv6 alone; write a network and an endpoint with the options: `listen = :: expose=public` and `listen.tcp = tcp:{port} v6only`; or [::]:{port}, without the `;`, for both families on Linux and macOS (IPv6 alone elsewhere, as std binds it)"
                    )),
                    "{e}"
                );
            }
            other => panic!("{written:?}: {other:?}"),
        }
    }
    for (written, want) in [
        (
            "0.0.0.0:80;\n[::]:80;",
            "listen = 0.0.0.0, :: expose=public\nlisten.tcp = tcp:80\n",
        ),
        (
            "[::]:80;\n0.0.0.0:80;",
            "listen = ::, 0.0.0.0 expose=public\nlisten.tcp = tcp:80\n",
        ),
    ] {
        let spec: ListenSpec = written.parse().unwrap();
        assert_eq!(spec.to_string(), want, "{written:?}");
    }
    // This grammar's own list, one line of values: `[::]` as std binds it.
    let list: ListenSpec = "[::]:80; [::1]:81".parse().unwrap();
    assert_eq!(
        list.to_string().contains("tcp:80 v6only=false"),
        crate::STD_BINDS_DUAL,
        "{list}"
    );
}

#[test]
fn what_a_one_family_form_is_told_to_write_listens_on_that_family_alone() {
    let host = listenspec::Host::builder()
        .interface("lo", 1, ["127.0.0.1/8", "::1/128"])
        .interface("eth0", 2, ["198.51.100.7/24", "2001:db8::7/64"])
        .build()
        .unwrap();
    // Go binds `tcp4` and `tcp6` on their family alone (so Caddy, and
    // `tcp4:8080` written for Go's `net.Listen`), HAProxy `ipv4@` and `*`;
    // the form without a family takes both.
    let cases = [
        ("tcp4/:8080", Some(Family::V4)),
        ("udp4/:53", Some(Family::V4)),
        ("tcp4/[::]:8080", Some(Family::V4)),
        ("ipv4@:80", Some(Family::V4)),
        ("ipv4@*:80", Some(Family::V4)),
        ("udp4@0.0.0.0:514", Some(Family::V4)),
        ("*:8080", Some(Family::V4)),
        ("*:8080-8090", Some(Family::V4)),
        ("tcp6/:8080", Some(Family::V6)),
        ("udp6/[::]:53", Some(Family::V6)),
        ("tcp6/0.0.0.0:8080", Some(Family::V6)),
        ("tcp4/:8000-8010", Some(Family::V4)),
        ("tcp6/:8000-8010", Some(Family::V6)),
        ("tcp@:80", Some(Family::V4)),
        ("tcp6@[::1]:80", Some(Family::V6)),
        ("tcp/:8080", None),
        ("tcp/0.0.0.0:8080", None),
        // Go's network and address joined, as `net.Listen` takes them.
        ("tcp4:8080", Some(Family::V4)),
        ("tcp4::8080", Some(Family::V4)),
        ("udp6:53", Some(Family::V6)),
        ("tcp6://[::]:8080", Some(Family::V6)),
        ("tcp4:8000-8010", Some(Family::V4)),
        ("tcp::8080", None),
        // nginx's `listen [::]` is IPv6 alone; ZeroMQ's `tcp://*` IPv4.
        ("[::]", Some(Family::V6)),
        ("::", Some(Family::V6)),
        ("tcp://*:9000", Some(Family::V4)),
        ("udp://*:53", Some(Family::V4)),
        // PostgreSQL's `*`, Docker's published port: both families.
        ("*", None),
        ("8080:80", None),
        // nginx's options: `ipv6only=on` keeps `[::]` on IPv6.
        ("[::]:8080 ipv6only=on", Some(Family::V6)),
        ("[::]:8080 ipv6only=off", None),
        (":::8080 v6only", Some(Family::V6)),
        // nginx's `[::]` is IPv6 alone whatever its other words; a port
        // with nginx's words is every IPv4 address.
        ("[::]:8080 ssl", Some(Family::V6)),
        // HAProxy's with options: its family kept on the lines written.
        ("*:8080 reuseport", Some(Family::V4)),
        ("ipv4@:8080 reuseport", Some(Family::V4)),
        ("ipv6@:::8080 v6only", Some(Family::V6)),
        // gunicorn's `-b :8000` is an IPv4 socket.
        ("-b :8000", Some(Family::V4)),
        ("--bind=:8000", Some(Family::V4)),
        ("http://[::]:8080 default_server", Some(Family::V6)),
        ("8080 ssl http2", Some(Family::V4)),
        ("8080 reuseport", Some(Family::V4)),
        // `[::]:80`, dual-stack where std binds it so (the Linux host).
        ("ipv6@:80", None),
        // nginx's `[::]:8080;`, refused where `[::]` alone may be
        // dual-stack.
        ("[::]:8080;", Some(Family::V6)),
    ];
    for (written, family) in cases {
        let text = suggestion(written);
        let spec: ListenSpec = text
            .parse()
            .unwrap_or_else(|e| panic!("{written:?} -> {text:?} does not parse:\n{e}"));
        let plan = spec
            .plan(&host)
            .unwrap_or_else(|e| panic!("{written:?} -> {text:?} does not plan:\n{e}"));
        let mut seen: Vec<Family> = plan
            .endpoints()
            .iter()
            .flat_map(|e| e.binds())
            .flat_map(|b| {
                let own = Family::of(b.addr().ip());
                let dual = b.is_dual_stack().then_some(Family::V4);
                [Some(own), dual].into_iter().flatten()
            })
            .collect();
        seen.sort();
        seen.dedup();
        let expected = family.map_or(vec![Family::V4, Family::V6], |f| vec![f]);
        assert_eq!(seen, expected, "{written:?} -> {text:?}");
    }
}

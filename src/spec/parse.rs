//! The text form of a spec; the grammar is on [`ListenSpec`].

use crate::spec::error::Located;
use crate::spec::selector::is_ifname;
use crate::spec::{
    Advertise, Device, Endpoint, EndpointOptions, Family, Item, ListenSpec, Network, Ports,
    Protocol, SpecError, SpecErrorKind, validate,
};

/// One statement with the line it came from.
struct Statement<'a> {
    line: usize,
    text: &'a str,
    form: Form<'a>,
    /// Whether it became a [`Network`] or [`Endpoint`] of the spec.
    parsed: bool,
}

/// A statement split at its first `=` and, on the left, at its first `.`.
#[derive(Clone, Copy)]
enum Form<'a> {
    /// No `=` at all.
    Bad,
    Network {
        name: &'a str,
        rhs: &'a str,
    },
    Endpoint {
        network: &'a str,
        name: &'a str,
        rhs: &'a str,
    },
}

impl<'a> Form<'a> {
    fn of(text: &'a str) -> Form<'a> {
        let Some((lhs, rhs)) = cut(text, b'=') else {
            return Form::Bad;
        };
        let lhs = lhs.trim_ascii();
        match cut(lhs, b'.') {
            None => Form::Network { name: lhs, rhs },
            Some((network, name)) => Form::Endpoint {
                network: network.trim_ascii(),
                name: name.trim_ascii(),
                rhs,
            },
        }
    }
}

pub(crate) fn parse(input: &str) -> Result<ListenSpec, SpecError> {
    let mut statements = statements(input);
    // Sized up front: a network or endpoint is a few hundred bytes, and
    // growing the vectors statement by statement was a good part of parsing.
    let n_endpoints = statements
        .iter()
        .filter(|s| matches!(s.form, Form::Endpoint { .. }))
        .count();
    let mut networks = Vec::with_capacity(statements.len() - n_endpoints);
    let mut endpoints = Vec::with_capacity(n_endpoints);
    let mut errors = Vec::new();
    let mut scratch = Scratch::default();
    for st in &mut statements {
        let result = match st.form {
            Form::Bad => Err(vec![SpecErrorKind::BadStatement(st.text.to_owned())]),
            Form::Network { name, rhs } => network(name, rhs, &mut scratch, &mut networks),
            Form::Endpoint { network, name, rhs } => {
                endpoint(network, name, rhs, &mut scratch, &mut endpoints)
            }
        };
        match result {
            Ok(()) => st.parsed = true,
            Err(kinds) => errors.extend(kinds.into_iter().map(|kind| Located {
                line: Some(st.line),
                statement: Some(st.text.to_owned()),
                kind,
            })),
        }
    }
    // Cross-statement rules run only on statements that parsed; a statement
    // with a syntax error has already been reported.
    for (item, kind) in validate(&networks, &endpoints) {
        // An endpoint on a network whose statement has a syntax error is
        // not also called "unknown".
        if let (Item::Endpoint(i), SpecErrorKind::UnknownNetwork { .. }) = (item, &kind)
            && statements.iter().any(
                |st| matches!(st.form, Form::Network { name, .. } if endpoints[i].network() == name),
            )
        {
            continue;
        }
        // The i-th network (or endpoint) is the i-th such statement that parsed.
        let (index, is_endpoint) = match item {
            Item::Network(i) => (i, false),
            Item::Endpoint(i) => (i, true),
        };
        let line = statements
            .iter()
            .filter(|st| st.parsed && matches!(st.form, Form::Endpoint { .. }) == is_endpoint)
            .nth(index)
            .map(|st| st.line);
        errors.push(Located {
            line,
            statement: None,
            kind,
        });
    }
    if errors.is_empty() {
        Ok(ListenSpec {
            networks,
            endpoints,
        })
    } else {
        errors.sort_by_key(|e| e.line);
        Err(SpecError::new(errors))
    }
}

/// Buffers reused from statement to statement, so tokenizing allocates once
/// per spec rather than once per line.
#[derive(Default)]
struct Scratch<'a> {
    tokens: Vec<&'a str>,
    items: Vec<&'a str>,
}

/// Splits text into statements: `#` comments run to the end of the line,
/// then `;` and newlines separate statements. One pass finds all three
/// separators, since comments are most of a typical spec's bytes.
fn statements(input: &str) -> Vec<Statement<'_>> {
    let bytes = input.as_bytes();
    let mut out = Vec::new();
    let mut push = |from: usize, to: usize, line: usize| {
        // `from..to` lies on separator bytes, which are ASCII, so on
        // character boundaries.
        let text = input[from..to].trim_ascii();
        if !text.is_empty() {
            out.push(Statement {
                line,
                text,
                form: Form::of(text),
                parsed: false,
            });
        }
    };
    let (mut line, mut start, mut at) = (1, 0, 0);
    while let Some(i) = memchr::memchr3(b'\n', b';', b'#', &bytes[at..]).map(|i| at + i) {
        push(start, i, line);
        match bytes[i] {
            b'\n' => {
                line += 1;
                start = i + 1;
            }
            b';' => start = i + 1,
            // A comment: skip to its newline, which the next round counts.
            _ => start = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |j| i + j),
        }
        at = start.max(i + 1);
    }
    push(start, bytes.len(), line);
    out
}

/// Parses a network statement onto the end of `networks`.
fn network<'a>(
    name: &str,
    rhs: &'a str,
    scratch: &mut Scratch<'a>,
    networks: &mut Vec<Network>,
) -> Result<(), Vec<SpecErrorKind>> {
    let mut errors = Vec::new();
    let name = name.parse().map_err(|e| vec![e])?;
    // Filled in place: moving a finished network into the vector was a
    // measurable part of parsing.
    let at = networks.len();
    networks.push(Network::new(name));
    let net = &mut networks[at];
    let Scratch { tokens, items } = scratch;
    tokens.clear();
    tokens.extend(rhs.split_ascii_whitespace());
    let opts_at = tokens
        .iter()
        .enumerate()
        .position(|(i, t)| match *t {
            // `shared` is also an address class: first, or after a comma,
            // it is a selector, which is how Display writes the class.
            "shared" => i > 0 && !tokens[i - 1].ends_with(','),
            _ => *t == "advertise" || t.starts_with("advertise=") || t.starts_with("expose="),
        })
        .unwrap_or(tokens.len());
    let mut family = None;
    selector_items(&tokens[..opts_at], items, &mut errors);
    for &item in items.iter() {
        let (negated, word) = match item.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, item),
        };
        let fam = match word {
            "ipv4" => Some(Family::V4),
            "ipv6" => Some(Family::V6),
            _ => None,
        };
        match (fam, negated) {
            (Some(_), true) => errors.push(SpecErrorKind::BadSelector {
                text: item.to_owned(),
                why: "to drop a family, keep the other: write ipv4 instead of !ipv6".to_owned(),
            }),
            (Some(f), false) => {
                if family.is_some_and(|g| g != f) {
                    errors.push(SpecErrorKind::BothFamilies(net.name.clone()));
                }
                family = Some(f);
            }
            (None, _) => match word.parse() {
                Ok(s) if negated => net.exclude.push(s),
                Ok(s) => net.include.push(s),
                Err(e) => errors.push(e),
            },
        }
    }
    if let Some(f) = family {
        net.family = Some(f);
    }
    let mut opts = Options::new(&tokens[opts_at..], &mut errors);
    while let Some((key, value)) = opts.next() {
        match (key, value) {
            ("shared", None) => {
                opts.once(key, net.shared);
                net.shared = true;
            }
            ("expose", Some(v)) => {
                opts.once(key, net.expose.is_some());
                match v.parse() {
                    Ok(e) => net.expose = Some(e),
                    Err(e) => opts.errors.push(e),
                }
            }
            ("advertise", Some(v)) => {
                opts.once(key, net.advertise.is_some());
                match v.parse::<Advertise>() {
                    Ok(a) => net.advertise = Some(a),
                    Err(e) => opts.errors.push(e),
                }
            }
            _ => opts.bad(
                key,
                value,
                "a network takes expose=public|private|local, shared and advertise URL",
            ),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        networks.pop();
        Err(errors)
    }
}

/// The comma-separated selectors of a network, from whitespace-split tokens
/// (so `a,b`, `a, b` and `a ,b` read alike); a missing or doubled comma is an
/// error.
fn selector_items<'t>(
    tokens: &[&'t str],
    items: &mut Vec<&'t str>,
    errors: &mut Vec<SpecErrorKind>,
) {
    items.clear();
    let mut want_item = true;
    let missing = |text: &str, errors: &mut Vec<SpecErrorKind>| {
        errors.push(SpecErrorKind::BadSelector {
            text: text.to_owned(),
            why: "selectors are separated by commas".to_owned(),
        });
    };
    for token in tokens {
        for (k, piece) in token.split(',').enumerate() {
            if k > 0 {
                if want_item {
                    missing("", errors);
                }
                want_item = true;
            }
            if piece.is_empty() {
                continue;
            }
            if want_item {
                items.push(piece);
                want_item = false;
            } else {
                missing(piece, errors);
            }
        }
    }
    if want_item {
        missing("", errors);
    }
}

/// Parses an endpoint statement onto the end of `endpoints`.
fn endpoint<'a>(
    net: &str,
    name: &str,
    rhs: &'a str,
    scratch: &mut Scratch<'a>,
    endpoints: &mut Vec<Endpoint>,
) -> Result<(), Vec<SpecErrorKind>> {
    let mut errors = Vec::new();
    let net = net.parse();
    let name = name.parse();
    let mut tokens = rhs.split_ascii_whitespace();
    let target = tokens.next().unwrap_or("");
    let (protocol, ports) = match cut(target, b':') {
        Some((p, ports)) => (p.parse::<Protocol>(), ports.parse::<Ports>()),
        None => {
            errors.push(SpecErrorKind::BadStatement(format!(
                "{target:?} is not PROTOCOL:PORT, like http:8080, tcp:9000-9010 or udp:161"
            )));
            return Err(errors);
        }
    };
    let mut options = EndpointOptions::default();
    let mut advertise = None;
    let rest = &mut scratch.tokens;
    rest.clear();
    rest.extend(tokens);
    let mut opts = Options::new(rest, &mut errors);
    while let Some((key, value)) = opts.next() {
        match (key, value) {
            ("backlog", Some(v)) => {
                opts.once(key, options.backlog.is_some());
                match v.parse::<u32>() {
                    Ok(b) => options.backlog = Some(b),
                    Err(_) => opts.bad(key, value, "backlog takes a whole number, like backlog=1024"),
                }
            }
            ("reuseport", None) => {
                opts.once(key, options.reuseport);
                options.reuseport = true;
            }
            ("freebind", None) => {
                opts.once(key, options.freebind);
                options.freebind = true;
            }
            ("v6only", v) => {
                opts.once(key, options.v6only.is_some());
                match v {
                    None | Some("true") => options.v6only = Some(true),
                    Some("false") => options.v6only = Some(false),
                    Some(_) => opts.bad(key, value, "v6only takes true or false"),
                }
            }
            ("device", None) => {
                opts.once(key, options.device.is_some());
                options.device = Some(Device::Own);
            }
            ("device", Some(v)) => {
                opts.once(key, options.device.is_some());
                if is_ifname(v) {
                    options.device = Some(Device::Named(v.to_owned()));
                } else {
                    opts.bad(key, value, "device takes an interface name, like device=eth2");
                }
            }
            ("advertise", Some(v)) => {
                opts.once(key, advertise.is_some());
                match v.parse::<Advertise>() {
                    Ok(a) => advertise = Some(a),
                    Err(e) => opts.errors.push(e),
                }
            }
            _ => opts.bad(
                key,
                value,
                "an endpoint takes backlog=N, reuseport, v6only[=false], device[=IFNAME], freebind and advertise URL",
            ),
        }
    }
    match (net, name, protocol, ports) {
        (Ok(network), Ok(name), Ok(protocol), Ok(ports)) if errors.is_empty() => {
            endpoints.push(Endpoint {
                network,
                name,
                protocol,
                ports,
                options,
                advertise,
            });
            Ok(())
        }
        (net, name, protocol, ports) => {
            let parts = [net.err(), name.err(), protocol.err(), ports.err()];
            let mut all: Vec<_> = parts.into_iter().flatten().collect();
            all.append(&mut errors);
            Err(all)
        }
    }
}

/// Walks `key`, `key=value` and `advertise VALUE` options, collecting errors.
struct Options<'t, 'e> {
    tokens: std::slice::Iter<'t, &'t str>,
    errors: &'e mut Vec<SpecErrorKind>,
}

impl<'t, 'e> Options<'t, 'e> {
    fn new(tokens: &'t [&'t str], errors: &'e mut Vec<SpecErrorKind>) -> Options<'t, 'e> {
        Options {
            tokens: tokens.iter(),
            errors,
        }
    }

    fn next(&mut self) -> Option<(&'t str, Option<&'t str>)> {
        let token = *self.tokens.next()?;
        Some(match cut(token, b'=') {
            Some((k, v)) => (k, Some(v)),
            // `advertise` alone takes the next word as its value, as the
            // spec examples write it.
            None if token == "advertise" => match self.tokens.next() {
                Some(v) => (token, Some(*v)),
                None => {
                    self.bad(token, None, "advertise needs a URL or host after it");
                    return self.next();
                }
            },
            None => (token, None),
        })
    }

    fn once(&mut self, key: &str, seen: bool) {
        if seen {
            self.errors
                .push(SpecErrorKind::RepeatedOption(key.to_owned()));
        }
    }

    fn bad(&mut self, key: &str, value: Option<&str>, why: &str) {
        let text = match value {
            Some(v) => format!("{key}={v}"),
            None => key.to_owned(),
        };
        self.errors.push(SpecErrorKind::BadOption {
            text,
            why: why.to_owned(),
        });
    }
}

/// `str::split_once` for one ASCII byte. Statements and their words are
/// short, and on them this loop is several times faster than the general
/// searcher, which was a good part of parsing.
pub(crate) fn cut(s: &str, byte: u8) -> Option<(&str, &str)> {
    debug_assert!(byte.is_ascii());
    // An ASCII byte never sits inside a multi-byte character, so both
    // slices start and end on character boundaries.
    let i = s.bytes().position(|b| b == byte)?;
    Some((&s[..i], &s[i + 1..]))
}

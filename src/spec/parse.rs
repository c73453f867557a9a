//! The text form of a spec; the grammar is on [`ListenSpec`].

use std::collections::hash_map::{Entry, VacantEntry};

use foldhash::{HashMap, HashMapExt, HashSet};

use crate::spec::error::{ForeignForm, Located};
use crate::spec::selector::is_ifname;
use crate::spec::shorthand::{self, Change, Groups};
use crate::spec::unix::{self, Account, Stale, UnixPath};
use crate::spec::url::{self, RawHost};
use crate::spec::{
    Address, Advertise, Device, Endpoint, EndpointOptions, Family, Item, ListenSpec, Name, Network,
    OptionError, Place, Protocol, QualifiedName, Selector, SelectorError, SpecError, SpecErrorKind,
    UrlHost, suggest, validate,
};

/// One statement with the line it came from.
struct Statement<'a> {
    line: usize,
    /// Trailing padding (before a comment, say) is left on: the words are
    /// split on whitespace anyway, and only an error message needs it gone.
    text: &'a str,
    form: Form<'a>,
    /// A `#` right after the text, with no space between: in
    /// `/run/a.sock#x` the `#` may be part of what was meant.
    glued_comment: bool,
    /// Ended by `;` with nothing after it on its line but blanks or a
    /// comment, as nginx ends a directive: a list of values goes on.
    semicolon_ends_line: bool,
}

impl Statement<'_> {
    fn trimmed(&self) -> String {
        self.text.trim_ascii_end().to_owned()
    }
}

/// A statement split at its first `=` and, on the left, at its first `.`.
#[derive(Clone, Copy)]
enum Form<'a> {
    /// No `=` at all.
    Bad,
    /// `-NAME` or `-NETWORK.NAME`.
    Remove(&'a str),
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
            return match text.trim_ascii_end().strip_prefix('-') {
                // `--tcp-reuse-port`: a flag, no name's removal.
                Some(name)
                    if !name.is_empty()
                        && !name.starts_with('-')
                        && !name.contains(char::is_whitespace) =>
                {
                    Form::Remove(name)
                }
                _ => Form::Bad,
            };
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
    let mut read = Read::default();
    read.layer(None, input);
    read.assemble()
}

/// Where a network or endpoint was written: its layer and its line. Kept
/// beside every statement, so it is small: the layer's name is looked up
/// by `pass` in [`Read::names`] when an error needs it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Origin {
    line: Option<u32>,
    /// Which layer, counting from 0: within one a name is defined once.
    pass: u32,
}

impl Origin {
    /// An error at this origin; `names` are the layers' names by pass.
    fn error(self, names: &[Option<String>], kind: SpecErrorKind) -> Located {
        Located {
            line: self.line.map(|l| l as usize),
            statement: None,
            layer: names[self.pass as usize].clone(),
            kind,
        }
    }
}

/// Where a layered spec's networks and endpoints were written, in its
/// order, and the layers' names by pass.
pub(crate) struct Places {
    names: Vec<Option<String>>,
    networks: Vec<Origin>,
    endpoints: Vec<Origin>,
}

impl Places {
    pub(crate) fn network(&self, at: usize) -> Option<String> {
        self.place(*self.networks.get(at)?)
    }

    pub(crate) fn endpoint(&self, at: usize) -> Option<String> {
        self.place(*self.endpoints.get(at)?)
    }

    /// `LAYER line N`, as a spec error names its place.
    fn place(&self, origin: Origin) -> Option<String> {
        let layer = self.names.get(origin.pass as usize)?.as_deref()?;
        let layer = super::Escaped(layer);
        Some(match origin.line {
            Some(line) => format!("{layer} line {line}"),
            None => layer.to_string(),
        })
    }
}

/// One statement that parsed.
pub(crate) enum Stmt {
    /// A network, by its place in [`Read::networks`].
    Network(usize),
    /// An endpoint, by its place in [`Read::endpoints`].
    Endpoint(usize),
    /// `-NAME` or `-NETWORK.NAME`: take out what an earlier layer defined.
    Remove(Box<str>),
    /// One address (`127.0.0.1:8080`), added to those before it; boxed, as
    /// it is a few hundred bytes and most statements are not one.
    OneAddress(Box<shorthand::Value>),
}

/// Statements read from one or more layers, in order, and the syntax
/// errors found on the way.
#[derive(Default)]
pub(crate) struct Read {
    stmts: Vec<(Origin, Stmt)>,
    /// Every network read, in order. A network is a few hundred bytes, and
    /// memory the size of a spec of many thousand costs the most where it
    /// is first written (a page fault per 4 KiB): each is written once,
    /// here, and the spec keeps this very list when no statement replaced
    /// or removed one (see [`kept`]).
    networks: Vec<Option<Network>>,
    /// Every endpoint read, in order, as `networks`.
    endpoints: Vec<Option<Endpoint>>,
    errors: Vec<Located>,
    /// Networks whose statement had a syntax error: an endpoint on one is
    /// not also called "unknown".
    failed_networks: HashSet<String>,
    /// The layers' names, in the order read.
    labels: Vec<String>,
    /// Each layer's name, if it has one, by pass.
    names: Vec<Option<String>>,
}

impl Read {
    /// Reads one layer's text; `layer` names it in errors.
    pub(crate) fn layer(&mut self, layer: Option<&str>, input: &str) {
        // A file saved by some Windows editors starts with a byte order mark.
        let input = input.strip_prefix('\u{feff}').unwrap_or(input);
        let pass = self.next_pass(layer);
        let origin = |line: usize| Origin {
            line: u32::try_from(line).ok(),
            pass,
        };
        // The whole text as one address first: a URL's `#` or `;` would
        // otherwise split it. One holding a variable is read below, to
        // say so.
        if !input.contains("${")
            && let Some(one) = shorthand::shorthand(input)
        {
            // `http://{env.APP_DOMAIN}`, `http://$HOST`: a variable nothing
            // expanded, not a host to tell what a host is.
            match unbraced_variable(input).filter(|_| one.is_err()) {
                Some(variable) => {
                    let kind = SpecErrorKind::UnbracedVariable(variable.to_owned());
                    self.statement_error(layer, 1, input.trim().to_owned(), kind);
                }
                None => self.one_address(origin(1), one),
            }
            return;
        }
        let statements = statements(input);
        // Looked for only where a `;` ends a line, as nginx's do.
        let ipv4_wildcards = match statements.iter().any(|st| st.semicolon_ends_line) {
            true => ipv4_wildcards(&statements),
            false => HashSet::default(),
        };
        // At most one parsed statement each: reserved at once, so a spec of
        // many thousand statements is not copied as the list grows.
        self.stmts.reserve(statements.len());
        let count = |f: fn(&Form<'_>) -> bool| statements.iter().filter(|st| f(&st.form)).count();
        self.networks
            .reserve(count(|f| matches!(f, Form::Network { .. })));
        self.endpoints
            .reserve(count(|f| matches!(f, Form::Endpoint { .. })));
        // The line of a statement ending in `advertise URL`, while what
        // follows it there are one-address values: a URL list joined by
        // `;`, which must not listen on what it meant to advertise.
        let mut advertise_list: Option<usize> = None;
        // The last line looked at for a `;` inside quotes, and whether it
        // held one: its statements are then pieces of one quoted value.
        let mut quoted: Option<(usize, bool)> = None;
        for st in statements {
            if quoted.is_none_or(|(line, _)| line != st.line) && st.text.contains(['"', '\'']) {
                let line = line_of(input, st.text);
                let split = semicolon_in_quotes(line);
                quoted = Some((st.line, split));
                if split {
                    // From the statement the quotes begin in: those before
                    // it on the line stand.
                    let from = st.text.as_ptr().addr() - line.as_ptr().addr();
                    let written = line[from..].split('#').next().unwrap_or_default();
                    let written = written.trim_ascii_end().to_owned();
                    let kind = SpecErrorKind::Foreign {
                        written: written.clone(),
                        form: ForeignForm::QuotedSemicolons,
                    };
                    self.statement_error(layer, st.line, written, kind);
                }
            }
            if quoted == Some((st.line, true)) {
                continue;
            }
            if !matches!(st.form, Form::Bad) {
                advertise_list = ends_in_advertise(st.text).then_some(st.line);
            } else if advertise_list != Some(st.line) {
                advertise_list = None;
            }
            // Text parsed without an environment keeps its `${NAME}`: that
            // is the statement's error, not the port or address it spoils.
            if let Some(at) = st.text.find("${") {
                if let Form::Network { name, .. } = st.form {
                    self.failed_networks.insert(name.to_owned());
                }
                let reference = &st.text[at..];
                let end = reference.find('}').map_or(reference.len(), |i| i + 1);
                let kind = SpecErrorKind::UnexpandedVariable(reference[..end].to_owned());
                self.statement_error(layer, st.line, st.trimmed(), kind);
                continue;
            }
            let one = match st.form {
                Form::Bad if !st.glued_comment => shorthand::shorthand(st.text),
                _ => None,
            };
            // nginx's `listen [::]:80;`, pasted without `listen`: IPv6
            // alone there, both families here; but for its pair with
            // `0.0.0.0:80;`, which reads as nginx's.
            if let Some(Ok(shorthand::Value::Ip {
                dual: true,
                protocol,
                ports,
                ..
            })) = &one
                && st.semicolon_ends_line
                && !st.text.contains("://")
                && !ipv4_wildcards.contains(&(*protocol, *ports))
            {
                let written = format!("{};", st.trimmed());
                let kind = SpecErrorKind::Foreign {
                    written: written.clone(),
                    form: ForeignForm::Terminated {
                        value: st.trimmed(),
                    },
                };
                self.statement_error(layer, st.line, written, kind);
                continue;
            }
            if let Some(one) = one {
                if advertise_list == Some(st.line) {
                    let kind = SpecErrorKind::OneAddressAfterAdvertise(st.trimmed());
                    self.statement_error(layer, st.line, st.trimmed(), kind);
                } else {
                    self.one_address(origin(st.line), one);
                }
                continue;
            }
            let result = match st.form {
                // `127.0.0.1:8080#api`: an address, then a comment without
                // its space, or a URL's fragment.
                Form::Bad if st.glued_comment && shorthand::shorthand(st.text).is_some() => {
                    Err(vec![SpecErrorKind::Foreign {
                        written: st.trimmed(),
                        form: ForeignForm::GluedComment {
                            value: st.trimmed(),
                        },
                    }])
                }
                Form::Bad => Err(vec![match shorthand::foreign(st.text) {
                    Some(form) => SpecErrorKind::Foreign {
                        written: st.trimmed(),
                        form,
                    },
                    None => SpecErrorKind::BadStatement(st.trimmed()),
                }]),
                Form::Remove(name) => Ok(Stmt::Remove(name.into())),
                Form::Network { name, rhs } => network(name, rhs).map(|n| self.network(n)),
                Form::Endpoint { network, name, rhs } => {
                    endpoint(network, name, rhs).map(|e| self.endpoint(e))
                }
            };
            match result {
                Ok(stmt) => self.stmts.push((origin(st.line), stmt)),
                Err(mut kinds) => {
                    if let Form::Network { name, .. } = st.form {
                        self.failed_networks.insert(name.to_owned());
                    }
                    // `$PORT` spoils the words around it: it is the one
                    // thing to fix.
                    if let Some(variable) = unbraced_variable(st.text) {
                        kinds = vec![SpecErrorKind::UnbracedVariable(variable.to_owned())];
                    } else if !matches!(st.form, Form::Bad)
                        && let Some(
                            form @ (ForeignForm::WithOptions { .. }
                            | ForeignForm::SockaddrTemplate { .. }
                            | ForeignForm::Systemd { .. }
                            | ForeignForm::Pasted { .. }
                            | ForeignForm::PassedFd
                            | ForeignForm::CallHost { .. }
                            | ForeignForm::HostAndPort { .. }
                            | ForeignForm::UrlPath { .. }
                            | ForeignForm::UrlQuery { .. }
                            | ForeignForm::TokioListener { .. }),
                        ) = shorthand::foreign(st.text)
                    {
                        // `[::]:80 ipv6only=on`: nginx's address and
                        // options, which an `=` made look like a statement;
                        // `x = {{ GetPrivateIP }}`, Consul's template, whose
                        // words are no selectors.
                        kinds = vec![SpecErrorKind::Foreign {
                            written: st.trimmed(),
                            form,
                        }];
                    } else if let Form::Network { name, rhs } = st.form
                        && shorthand::is_advertise_key(name)
                        && !rhs.trim_ascii().is_empty()
                        && !rhs.trim_ascii().contains(char::is_whitespace)
                    {
                        // Consul's `advertise_addr = "10.0.0.1"`, RavenDB's
                        // `PublicServerUrl=https://…`: what clients are told.
                        kinds = vec![SpecErrorKind::Foreign {
                            written: st.trimmed(),
                            form: ForeignForm::Pasted {
                                word: format!("{name} ="),
                                value: rhs.trim_ascii().to_owned(),
                            },
                        }];
                    } else if let Form::Network { name, rhs } = st.form
                        && let Some(inner) = shorthand::unquoted(rhs.trim_ascii())
                        && inner.contains(|c: char| c == ',' || c.is_whitespace())
                        && let selectors = inner
                            .split(|c: char| c == ',' || c.is_whitespace())
                            .filter(|word| !word.is_empty())
                            .collect::<Vec<_>>()
                            .join(", ")
                        && network(name, &selectors).is_ok()
                    {
                        // Consul's `client_addr = "127.0.0.1 ::1"`: a
                        // config file's quotes around addresses a space
                        // separates, which read as two bad selectors. Under
                        // a key for the server's address, a line pasted
                        // whole, whose port is another key's.
                        let form = match shorthand::is_address_key(name) {
                            true => ForeignForm::Pasted {
                                word: format!("{name} ="),
                                value: selectors,
                            },
                            false => ForeignForm::Quoted {
                                inner: format!("{name} = {selectors}"),
                            },
                        };
                        kinds = vec![SpecErrorKind::Foreign {
                            written: st.trimmed(),
                            form,
                        }];
                    } else if let Form::Endpoint { network, name, rhs } = st.form
                        && let Some(inner) = shorthand::unquoted(rhs.trim_ascii())
                        && endpoint(network, name, inner).is_ok()
                    {
                        // `api.http = "http:8080"`: a config file's quotes.
                        kinds = vec![SpecErrorKind::Foreign {
                            written: st.trimmed(),
                            form: ForeignForm::Quoted {
                                inner: format!("{network}.{name} = {inner}"),
                            },
                        }];
                    }
                    // The statement goes with its first error only: a
                    // line of many bad words copied into each of its
                    // errors would cost, and print, its length times theirs.
                    let mut statement = Some(st.trimmed());
                    self.errors.extend(kinds.into_iter().map(|kind| Located {
                        line: Some(st.line),
                        statement: statement.take(),
                        layer: layer.map(str::to_owned),
                        kind,
                    }));
                }
            }
        }
    }

    /// An error of the statement `statement` on `line` of `layer`.
    fn statement_error(
        &mut self,
        layer: Option<&str>,
        line: usize,
        statement: String,
        kind: SpecErrorKind,
    ) {
        self.errors.push(Located {
            line: Some(line),
            statement: Some(statement),
            layer: layer.map(str::to_owned),
            kind,
        });
    }

    /// One address read, or its errors.
    fn one_address(&mut self, origin: Origin, one: Result<shorthand::Value, SpecError>) {
        match one {
            Ok(value) => self.stmts.push((origin, Stmt::OneAddress(Box::new(value)))),
            Err(e) => self.errors.extend(e.errors().iter().cloned().map(|mut l| {
                l.layer.clone_from(&self.names[origin.pass as usize]);
                l.line = origin.line.map(|l| l as usize);
                l
            })),
        }
    }

    /// Counts in a layer that is not read (its variables could not be
    /// expanded), so that its errors keep its place among the layers'.
    pub(crate) fn unread_layer(&mut self, layer: &str) {
        self.next_pass(Some(layer));
    }

    /// Counts a layer in, and keeps its name for ordering errors.
    fn next_pass(&mut self, layer: Option<&str>) -> u32 {
        self.labels.extend(layer.map(str::to_owned));
        self.names.push(layer.map(str::to_owned));
        // More layers than `u32` holds would not fit in memory.
        (self.names.len() - 1) as u32
    }

    /// Takes a whole spec as a layer; `line` is where it was written, if
    /// on one line.
    pub(crate) fn spec(&mut self, layer: Option<String>, line: Option<usize>, spec: ListenSpec) {
        let origin = Origin {
            pass: self.next_pass(layer.as_deref()),
            line: line.and_then(|l| u32::try_from(l).ok()),
        };
        let ListenSpec {
            networks,
            endpoints,
            network_of: _,
            written: _,
        } = spec;
        for n in networks {
            let stmt = self.network(n);
            self.stmts.push((origin, stmt));
        }
        for e in endpoints {
            let stmt = self.endpoint(e);
            self.stmts.push((origin, stmt));
        }
    }

    /// Keeps a network read, for a statement to name.
    fn network(&mut self, n: Network) -> Stmt {
        self.networks.push(Some(n));
        Stmt::Network(self.networks.len() - 1)
    }

    /// Keeps an endpoint read, for a statement to name.
    fn endpoint(&mut self, e: Endpoint) -> Stmt {
        self.endpoints.push(Some(e));
        Stmt::Endpoint(self.endpoints.len() - 1)
    }

    pub(crate) fn error(&mut self, error: Located) {
        self.errors.push(error);
    }

    /// How many errors were found so far.
    pub(crate) fn error_count(&self) -> usize {
        self.errors.len()
    }

    /// Quotes the lines of the errors found since `from` as `written`
    /// has them, before its variables were expanded, beside the
    /// statement the parser read: `http:${PORT}` is what the reader finds
    /// in the file, `http:abc` why it failed.
    ///
    /// Only a line of one statement, of at most [`AS_WRITTEN_MAX`] bytes
    /// before its comment, is quoted so, and each line is looked at once:
    /// a line of many statements, each with its error, would otherwise be
    /// copied and searched once per error.
    pub(crate) fn quote_as_written(&mut self, from: usize, written: &str) {
        if self.errors.len() == from {
            return;
        }
        let written = written.strip_prefix('\u{feff}').unwrap_or(written);
        // The errors come in line order: the lines are walked once, as
        // those of the expansion's own errors are.
        let mut lines = (1..).zip(written.split('\n'));
        fn one_statement(line: &str) -> Option<&str> {
            let line = line.split('#').next().unwrap_or_default().trim();
            (line.len() <= AS_WRITTEN_MAX && !line.contains(';') && line.contains("${"))
                .then_some(line)
        }
        let mut looked_at: Option<(usize, Option<&str>)> = None;
        for error in &mut self.errors[from..] {
            let (Some(line), Some(statement)) = (error.line, &mut error.statement) else {
                continue;
            };
            let as_written = match looked_at {
                Some((at, as_written)) if at == line => as_written,
                _ => {
                    let as_written = lines
                        .find(|&(n, _)| n == line)
                        .and_then(|(_, l)| one_statement(l));
                    looked_at = Some((line, as_written));
                    as_written
                }
            };
            if let Some(as_written) = as_written {
                *statement = format!("{as_written}   (expanded: {statement})");
            }
        }
    }

    /// The errors found reading, before the rules that span statements: a
    /// single line is checked this way, since its network may come from
    /// another layer.
    #[cfg(feature = "clap")]
    pub(crate) fn syntax(self) -> Result<(), SpecError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(SpecError::new(self.errors, &[]))
        }
    }

    /// Applies the statements in order, then checks the rules that span
    /// statements on what is left.
    pub(crate) fn assemble(self) -> Result<ListenSpec, SpecError> {
        let Read {
            stmts,
            networks: mut read_networks,
            endpoints: mut read_endpoints,
            mut errors,
            failed_networks,
            labels,
            names,
        } = self;
        let Applied {
            networks,
            endpoints,
            network_at,
        } = apply(
            stmts,
            &names,
            &mut read_networks,
            &mut read_endpoints,
            &mut errors,
        );
        // Where each network written is kept (`network_at` points among
        // those written, some of which a later statement removed).
        let mut next = 0;
        let kept_at: Vec<Option<usize>> = networks
            .iter()
            .map(|slot| {
                slot.as_ref().map(|_| {
                    next += 1;
                    next - 1
                })
            })
            .collect();
        let index = |name: &Name| network_at.get(name).and_then(|&i| kept_at[i]);
        let (origins_n, networks) = kept(networks, read_networks);
        let (origins_e, endpoints) = kept(endpoints, read_endpoints);
        let (found, network_of) = validate(&networks, &endpoints, index, true);
        // MySQL's `bind-address = 127.0.0.1`, `HOST=0.0.0.0`: a line of
        // another program's config read as a network, which without an
        // endpoint binds nothing (and beside `:3306`, every address).
        let listening = super::listening(networks.len(), network_of.iter().map(|&n| n as usize));
        for (i, net) in networks.iter().enumerate() {
            if !listening[i] && shorthand::is_address_key(net.name().as_str()) {
                let written = net.to_string();
                let value = written.split_once(" = ").map_or("", |(_, v)| v).to_owned();
                let kind = SpecErrorKind::Foreign {
                    form: ForeignForm::Pasted {
                        word: format!("{} =", net.name()),
                        value,
                    },
                    written,
                };
                errors.push(origins_n[i].error(&names, kind));
            }
        }
        for (item, kind) in found {
            if let (Item::Endpoint(i), SpecErrorKind::UnknownNetwork { .. }) = (item, &kind)
                && failed_networks.contains(endpoints[i].network().as_str())
            {
                continue;
            }
            let origin = match item {
                Item::Network(i) => &origins_n[i],
                Item::Endpoint(i) => &origins_e[i],
            };
            errors.push(origin.error(&names, kind));
        }
        if errors.is_empty() {
            // Only layers a caller named tell a reader where to look.
            let layered = names.iter().any(Option::is_some);
            let written = super::WrittenAt(layered.then(|| {
                std::sync::Arc::new(Places {
                    names,
                    networks: origins_n,
                    endpoints: origins_e,
                })
            }));
            Ok(ListenSpec {
                networks,
                endpoints,
                network_of,
                written,
            })
        } else {
            // Layers in the order given, lines in order within each: each
            // name's place looked up, not searched for, so a spec of many
            // thousand layers with errors sorts in `n log n`.
            let mut first: HashMap<&str, usize> = HashMap::with_capacity(labels.len());
            for (i, label) in labels.iter().enumerate() {
                first.entry(label.as_str()).or_insert(i);
            }
            let position =
                |layer: &Option<String>| layer.as_deref().and_then(|l| first.get(l).copied());
            errors.sort_by_key(|e| (position(&e.layer), e.line));
            Err(SpecError::new(errors, &networks))
        }
    }
}

/// The networks or endpoints the spec has, in its order, each with where
/// it was written and its place in the list read; `None` where a later
/// statement removed one.
type Written = Vec<Option<(Origin, usize)>>;

/// What is left of the networks or endpoints `read`, in the spec's order,
/// and apart from them where each was written. When every one read is
/// kept where it was read, as in most specs, the list read becomes the
/// spec's in place: `Option<T>` is the size of `T`, so the collect below
/// reuses its memory instead of writing every item again.
fn kept<T>(written: Written, mut read: Vec<Option<T>>) -> (Vec<Origin>, Vec<T>) {
    let n = written.iter().flatten().count();
    let in_place = n == read.len()
        && written
            .iter()
            .flatten()
            .enumerate()
            .all(|(i, &(_, at))| at == i);
    let mut origins = Vec::with_capacity(n);
    if in_place {
        origins.extend(written.into_iter().flatten().map(|(origin, _)| origin));
        let items = read
            .into_iter()
            .map(|item| item.expect("every item read is kept"));
        return (origins, items.collect());
    }
    let mut items = Vec::with_capacity(n);
    for (origin, at) in written.into_iter().flatten() {
        origins.push(origin);
        items.push(read[at].take().expect("each item read is kept once"));
    }
    (origins, items)
}

/// What is left once every statement is applied, and where each network
/// left is by name.
struct Applied {
    networks: Written,
    endpoints: Written,
    network_at: HashMap<Name, usize>,
}

/// The statements applied in order: a later one for the same name replaces
/// the earlier in its place; a removal takes it out, a network with its
/// endpoints. A removal of nothing is an error.
fn apply(
    stmts: Vec<(Origin, Stmt)>,
    names: &[Option<String>],
    read_networks: &mut Vec<Option<Network>>,
    read_endpoints: &mut Vec<Option<Endpoint>>,
    errors: &mut Vec<Located>,
) -> Applied {
    // Removed entries become `None` in place and leave the maps, so each
    // statement costs the same however many came before: a spec of many
    // thousand removals stays linear.
    // Sized for the statements up front: growing lists and maps of many
    // thousand entries copies each entry again at every doubling.
    let n_networks = stmts
        .iter()
        .filter(|(_, s)| matches!(s, Stmt::Network(_)))
        .count();
    let n_endpoints = stmts
        .iter()
        .filter(|(_, s)| matches!(s, Stmt::Endpoint(_)))
        .count();
    let mut networks: Written = Vec::with_capacity(n_networks);
    let mut endpoints: Written = Vec::with_capacity(n_endpoints);
    let mut network_at: HashMap<Name, usize> = HashMap::with_capacity(n_networks);
    let mut endpoint_at: HashMap<QualifiedName, usize> = HashMap::with_capacity(n_endpoints);
    // Only the removal of a whole network needs its endpoints listed; most
    // specs remove none, and the lists cost a map and an allocation per
    // network.
    let removes_networks = stmts
        .iter()
        .any(|(_, s)| matches!(s, Stmt::Remove(name) if cut(name, b'.').is_none()));
    let mut endpoints_of: Option<HashMap<Name, Vec<usize>>> =
        removes_networks.then(|| HashMap::with_capacity(n_networks));
    let mut one_address = Groups::default();
    // The places in `networks` that hold a network a one-address value
    // made, with its group: only those may one-address values change.
    let mut generated: HashMap<usize, usize> = HashMap::default();
    // The same of `endpoints`: a statement that replaces or removes one
    // retires its group.
    let mut generated_endpoints: HashMap<usize, usize> = HashMap::default();
    // The places of networks the spec wrote over a value's, with its
    // group: a later value of the group is refused while the spec's
    // network is there, and its removal retires the group.
    let mut replaced: HashMap<usize, usize> = HashMap::default();
    for (origin, stmt) in stmts {
        match stmt {
            Stmt::OneAddress(value) => {
                for change in one_address.add(*value) {
                    let group = match change {
                        Change::Network(group) => {
                            let at = network_at
                                .get(&Groups::network_name(group))
                                .copied()
                                .filter(|at| generated.get(at) == Some(&group));
                            if let Some(Some((_, n))) = at.map(|at| &mut networks[at]) {
                                read_networks.push(Some(one_address.statements(group).0));
                                *n = read_networks.len() - 1;
                            }
                            continue;
                        }
                        Change::Grew { group, selector } => {
                            let at = network_at
                                .get(&Groups::network_name(group))
                                .copied()
                                .filter(|at| generated.contains_key(at));
                            if let Some(Some((o, n))) = at.map(|at| &mut networks[at]) {
                                *o = origin;
                                let net = read_networks[*n].as_mut().expect("applied in place");
                                net.include.push(selector);
                                continue;
                            }
                            // Its network replaced since: whole again, which
                            // is an error.
                            group
                        }
                        Change::Whole(group) => group,
                        Change::Seen(group) => {
                            let name = Groups::network_name(group);
                            if network_at
                                .get(&name)
                                .is_some_and(|at| !generated.contains_key(at))
                            {
                                errors.push(
                                    origin.error(names, SpecErrorKind::OneAddressClash(name)),
                                );
                            }
                            continue;
                        }
                    };
                    let (n, e) = one_address.statements(group);
                    let name = n.name().clone();
                    let qualified = e.qualified();
                    read_networks.push(Some(n));
                    read_endpoints.push(Some(e));
                    let (n, e) = (read_networks.len() - 1, read_endpoints.len() - 1);
                    match network_at.entry(name) {
                        Entry::Occupied(at) if !generated.contains_key(at.get()) => {
                            let name = at.key().clone();
                            errors.push(origin.error(names, SpecErrorKind::OneAddressClash(name)));
                            continue;
                        }
                        Entry::Occupied(at) => networks[*at.get()] = Some((origin, n)),
                        Entry::Vacant(slot) => {
                            generated.insert(networks.len(), group);
                            add_network(&mut networks, slot, origin, n);
                        }
                    }
                    match endpoint_at.entry(qualified) {
                        Entry::Occupied(at) => {
                            generated_endpoints.insert(*at.get(), group);
                            endpoints[*at.get()] = Some((origin, e));
                        }
                        Entry::Vacant(slot) => {
                            generated_endpoints.insert(endpoints.len(), group);
                            add_endpoint(&mut endpoints, slot, &mut endpoints_of, origin, e);
                        }
                    }
                }
            }
            // One look into the map per statement: at many thousand
            // networks, each look is a miss in the cache.
            Stmt::Network(n) => {
                let name = read(read_networks, n).name();
                match network_at.entry(name.clone()) {
                    Entry::Occupied(at) if same_pass(&networks[*at.get()], &origin) => {
                        errors.push(
                            origin.error(names, SpecErrorKind::DuplicateNetwork(name.clone())),
                        );
                    }
                    Entry::Occupied(at) => {
                        if let Some(group) = generated.remove(at.get()) {
                            replaced.insert(*at.get(), group);
                        }
                        networks[*at.get()] = Some((origin, n));
                    }
                    Entry::Vacant(slot) => add_network(&mut networks, slot, origin, n),
                }
            }
            Stmt::Endpoint(e) => {
                let qualified = read(read_endpoints, e).qualified();
                match endpoint_at.entry(qualified) {
                    Entry::Occupied(at) if same_pass(&endpoints[*at.get()], &origin) => {
                        let qualified = at.key().clone();
                        errors
                            .push(origin.error(names, SpecErrorKind::DuplicateEndpoint(qualified)));
                    }
                    Entry::Occupied(at) => {
                        if let Some(group) = generated_endpoints.remove(at.get()) {
                            one_address.retire(group, false);
                        }
                        endpoints[*at.get()] = Some((origin, e));
                    }
                    Entry::Vacant(slot) => {
                        add_endpoint(&mut endpoints, slot, &mut endpoints_of, origin, e);
                    }
                }
            }
            Stmt::Remove(name) => {
                let mut removed = false;
                match cut(&name, b'.') {
                    Some((net, ep)) => {
                        let q = net
                            .parse()
                            .and_then(|n| Ok(QualifiedName::new(n, ep.parse()?)));
                        if let Some(i) = q.ok().and_then(|q| endpoint_at.remove(&q)) {
                            removed = endpoints[i].take().is_some();
                            if let Some(group) = generated_endpoints.remove(&i) {
                                one_address.retire(group, false);
                            }
                        }
                    }
                    None => {
                        let Ok(net) = name.parse::<Name>() else {
                            errors.push(
                                origin.error(names, SpecErrorKind::NothingToRemove(name.into())),
                            );
                            continue;
                        };
                        if let Some(i) = network_at.remove(&net) {
                            removed = networks[i].take().is_some();
                            if let Some(group) = generated.remove(&i).or(replaced.remove(&i)) {
                                one_address.retire(group, true);
                            }
                        }
                        let of = endpoints_of.as_mut().and_then(|of| of.remove(&net));
                        for i in of.unwrap_or_default() {
                            generated_endpoints.remove(&i);
                            if let Some((_, e)) = endpoints[i].take() {
                                endpoint_at.remove(&read(read_endpoints, e).qualified());
                                removed = true;
                            }
                        }
                    }
                }
                if !removed {
                    errors.push(origin.error(names, SpecErrorKind::NothingToRemove(name.into())));
                }
            }
        }
    }
    Applied {
        networks,
        endpoints,
        network_at,
    }
}

/// The network or endpoint read at `at`, which only the spec's own list
/// takes out, once every statement is applied.
fn read<T>(read: &[Option<T>], at: usize) -> &T {
    read[at]
        .as_ref()
        .expect("nothing read is taken before the statements are applied")
}

/// A network not defined before, at the end; `n` is where it was read.
fn add_network(
    networks: &mut Written,
    slot: VacantEntry<'_, Name, usize>,
    origin: Origin,
    n: usize,
) {
    slot.insert(networks.len());
    networks.push(Some((origin, n)));
}

/// An endpoint not defined before, at the end, and listed under its network
/// when the spec removes a network; `e` is where it was read.
fn add_endpoint(
    endpoints: &mut Written,
    slot: VacantEntry<'_, QualifiedName, usize>,
    endpoints_of: &mut Option<HashMap<Name, Vec<usize>>>,
    origin: Origin,
    e: usize,
) {
    if let Some(of) = endpoints_of {
        of.entry(slot.key().network().clone())
            .or_default()
            .push(endpoints.len());
    }
    slot.insert(endpoints.len());
    endpoints.push(Some((origin, e)));
}

/// Whether a slot holds something written in the same layer as `origin`.
fn same_pass<T>(slot: &Option<(Origin, T)>, origin: &Origin) -> bool {
    slot.as_ref().is_some_and(|(o, _)| o.pass == origin.pass)
}

/// Whether a statement's last option is `advertise URL` (or
/// `advertise=URL`).
fn ends_in_advertise(statement: &str) -> bool {
    let mut words = statement.split_ascii_whitespace().rev();
    match words.next() {
        Some(last) if last.starts_with("advertise=") => true,
        Some(_) => words.next() == Some("advertise"),
        None => false,
    }
}

/// Splits text into statements: `#` comments run to the end of the line,
/// then `;` and newlines separate statements. One pass finds all three
/// separators, since comments are most of a typical spec's bytes.
fn statements(input: &str) -> Vec<Statement<'_>> {
    let bytes = input.as_bytes();
    // Room for a typical spec: growing from empty reallocated three times
    // before a dozen statements.
    let mut out = Vec::with_capacity(16);
    let mut push = |from: usize, to: usize, line: usize| {
        // `from..to` lies on separator bytes, which are ASCII, so on
        // character boundaries.
        let text = input[from..to].trim_ascii_start();
        if !text.is_empty() {
            out.push(Statement {
                line,
                text,
                form: Form::of(text),
                glued_comment: bytes.get(to) == Some(&b'#')
                    && !text.ends_with(|c: char| c.is_ascii_whitespace()),
                semicolon_ends_line: bytes.get(to) == Some(&b';')
                    && bytes[to..]
                        .iter()
                        .take_while(|&&b| !matches!(b, b'\n' | b'#'))
                        .all(|&b| b == b';' || b.is_ascii_whitespace()),
            });
        }
    };
    let (mut line, mut start) = (1, 0);
    while let Some(i) = memchr::memchr3(b'\n', b';', b'#', &bytes[start..]).map(|i| start + i) {
        push(start, i, line);
        let newline = match bytes[i] {
            b';' => {
                start = i + 1;
                continue;
            }
            // A comment runs to the end of its line.
            b'#' => match memchr::memchr(b'\n', &bytes[i..]) {
                Some(j) => i + j,
                None => {
                    start = bytes.len();
                    break;
                }
            },
            _ => i, // the '\n' that memchr3 found
        };
        line += 1;
        start = newline + 1;
    }
    push(start, bytes.len(), line);
    out
}

/// The line of `input` that holds `text`, a slice of it.
fn line_of<'a>(input: &'a str, text: &str) -> &'a str {
    let at = text.as_ptr().addr() - input.as_ptr().addr();
    let start = input[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = input[at..].find('\n').map_or(input.len(), |i| at + i);
    &input[start..end]
}

/// Whether a `;` lies inside quotes on `line`, before its comment (`#`
/// starts one inside quotes too). A quote opens only at a word's start,
/// so the apostrophe of `/tmp/it's.sock` opens none.
fn semicolon_in_quotes(line: &str) -> bool {
    let mut open = None;
    let mut before = b' ';
    for b in line.bytes() {
        match (open, b) {
            (_, b'#') => return false,
            (None, b'"' | b'\'') if before.is_ascii_whitespace() || b"=:,[(".contains(&before) => {
                open = Some(b);
            }
            (Some(quote), _) if b == quote => open = None,
            (Some(_), b';') => return true,
            _ => {}
        }
        before = b;
    }
    false
}

/// The protocols and ports of the one-address values on `0.0.0.0`.
fn ipv4_wildcards(statements: &[Statement<'_>]) -> HashSet<(Protocol, crate::spec::Ports)> {
    statements
        .iter()
        .filter(|st| matches!(st.form, Form::Bad))
        .filter_map(|st| match shorthand::shorthand(st.text) {
            Some(Ok(shorthand::Value::Ip {
                selector: Selector::Wildcard(Family::V4),
                protocol,
                ports,
                ..
            })) => Some((protocol, ports)),
            _ => None,
        })
        .collect()
}

/// Parses a network statement.
fn network(name: &str, rhs: &str) -> Result<Network, Vec<SpecErrorKind>> {
    let mut net = Network::new(name.parse().map_err(|e| vec![e])?);
    let mut errors = Vec::new();
    let mut words = words(rhs).peekable();
    let first_option = network_selectors(&mut net, &mut words, &mut errors);
    network_options(&mut net, first_option.into_iter().chain(words), &mut errors);
    if errors.is_empty() {
        Ok(net)
    } else {
        Err(errors)
    }
}

/// Reads selectors and family filters until the first option word, which it
/// returns.
fn network_selectors<'w, I: Iterator<Item = &'w str>>(
    net: &mut Network,
    words: &mut std::iter::Peekable<I>,
    errors: &mut Vec<SpecErrorKind>,
) -> Option<&'w str> {
    let mut items = Items::default();
    let mut first_option = None;
    while let Some(word) = words.next() {
        let starts_options = match word {
            // `shared` is also an address class: first, or after a comma,
            // it is a selector, which is how Display writes the class.
            "shared" => !items.want_item,
            // `expose = public`: an option with spaces around its `=`,
            // which the options tell.
            "expose" | "advertise" if words.peek().is_some_and(|w| w.starts_with('=')) => true,
            _ => {
                word == "advertise" || word.starts_with("advertise=") || word.starts_with("expose=")
            }
        };
        if starts_options {
            first_option = Some(word);
            break;
        }
        // `advertize URL`: a misspelled `advertise` takes its URL along,
        // which is no selector of its own.
        if !items.want_item
            && !word.contains(['=', ','])
            && suggest::closest(word, ["advertise"]).is_some()
        {
            Items::missing(word, errors);
            words.next_if(|w| !w.contains('='));
            continue;
        }
        items.feed(word, errors, |item, errors| {
            selector_item(net, item, errors)
        });
    }
    items.finish(errors);
    first_option
}

/// One comma-separated item of a network: a selector, an exclude, or a
/// family filter.
fn selector_item(net: &mut Network, item: &str, errors: &mut Vec<SpecErrorKind>) {
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
        (Some(f), true) => errors.push(SpecErrorKind::BadSelector {
            text: item.to_owned(),
            reason: SelectorError::ExcludedFamily(f),
        }),
        (Some(f), false) => {
            if net.family.is_some_and(|g| g != f) {
                errors.push(SpecErrorKind::BothFamilies(net.name.clone()));
            }
            net.family = Some(f);
        }
        (None, true) => match Selector::parse_exclude(word) {
            Ok(s) => net.exclude.push(s),
            Err(e) => errors.push(e),
        },
        (None, false) => match word.parse() {
            Ok(s) => net.include.push(s),
            Err(e) => errors.push(e),
        },
    }
}

/// A network's options: `shared`, `expose=`, `advertise`.
fn network_options<'w>(
    net: &mut Network,
    words: impl Iterator<Item = &'w str>,
    errors: &mut Vec<SpecErrorKind>,
) {
    let mut opts = Options {
        words: words.peekable(),
        errors,
    };
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
                    Ok(a) => net.advertise = Some(Box::new(a)),
                    Err(e) => opts.errors.push(e),
                }
            }
            _ => opts.bad(key, value, unknown_option(key, Place::Network)),
        }
    }
}

/// Splits a network's words into comma-separated selectors, so `a,b`,
/// `a, b` and `a ,b` read alike; a missing or doubled comma is an error.
struct Items {
    /// Whether a selector is due: at the start and after a comma.
    want_item: bool,
}

impl Default for Items {
    fn default() -> Items {
        Items { want_item: true }
    }
}

impl Items {
    /// Hands each selector in `word` to `item`.
    fn feed<'w>(
        &mut self,
        word: &'w str,
        errors: &mut Vec<SpecErrorKind>,
        mut item: impl FnMut(&'w str, &mut Vec<SpecErrorKind>),
    ) {
        for (k, piece) in split(word, b',').enumerate() {
            if k > 0 {
                // A comma came before this piece.
                if self.want_item {
                    Items::missing("", errors);
                }
                self.want_item = true;
            }
            if piece.is_empty() {
                continue;
            }
            if self.want_item {
                self.want_item = false;
                item(piece, errors);
            } else {
                Items::missing(piece, errors);
            }
        }
    }

    /// A trailing comma, or no selector at all, is an error.
    fn finish(self, errors: &mut Vec<SpecErrorKind>) {
        if self.want_item {
            Items::missing("", errors);
        }
    }

    fn missing(text: &str, errors: &mut Vec<SpecErrorKind>) {
        // A word after a whole selector with no comma between is most often
        // an option: misspelled, or one that belongs on an endpoint line.
        let key = cut(text, b'=').map_or(text, |(k, _)| k);
        let option = !key.is_empty()
            && (ENDPOINT_OPTIONS.contains(&key)
                || suggest::closest(key, NETWORK_OPTIONS.iter().copied()).is_some());
        if option {
            errors.push(SpecErrorKind::BadOption {
                text: text.to_owned(),
                reason: unknown_option(key, Place::Network),
            });
            return;
        }
        errors.push(SpecErrorKind::BadSelector {
            text: text.to_owned(),
            reason: match text {
                "" => SelectorError::Empty,
                _ => SelectorError::MissingComma,
            },
        });
    }
}

/// Parses an endpoint statement.
fn endpoint(net_text: &str, name_text: &str, rhs: &str) -> Result<Endpoint, Vec<SpecErrorKind>> {
    let net = net_text.parse();
    let name = name_text.parse();
    let mut words = words(rhs);
    let target = words.next().unwrap_or("");
    let Some((protocol, address)) = cut(target, b':') else {
        // PHP-FPM's `listen.mode = 0660`: an option on a line of its own.
        if ENDPOINT_OPTIONS.contains(&name_text) && !target.is_empty() {
            return Err(vec![SpecErrorKind::BadOption {
                text: format!("{net_text}.{name_text} = {target}"),
                reason: OptionError::OwnLine {
                    joined: format!("{name_text}={target}"),
                },
            }]);
        }
        return Err(vec![SpecErrorKind::BadTarget(target.to_owned())]);
    };
    // A URL right after the scheme; a path may hold `://` further on.
    if address.starts_with("//") {
        // A list written with spaces after its commas, whole.
        let list: String;
        let target = if target.ends_with(',') {
            list = rhs.split_ascii_whitespace().collect();
            &list
        } else {
            target
        };
        return Err(vec![endpoint_url(
            net.as_ref().ok(),
            name.as_ref().ok(),
            target,
        )]);
    }
    // `x.y = 0.0.0.0:80`, `x.y = :80`: an address and a port, which the
    // grammar writes apart, as it does a URL's.
    if protocol.parse::<Protocol>().is_err()
        && target
            .rsplit_once(':')
            .is_some_and(|(host, _)| host.is_empty() || shorthand::is_ip_host(host))
        && matches!(
            shorthand::shorthand(target),
            Some(Ok(shorthand::Value::Ip { .. }))
        )
    {
        let url = format!("tcp://{target}");
        let mut error = endpoint_url(net.as_ref().ok(), name.as_ref().ok(), &url);
        if let SpecErrorKind::EndpointUrl { url, .. } = &mut error {
            target.clone_into(url);
        }
        return Err(vec![error]);
    }
    let protocol = protocol.parse::<Protocol>();
    let address = if UnixPath::looks_like(address) {
        address.parse().map(Address::Unix)
    } else {
        address.parse().map(Address::Ports)
    };
    let mut errors = Vec::new();
    let (options, advertise) = endpoint_options(words, &mut errors);
    match (net, name, protocol, address) {
        (Ok(network), Ok(name), Ok(protocol), Ok(address)) if errors.is_empty() => Ok(Endpoint {
            network,
            name,
            protocol,
            address,
            options,
            advertise: advertise.map(Box::new),
            as_std: super::AsStd::default(),
        }),
        (net, name, protocol, address) => {
            let parts = [net.err(), name.err(), protocol.err(), address.err()];
            let mut all: Vec<_> = parts.into_iter().flatten().collect();
            all.append(&mut errors);
            Err(all)
        }
    }
}

/// An endpoint's options: socket options and `advertise`.
fn endpoint_options<'w>(
    words: impl Iterator<Item = &'w str>,
    errors: &mut Vec<SpecErrorKind>,
) -> (EndpointOptions, Option<Advertise>) {
    let mut options = EndpointOptions::default();
    let mut advertise = None;
    let mut opts = Options {
        words: words.peekable(),
        errors,
    };
    while let Some((key, value)) = opts.next() {
        match (key, value) {
            ("backlog", Some(v)) => {
                opts.once(key, options.backlog.is_some());
                match v.parse::<u32>() {
                    Ok(b) => options.backlog = Some(b),
                    Err(_) => opts.bad(key, value, OptionError::Backlog),
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
                    Some(_) => opts.bad(key, value, OptionError::V6only),
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
                    opts.bad(key, value, OptionError::Device);
                }
            }
            ("mode", Some(v)) => {
                opts.once(key, options.mode.is_some());
                match unix::parse_mode(v) {
                    Some(m) => options.mode = Some(m),
                    None => opts.bad(key, value, OptionError::Mode),
                }
            }
            ("owner" | "group", Some(v)) => {
                let slot = if key == "owner" {
                    &mut options.owner
                } else {
                    &mut options.group
                };
                opts.once(key, slot.is_some());
                match Account::parse(v) {
                    Some(a) => *slot = Some(a),
                    None => opts.bad(key, value, OptionError::Account),
                }
            }
            ("stale", Some(v)) => {
                opts.once(key, options.stale.is_some());
                match Stale::parse(v) {
                    Some(st) => options.stale = Some(st),
                    None => opts.bad(key, value, OptionError::Stale),
                }
            }
            ("keep-file", None) => {
                opts.once(key, options.keep_file);
                options.keep_file = true;
            }
            ("advertise", Some(v)) => {
                opts.once(key, advertise.is_some());
                match v.parse::<Advertise>() {
                    Ok(a) => advertise = Some(a),
                    Err(e) => opts.errors.push(e),
                }
            }
            _ => opts.bad(key, value, unknown_option(key, Place::Endpoint)),
        }
    }
    (options, advertise)
}

/// The options of a network line, and of an endpoint line.
const NETWORK_OPTIONS: &[&str] = &["expose", "shared", "advertise"];
const ENDPOINT_OPTIONS: &[&str] = &[
    "backlog",
    "reuseport",
    "v6only",
    "device",
    "freebind",
    "mode",
    "owner",
    "group",
    "stale",
    "keep-file",
    "advertise",
];

/// Why an option is unknown where it stands: it belongs on the other kind
/// of line, or it is the misspelling of one that belongs here.
fn unknown_option(key: &str, place: Place) -> OptionError {
    let (own, other, other_place) = match place {
        Place::Network => (NETWORK_OPTIONS, ENDPOINT_OPTIONS, Place::Endpoint),
        _ => (ENDPOINT_OPTIONS, NETWORK_OPTIONS, Place::Network),
    };
    if other.contains(&key) {
        return OptionError::Misplaced {
            belongs: other_place,
        };
    }
    OptionError::Unknown {
        place,
        near: suggest::closest(key, own.iter().copied()),
    }
}

/// The error for an endpoint written as a URL, with the two lines that say
/// the same in the grammar, when the URL reads as one.
fn endpoint_url(net: Option<&Name>, name: Option<&Name>, target: &str) -> SpecErrorKind {
    // Kafka's lists (`PLAINTEXT://kafka1:9092,SSL://kafka1:9093`): the
    // first URL shows what to write, once for each.
    if let Some(first) = url::first_of_list(target)
        && url::Parts::url(first).is_ok()
        && let SpecErrorKind::EndpointUrl { instead, .. } = endpoint_url(net, name, first)
    {
        return SpecErrorKind::EndpointUrl {
            url: target.to_owned(),
            instead: format!("{instead}; and so for each URL of the list, an endpoint apiece"),
        };
    }
    let net = net.map_or("NET", Name::as_str);
    let name = name.map_or("NAME", Name::as_str);
    if let Some((protocol, path)) = shorthand::unix_url(target) {
        return SpecErrorKind::EndpointUrl {
            url: target.to_owned(),
            instead: format!(
                "for a Unix socket write `{net}.{name} = {protocol}:{path}`, on a network of Unix sockets (`{net} = unix`)"
            ),
        };
    }
    // etcd's `unix://localhost:2379`: a path relative to the directory
    // it runs in, as its one-address form reads it.
    if let Some((scheme, path)) = target.split_once("://")
        && let scheme = scheme.to_ascii_lowercase()
        && matches!(scheme.as_str(), "unix" | "unixs")
        && !path.is_empty()
    {
        // etcd's TLS (`unixs`) is an https endpoint's.
        let path = shorthand::etcd_unix_path(path);
        let protocol = if scheme == "unixs" { "https" } else { "unix" };
        return SpecErrorKind::EndpointUrl {
            url: target.to_owned(),
            instead: format!(
                "for a Unix socket write `{net}.{name} = {protocol}:{path}`, on a network of Unix sockets (`{net} = unix`)"
            ),
        };
    }
    // ASP.NET Core's every address (`http://*:80`, `http://+:80`), and
    // Go's and Kafka's (`tcp://:9092`, no host).
    let every = target
        .split_once("://")
        .is_some_and(|(_, rest)| rest.starts_with(['*', '+', ':']));
    let parts = url::Parts::url(target);
    let instead = match parts
        .as_ref()
        .ok()
        .filter(|u| every || matches!(u.host, RawHost::Host(_)))
    {
        Some(u) => {
            let scheme = match &*u.scheme {
                s @ ("http" | "https" | "tcp" | "udp") => s,
                _ => "tcp",
            };
            // No port written nor known: one to choose, never 0 (any).
            let port = u
                .port
                .or(url::default_port(&u.scheme))
                .map_or_else(|| "PORT".to_owned(), |p| p.to_string());
            // A wildcard plans only on a network that may have one.
            let expose = if net == "public" {
                ""
            } else {
                " expose=public"
            };
            match &u.host {
                // Kafka's `advertised.listeners`: what clients are told,
                // which is no address to bind.
                RawHost::Host(host)
                    if shorthand::is_advertise_key(net) || shorthand::is_advertise_key(name) =>
                {
                    format!(
                        "to tell clients this address, give the network that listens `advertise {scheme}://{host}:{port}` on its line"
                    )
                }
                // `[::]` in a URL takes IPv4 too, as Go and etcd bind it.
                RawHost::Host(UrlHost::Ip(ip)) if !every && ip.is_unspecified() && ip.is_ipv6() => {
                    format!(
                        "write `{net} = ::{expose}` and `{net}.{name} = {scheme}:{port} v6only=false` (or `{net} = *{expose}` for a socket of each family)"
                    )
                }
                // `[::ffff:0.0.0.0]` as the IPv4 address it is, which a
                // selector takes.
                RawHost::Host(UrlHost::Ip(ip)) if !every => format!(
                    "write `{net} = {}{}` and `{net}.{name} = {scheme}:{port}`",
                    ip.to_canonical(),
                    if ip.is_unspecified() { expose } else { "" }
                ),
                RawHost::Host(UrlHost::Name(n)) if !every => {
                    format!("write `{net} = dns:{n}` and `{net}.{name} = {scheme}:{port}`")
                }
                // ASP.NET Core's `*` and `+`, or no host: every address.
                _ => format!("write `{net} = *{expose}` and `{net}.{name} = {scheme}:{port}`"),
            }
        }
        None => format!(
            "write the address on the network's line (`{net} = ADDRESS`) and `{net}.{name} = PROTOCOL:PORT`"
        ),
    };
    SpecErrorKind::EndpointUrl {
        url: target.to_owned(),
        instead,
    }
}

/// The longest line quoted as written beside its expanded statement.
const AS_WRITTEN_MAX: usize = 1024;

/// A variable in `text` as another program writes it, which nothing here
/// expands: Caddy's `{$NAME}`, `{$NAME:DEFAULT}` or `{env.NAME}`, whole,
/// or else a shell's `$NAME`.
fn unbraced_variable(text: &str) -> Option<&str> {
    let caddy = text.match_indices('{').find_map(|(at, _)| {
        let rest = &text[at + 1..];
        let name = rest
            .strip_prefix('$')
            .or_else(|| rest.strip_prefix("env."))?;
        let end = name
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(name.len());
        let first = name.bytes().next()?;
        if end == 0 || !(first.is_ascii_alphabetic() || first == b'_') {
            return None;
        }
        // The `}`, after a default that holds no `{`: each `{` is looked
        // past once, so a hostile line costs its length, not its square.
        let after = &name[end..];
        let closed = match after.strip_prefix(':') {
            Some(default) => {
                let stop = default.find(['{', '}'])?;
                default[stop..].starts_with('}').then_some(stop + 2)?
            }
            None => after.starts_with('}').then_some(1)?,
        };
        Some(&text[at..at + 1 + (rest.len() - name.len()) + end + closed])
    });
    if caddy.is_some() {
        return caddy;
    }
    let at = text.match_indices('$').map(|(at, _)| at).find(|&at| {
        text[at + 1..]
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
    })?;
    let rest = &text[at + 1..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    Some(&text[at..at + 1 + end])
}

/// Walks `key`, `key=value` and `advertise VALUE` options, collecting errors.
struct Options<'e, I: Iterator> {
    words: std::iter::Peekable<I>,
    errors: &'e mut Vec<SpecErrorKind>,
}

impl<'w, I: Iterator<Item = &'w str>> Options<'_, I> {
    fn next(&mut self) -> Option<(&'w str, Option<&'w str>)> {
        let word = self.words.next()?;
        // A word that is an option of its own (`device= reuseport`) is no
        // value of the one before.
        let own = |w: &&str| {
            w.contains('=') || NETWORK_OPTIONS.contains(w) || ENDPOINT_OPTIONS.contains(w)
        };
        // `backlog = 1024`, `backlog= 1024`, `backlog =1024`: one error for
        // the words a spaced `=` split, not one for each.
        let spaced = match cut(word, b'=') {
            Some((key, "")) if !key.is_empty() && self.words.peek().is_some_and(|w| !own(w)) => {
                Some((key, self.words.next()))
            }
            None if self.words.peek() == Some(&"=") => {
                self.words.next();
                Some((word, self.words.next()))
            }
            None if self.words.peek().is_some_and(|w| w.starts_with('=')) => {
                Some((word, self.words.next().map(|w| &w[1..])))
            }
            _ => None,
        };
        if let Some((key, Some(value))) = spaced {
            let joined = format!("{key}={value}");
            self.bad(
                &format!("{key} = {value}"),
                None,
                OptionError::SpacedEquals { joined },
            );
            return self.next();
        }
        Some(match cut(word, b'=') {
            Some((k, v)) => (k, Some(v)),
            // `advertise` alone takes the next word as its value, as the
            // spec examples write it.
            None if word == "advertise" => match self.words.next() {
                Some(v) => (word, Some(v)),
                None => {
                    self.bad(word, None, OptionError::MissingValue);
                    return self.next();
                }
            },
            None => (word, None),
        })
    }

    fn once(&mut self, key: &str, seen: bool) {
        if seen {
            self.errors
                .push(SpecErrorKind::RepeatedOption(key.to_owned()));
        }
    }

    fn bad(&mut self, key: &str, value: Option<&str>, reason: OptionError) {
        let text = match value {
            Some(v) => format!("{key}={v}"),
            None => key.to_owned(),
        };
        self.errors.push(SpecErrorKind::BadOption { text, reason });
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

/// `str::split` on one ASCII byte, by [`cut`].
fn split(s: &str, byte: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let text = rest?;
        Some(match cut(text, byte) {
            Some((piece, after)) => {
                rest = Some(after);
                piece
            }
            None => {
                rest = None;
                text
            }
        })
    })
}

/// The whitespace-separated words of `s`, as `split_ascii_whitespace`
/// gives them, but passing over a run of padding in one step rather than
/// making and dropping an empty word for each of its bytes.
fn words(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let start = rest.bytes().position(|b| !b.is_ascii_whitespace())?;
        let word = &rest[start..];
        let len = word
            .bytes()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(word.len());
        rest = &word[len..];
        Some(&word[..len])
    })
}

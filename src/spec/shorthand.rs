//! One address as a whole spec: what a `listen: SocketAddr` field or a
//! `--listen 0.0.0.0:8080` flag held before it became a [`ListenSpec`], so
//! that changing the field's type breaks no user's config.
//!
//! `ADDRESS:PORT` (`0.0.0.0:8080`, `[::1]:9000`, `[fe80::1%eth0]:80`),
//! `HOST:PORT` (`localhost:8080`), `:PORT` (Go's and Kafka's "every
//! address") and `SCHEME://HOST[:PORT]` (`http://0.0.0.0:8080`,
//! `https://[::]:8443`, `http://localhost:3000`, `udp://:53`) become one
//! network, [`NETWORK`], holding that address with `expose=public`, since
//! the address is exactly what was written; and one endpoint on it named
//! after the protocol (`tcp` for a bare address, else the scheme). Each
//! means what it meant to the program it came from:
//!
//! - `:PORT` and an empty URL host are `*`, every address of both families;
//! - a host name is `dns:NAME`, every address it resolves to (std binds only
//!   the first; answers on several interfaces are a warning,
//!   `DnsSeveralInterfaces`), and is advertised as written, so clients keep
//!   checking TLS certificates against the name;
//! - `[::]:PORT` is bound as std binds it on the OS of the host it is
//!   planned for: dual-stack on Linux, Android and macOS (`v6only=false`),
//!   as std, tokio and Go bind it there while the system's default
//!   (`net.ipv6.bindv6only`, `net.inet6.ip6.v6only`) is 0, and IPv6-only
//!   elsewhere, as they do on Windows and the BSDs
//!   ([`Endpoint::bound_as_std`]); a spec reads alike on every system.
//!
//! Several one-address values (repeated `--listen` flags, the entries of a
//! list, lines of a file) add up, each address kept ([`Groups`]).
//!
//! A Unix socket is one too: a path or abstract name (`/run/app.sock`,
//! `./app.sock`, `@app`), `unix:PATH` or `unixgram:PATH`, and the URLs
//! clients write for one (`unix:///run/app.sock`,
//! `http+unix://%2Frun%2Fapp.sock`, the path percent-encoded) become the
//! network `listen = unix` and one endpoint on it, `listen.unix =
//! unix:PATH` (`listen.unixgram`, `listen.http`, `listen.https` as the
//! protocol says). `unix:PATH` is read as the URL the planner advertises,
//! percent-decoded like the other URL forms (`unix:/run/a%25b.sock` is
//! `/run/a%b.sock`), so an advertised URL given back names its own socket.
//!
//! ```
//! use listenspec::ListenSpec;
//!
//! let spec: ListenSpec = "/run/app.sock".parse()?;
//! assert_eq!(spec.to_string(), "listen = unix\nlisten.unix = unix:/run/app.sock\n");
//! let spec: ListenSpec = "http+unix://%2Frun%2Fapp%2Fapi.sock".parse()?;
//! assert_eq!(spec.to_string(), "listen = unix\nlisten.http = http:/run/app/api.sock\n");
//! # Ok::<(), listenspec::SpecError>(())
//! ```

use foldhash::{HashMap, HashSet, HashSetExt};
use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::class::AddrClass;
use crate::spec::error::{ForeignForm, Located};
use crate::spec::selector::{is_ifname, url_spelling, usual_form};
use crate::spec::url::{Parts, RawHost};
use crate::spec::{
    Advertise, Endpoint, Exposure, Family, Name, Network, Ports, Protocol, Selector, SelectorError,
    SpecError, SpecErrorKind, UnixPath, UrlHost, percent_decode,
};

/// The network a one-address spec defines: `listen`.
///
/// One address is a whole spec, meaning what it meant to the program it
/// came from: `0.0.0.0:8080`, `[::1]:9000`, `http://0.0.0.0:8080` that
/// address; `:8080` and `udp://:9092` every address of both families (Go,
/// Kafka; `tcp://:9092`, localhost to Docker, is refused);
/// `localhost:8080` and `NAME:PORT` every address the name resolves to,
/// with the name advertised as written; `[::]:8080` dual-stack on Linux
/// and macOS, as std binds it there. A Unix path (`/run/app.sock`, `@app`,
/// `unix:///run/app.sock`) is one too. The network is `listen`, with
/// `expose=public`, and its endpoint is named after the protocol.
///
/// Several such values (repeated `--listen` flags, list entries, lines)
/// add up: the addresses of one protocol and port are one endpoint, and
/// anything else a network of its own, `listen-2`, `listen-3`, … in the
/// order written. A form of another program that this grammar does not
/// take is a [`SpecErrorKind::Foreign`] error saying what to write.
///
/// ```
/// use listenspec::ListenSpec;
///
/// let spec: ListenSpec = "127.0.0.1:8080; [::1]:8080; /run/app.sock".parse()?;
/// assert_eq!(
///     spec.to_string(),
///     "listen = 127.0.0.1, ::1 expose=public\nlisten-2 = unix\n\
///      listen.tcp = tcp:8080\nlisten-2.unix = unix:/run/app.sock\n"
/// );
/// let err = "127.0.0.1:http".parse::<ListenSpec>().unwrap_err();
/// assert!(err.to_string().contains("write the port's number, 127.0.0.1:80"));
/// # Ok::<(), listenspec::SpecError>(())
/// ```
pub const NETWORK: &str = "listen";

/// One address, as read: an IP endpoint's address, protocol and port, or a
/// Unix socket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Value {
    Ip {
        selector: Selector,
        protocol: Protocol,
        ports: Ports,
        /// The host name as written, advertised as such.
        advertise: Option<Advertise>,
        /// `[::]` alone, bound as std binds it on the OS of the host it is
        /// planned for: dual-stack on Linux, Android and macOS.
        dual: bool,
    },
    Unix {
        protocol: Protocol,
        path: UnixPath,
    },
}

/// The values read so far, grouped: the addresses of one protocol and port
/// (and advertised name) are one network with one endpoint on them, so
/// `127.0.0.1:8080` and `[::1]:8080` are both bound; anything else, a Unix
/// socket included, is a network of its own. The first group is the
/// network [`NETWORK`], the next ones `listen-2`, `listen-3`, … in the order
/// they first appeared, so a single value means what it always did and
/// every name is predictable. When there are several IP groups, each says
/// `shared`: every address was written on purpose, if twice.
///
/// Each value finds its group through a map, and [`Groups::add`] says which
/// groups changed, so a file of many thousand addresses reads in linear
/// time.
///
/// A statement that replaces or removes what a group made retires the
/// group ([`Groups::retire`]): no later value joins it, so that no address
/// the user took away comes back, and a later value starts a group of its
/// own.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    /// By place, which names the network; `None` once its network was
    /// removed.
    groups: Vec<Option<Group>>,
    /// A group by what its values share: the IP fields but the address, or
    /// the whole Unix value. Only groups not retired are here.
    index: HashMap<Value, usize>,
    /// The IP groups whose network is there, retired ones too.
    ip_groups: usize,
    /// Whether the IP groups are `shared`: from the second on, and then
    /// for good, so that a group removed and made again time after time
    /// does not rewrite the first each time.
    shared: bool,
    /// Retired places whose network was removed: a new group takes the
    /// first, so that `0.0.0.0:8080`, `-listen`, `[::]:8080` is `listen`
    /// again, the network the server takes.
    free: BTreeSet<usize>,
}

#[derive(Debug)]
struct Group {
    /// The first value; for an IP group, its address is the first of many.
    first: Value,
    /// The further addresses of an IP group, in the order written, and the
    /// same as a set, so that one written twice is kept once.
    more: Vec<Selector>,
    seen: HashSet<Selector>,
}

/// How a value changed the groups.
#[derive(Debug)]
pub(crate) enum Change {
    /// Group `group` has one more address, at the end of its network's
    /// selectors: a change the reader can make in place, where a group of
    /// many thousand addresses rewritten whole at each would be quadratic.
    Grew { group: usize, selector: Selector },
    /// Group `group` is new, or its `[::]` became IPv6 alone (nginx's
    /// pair): its statements ([`Groups::statements`]) replace what it had.
    Whole(usize),
    /// Group `group` became `shared`: its network is replaced, and its
    /// endpoint, which a statement may since have replaced, is left.
    Network(usize),
    /// A value group `group` already holds: nothing new for a network the
    /// values made, refused for one the spec wrote over theirs.
    Seen(usize),
}

impl Groups {
    /// Adds a value; returns how the groups changed.
    pub(crate) fn add(&mut self, value: Value) -> Vec<Change> {
        let (value, rewrote) = self.wildcard_pair(value);
        let key = key(&value);
        if let Some(&i) = self.index.get(&key) {
            let group = self.groups[i].as_mut().expect("an indexed group is kept");
            if let Value::Ip { selector, .. } = value
                && !matches!(&group.first, Value::Ip { selector: first, .. } if *first == selector)
                && group.seen.insert(selector.clone())
            {
                group.more.push(selector.clone());
                return vec![if rewrote {
                    Change::Whole(i)
                } else {
                    Change::Grew { group: i, selector }
                }];
            }
            return vec![Change::Seen(i)];
        }
        let ip = matches!(value, Value::Ip { .. });
        let group = Group {
            first: value,
            more: Vec::new(),
            seen: HashSet::new(),
        };
        let i = match self.free.pop_first() {
            Some(i) => {
                self.groups[i] = Some(group);
                i
            }
            None => {
                self.groups.push(Some(group));
                self.groups.len() - 1
            }
        };
        self.index.insert(key, i);
        let mut changed = Vec::new();
        if ip {
            self.ip_groups += 1;
            // The first IP group becomes `shared` with the second.
            if self.ip_groups == 2 && !self.shared {
                self.shared = true;
                let other = self.groups.iter().enumerate().position(|(j, g)| {
                    j != i
                        && g.as_ref()
                            .is_some_and(|g| matches!(g.first, Value::Ip { .. }))
                });
                if let Some(first) = other {
                    changed.push(Change::Network(first));
                }
            }
        }
        changed.push(Change::Whole(i));
        changed
    }

    /// The name of group `i`'s network.
    pub(crate) fn network_name(i: usize) -> Name {
        match i {
            0 => NETWORK.to_owned(),
            _ => format!("{NETWORK}-{}", i + 1),
        }
        .parse()
        .expect("listen-N is a name")
    }

    /// nginx's pair, `0.0.0.0:P` and `[::]:P` (`listen P; listen [::]:P`),
    /// is every address of both families, as `:P` is. Read apart, the
    /// `[::]` of the pair is dual-stack where std binds it so, and would
    /// take the IPv4 wildcard's port: together, whichever comes first, they
    /// are one endpoint on both wildcards with `[::]` on IPv6 alone. Not
    /// wider than written: each address was written, and `[::]` alone
    /// stays dual-stack. Returns the value to add, and whether the `[::]`
    /// group it joins was rewritten (to IPv6 alone).
    fn wildcard_pair(&mut self, mut value: Value) -> (Value, bool) {
        let Value::Ip {
            selector: Selector::Wildcard(family),
            dual,
            ..
        } = value
        else {
            return (value, false);
        };
        // The key of the value's group, as if it were (or not) dual-stack.
        let key_as = |dual| {
            let mut key = key(&value);
            set_dual(&mut key, dual);
            key
        };
        let (v4, v6) = (
            Selector::Wildcard(Family::V4),
            Selector::Wildcard(Family::V6),
        );
        // `[::]` after `0.0.0.0`: it joins the IPv4 wildcard's group.
        let joins_v4 = family == Family::V6 && dual && self.holds(&key_as(false), &v4);
        // `0.0.0.0` after `[::]`, with no group of its own kind yet: the
        // `[::]` group is on IPv6 alone from now on, and takes it.
        let takes_v6 = family == Family::V4
            && !self.index.contains_key(&key_as(false))
            && self.holds(&key_as(true), &v6);
        if takes_v6 {
            let i = self
                .index
                .remove(&key_as(true))
                .expect("the [::] group is indexed");
            let group = self.groups[i].as_mut().expect("an indexed group is kept");
            set_dual(&mut group.first, false);
            self.index.insert(key_as(false), i);
        }
        if joins_v4 {
            set_dual(&mut value, false);
        }
        (value, takes_v6)
    }

    /// Retires group `i`, whose network or endpoint a statement replaced
    /// or removed: a later value of its kind starts a group of its own.
    /// With `removed`, its network is gone too, and its place (its name)
    /// is the next new group's.
    pub(crate) fn retire(&mut self, i: usize, removed: bool) {
        if let Some(group) = &self.groups[i]
            && self.index.get(&key(&group.first)) == Some(&i)
        {
            self.index.remove(&key(&group.first));
        }
        if removed {
            if let Some(group) = self.groups[i].take()
                && matches!(group.first, Value::Ip { .. })
            {
                self.ip_groups -= 1;
            }
            self.free.insert(i);
        }
    }

    /// Whether the group of `key` holds `wildcard`.
    fn holds(&self, key: &Value, wildcard: &Selector) -> bool {
        self.index.get(key).is_some_and(|&i| {
            let g = self.groups[i].as_ref().expect("an indexed group is kept");
            matches!(&g.first, Value::Ip { selector, .. } if selector == wildcard)
                || g.seen.contains(wildcard)
        })
    }

    /// Group `i` as its network and endpoint.
    pub(crate) fn statements(&self, i: usize) -> (Network, Endpoint) {
        let network = Groups::network_name(i);
        let group = self.groups[i]
            .as_ref()
            .expect("only a kept group has statements");
        match &group.first {
            Value::Ip {
                selector,
                protocol,
                ports,
                advertise,
                dual,
            } => {
                let mut net = Network::new(network.clone()).with_expose(Exposure::Public);
                for s in std::iter::once(selector).chain(&group.more) {
                    net = net.with_include(s.clone());
                }
                if let Some(a) = advertise {
                    net = net.with_advertise(a.clone());
                }
                if self.shared {
                    net = net.with_shared();
                }
                let mut ep = Endpoint::new(network, protocol_name(*protocol), *protocol, *ports);
                if *dual {
                    ep = ep.bound_as_std();
                }
                (net, ep)
            }
            Value::Unix { protocol, path } => (
                Network::new(network.clone()).with_include(Selector::Unix),
                Endpoint::unix(network, protocol_name(*protocol), *protocol, path.clone()),
            ),
        }
    }
}

/// A value's group: an IP value with its address left out (the same
/// placeholder in every key), a Unix value whole.
fn key(value: &Value) -> Value {
    match value {
        Value::Ip {
            protocol,
            ports,
            advertise,
            dual,
            ..
        } => Value::Ip {
            selector: Selector::Unix,
            protocol: *protocol,
            ports: *ports,
            advertise: advertise.clone(),
            dual: *dual,
        },
        Value::Unix { .. } => value.clone(),
    }
}

/// `text` with the bracketed host that holds an IPv4-mapped address
/// written as the IPv4 address `v4`.
fn unmapped(text: &str, v4: std::net::Ipv4Addr) -> String {
    match text
        .split_once('[')
        .and_then(|(head, rest)| Some((head, rest.split_once(']')?.1)))
    {
        Some((head, tail)) => format!("{head}{v4}{tail}"),
        None => v4.to_string(),
    }
}

/// Makes an IP value (or key) dual-stack or not.
fn set_dual(value: &mut Value, to: bool) {
    if let Value::Ip { dual, .. } = value {
        *dual = to;
    }
}

/// An endpoint named after its protocol: `tcp`, `http`, `unix`, ….
fn protocol_name(protocol: Protocol) -> Name {
    protocol
        .to_string()
        .parse()
        .expect("a protocol's name is a name")
}

/// Whether `name` is one a one-address value gives its network: [`NETWORK`],
/// `listen-2`, `listen-3`, … (a spec may also write one so).
pub(crate) fn is_one_address_network(name: &str) -> bool {
    name == NETWORK
        || name
            .strip_prefix(NETWORK)
            .and_then(|n| n.strip_prefix('-'))
            .is_some_and(|n| n.parse::<u32>().is_ok())
}

/// The value `input` stands for, if it is one address; `None` when it is
/// not shaped like one, so the full grammar reads it.
pub(crate) fn shorthand(input: &str) -> Option<Result<Value, SpecError>> {
    let text = input.trim_ascii();
    if text.is_empty()
        || text
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b"=;#".contains(&b))
    {
        return None;
    }
    // Caddy's `PATH|0660`: the mode is not part of the file's name, and
    // the grammar says how to write it (and that `|888` is no mode).
    if text
        .rsplit_once('|')
        .is_some_and(|(_, mode)| !mode.is_empty() && mode.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    // A number no port can be (`99999`): the port's own error. A port
    // alone is another program's form (`foreign`).
    if text.bytes().all(|b| b.is_ascii_digit())
        && let Err(kind) = text.parse::<Ports>()
    {
        return Some(Err(located(text, kind)));
    }
    // `tcp://:2375`: every address to Go and Kafka, localhost to Docker;
    // the grammar names both.
    if text.starts_with("tcp://:") {
        return None;
    }
    // `/tmp/app.sock,0.0.0.0:8000`, etcd's `unix:///tmp/a.sock,http://…`:
    // a list, each item a value, not one path with commas in it.
    if is_list(text) {
        return None;
    }
    if let Some((protocol, path)) = unix_url(text) {
        return Some(build_unix(text, protocol, &path));
    }
    if UnixPath::looks_like(text) {
        return Some(build_unix(text, Protocol::Unix, text));
    }
    // `unix:PATH` is also the URL the planner advertises, with every byte
    // a URL cannot hold percent-encoded, so it is read back decoded: a
    // path the doctor printed names the same socket here.
    if let Some((scheme, path)) = text.split_once(':')
        && let Ok(protocol @ (Protocol::Unix | Protocol::Unixgram)) = scheme.parse()
        && !path.starts_with("//")
    {
        return Some(build_unix(text, protocol, &decoded(path)?));
    }
    let (protocol, host, port) = match text.split_once("://") {
        Some(_) => from_url(text)?,
        None => from_socket_addr(text)?,
    };
    Some(ip_value(text, protocol, host, &port))
}

/// nginx's and HAProxy's own words after an address, and this grammar's
/// options, so that a stray word is not called one; HAProxy's keywords
/// that take a value (`crt`) and `advertise` too.
fn is_option_word(o: &str) -> bool {
    HAPROXY_VALUED.contains(&o)
        || o == "advertise"
        || matches!(
            o,
            "default_server"
                | "ssl"
                | "http2"
                | "http3"
                | "quic"
                | "proxy_protocol"
                | "deferred"
                | "bind"
                | "reuseport"
                | "v4v6"
                | "v6only"
                | "transparent"
                | "freebind"
                | "udp"
                | "accept-proxy"
                | "tfo"
                | "defer-accept"
                | "strict-sni"
                | "device"
        )
        || super::error::is_network_option(o)
        || o.strip_prefix("device=").is_some_and(is_ifname)
        || [
            "ipv6only=",
            "backlog=",
            "rcvbuf=",
            "sndbuf=",
            "fastopen=",
            "so_keepalive=",
            "setfib=",
            "accept_filter=",
            // This grammar's own, for a socket file.
            "mode=",
            "owner=",
            "group=",
        ]
        .iter()
        .any(|prefix| o.starts_with(prefix))
}

/// Whether `options` (after an address) are HAProxy's `bind` keywords
/// rather than nginx's `listen` parameters: one nginx has none of.
pub(crate) fn is_haproxys(options: &[String]) -> bool {
    options.iter().any(|o| {
        let word = o.split(' ').next().unwrap_or_default();
        HAPROXY_VALUED.contains(&word)
            || matches!(
                word,
                "v4v6" | "v6only" | "accept-proxy" | "transparent" | "tfo" | "defer-accept"
            )
    })
}

/// HAProxy's `bind` keywords that take a value, the next word.
const HAPROXY_VALUED: [&str; 18] = [
    "crt",
    "crt-list",
    "ca-file",
    "alpn",
    "ciphers",
    "ssl-min-ver",
    "ssl-max-ver",
    "verify",
    "name",
    "id",
    "interface",
    "user",
    "uid",
    "group",
    "gid",
    "mode",
    "maxconn",
    "backlog",
];

/// The form another program would have meant by a statement the grammar
/// cannot read, if it is one (see [`ForeignForm`]).
pub(crate) fn foreign(text: &str) -> Option<ForeignForm> {
    let text = text.trim_ascii();
    if let Some(template) = sockaddr_template(text) {
        return Some(template);
    }
    // tokio-listener's forms, in every spelling it takes.
    let lower = text.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "sd-listen" | "sd_listen" | "sd-listen-unix" | "sd_listen_unix"
    ) {
        return Some(ForeignForm::SdListen { name: None });
    }
    if let Some(name) = text
        .strip_prefix("sd-listen:")
        .or_else(|| text.strip_prefix("sd_listen:"))
    {
        return (!name.is_empty()).then(|| ForeignForm::SdListen {
            name: Some(name.to_owned()),
        });
    }
    if matches!(lower.as_str(), "inetd" | "stdio" | "-") {
        return Some(ForeignForm::Inetd);
    }
    // systemd's socket unit lines, pasted whole; those of what is no
    // socket this crate binds (`ListenNetlink=kobject-uevent 1`) may hold
    // a space.
    if let Some((directive, value)) = text.split_once('=')
        && let directive = directive.trim_ascii_end()
        && let socket = matches!(
            directive,
            "ListenStream" | "ListenDatagram" | "ListenSequentialPacket"
        )
        && (socket
            || matches!(
                directive,
                "ListenFIFO"
                    | "ListenNetlink"
                    | "ListenSpecial"
                    | "ListenMessageQueue"
                    | "ListenUSBFunction"
                    | "SocketMode"
                    | "SocketUser"
                    | "SocketGroup"
            ))
        && !value.trim_ascii().is_empty()
        && !value.trim_ascii().contains(|c: char| {
            c == '=' || (c.is_ascii_whitespace() && (socket || directive == "ListenFIFO"))
        })
    {
        return Some(ForeignForm::Systemd {
            directive: directive.to_owned(),
            value: value.trim_ascii().to_owned(),
        });
    }
    if let Some(site) = caddy_site(text) {
        return Some(site);
    }
    if let Some(address) = text.strip_prefix("vsock:") {
        return Some(ForeignForm::Vsock {
            address: address.to_owned(),
        });
    }
    if let Some((prefix, address)) = text.split_once('@')
        && matches!(
            prefix,
            "ipv4"
                | "ipv6"
                | "tcp"
                | "tcp4"
                | "tcp6"
                | "udp"
                | "udp4"
                | "udp6"
                | "quic4"
                | "quic6"
                | "unix"
                | "uxst"
                | "uxdg"
                | "abns"
                | "abnsz"
                | "fd"
                | "sockpair"
        )
        && !address.is_empty()
        && !address.contains(|c: char| c == ',' || c.is_ascii_whitespace())
    {
        return Some(ForeignForm::Haproxy {
            prefix: prefix.to_owned(),
            address: address.to_owned(),
        });
    }
    // A JSON object's member pasted whole, `"listen": ":8080"`, alone or
    // in braces as its object's one member; before the quotes, which
    // would take its first and last for a pair.
    let member = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .map_or(text, str::trim_ascii);
    if let Some((key, rest)) = member.strip_prefix('"').and_then(|m| m.split_once('"'))
        && is_config_key(key)
        && let Some(value) = rest.trim_ascii_start().strip_prefix(':')
        && let value = value.trim_ascii()
        // One JSON scalar, a string or a bare word: neither holds another
        // member to read again, as deep as the text is long.
        && unquoted(value).unwrap_or(value).bytes().all(|b| b != b'"')
        && !is_pasted_word(value)
        && is_value(value)
    {
        return Some(ForeignForm::Pasted {
            word: format!("\"{key}\":"),
            value: value.to_owned(),
        });
    }
    // Quotes a config file's syntax left in: a value without them is
    // written so; another form is told what to write as it is. One pair
    // only, so that no text of quotes recurses as deep as it is long.
    if let Some(inner) = unquoted(text) {
        if inner.starts_with(['\'', '"']) {
            return None;
        }
        return match shorthand(inner) {
            Some(_) => Some(ForeignForm::Quoted {
                inner: inner.to_owned(),
            }),
            None => foreign(inner),
        };
    }
    // A config file's array, `["127.0.0.1:8080", "[::1]:8080"]` (TOML,
    // JSON, YAML's flow form): each item quoted, which tells it from
    // IPv6's brackets.
    if let Some(items) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        let values = || items.split(',').map(|item| unquoted(item.trim_ascii()));
        let count = values().count();
        // An item holds no quote of its own: an array in an item is not
        // read again inside it.
        if values().all(|v| v.is_some_and(|v| !v.contains(['\'', '"']) && is_value(v))) {
            return Some(match values().next().flatten() {
                Some(one) if count == 1 => ForeignForm::Quoted {
                    inner: one.to_owned(),
                },
                _ => ForeignForm::List { count },
            });
        }
    }
    if text == "*" {
        return Some(ForeignForm::NoPort {
            host: text.to_owned(),
        });
    }
    if let Some(name) = text.strip_prefix("unix-abstract:")
        && !name.is_empty()
        && !name.contains(|c: char| c.is_ascii_whitespace())
    {
        return Some(ForeignForm::UnixAbstract {
            name: name.to_owned(),
        });
    }
    if let Some(form) = elasticsearch(text) {
        return Some(form);
    }
    // Docker's `fd://`, `fd:3`, Caddy's `fd/3` and `fdgram/3`, and
    // tokio-listener's `accept-from-fd:3`. Docker's `fd://NAME` and
    // Caddy's `fdname/NAME` name a socket systemd passed, as
    // FileDescriptorName= does.
    if let Some(number) = ["fd:", "fd/", "fdgram/", "accept-from-fd:"]
        .iter()
        .find_map(|prefix| text.strip_prefix(prefix))
        && (number
            .trim_start_matches("//")
            .bytes()
            .all(|b| b.is_ascii_digit())
            || number.strip_prefix("//").is_some_and(is_host_name))
    {
        return Some(ForeignForm::PassedFd);
    }
    if let Some(name) = ["fdname/", "fdgramname/"]
        .iter()
        .find_map(|prefix| text.strip_prefix(prefix))
        && is_host_name(name.split_once(':').map_or(name, |(name, _)| name))
    {
        return Some(ForeignForm::PassedFd);
    }
    if let Some(form) = redis_bind(text) {
        return Some(form);
    }
    if let Some(form) = host_and_port_flags(text) {
        return Some(form);
    }
    if let Some(form) = call(text) {
        return Some(form);
    }
    // A Dockerfile's `EXPOSE 8080` or `EXPOSE 53/udp`.
    if let Some(port) = text.strip_prefix("EXPOSE ").map(str::trim_ascii) {
        let (port, protocol) = docker_protocol(port);
        return container_port(port, protocol == Some("udp"));
    }
    // Before `pasted`, which would read `--tcp-listen-backlog=1024` as a
    // flag's port.
    if let Some(form) = tokio_listener_option(text) {
        return Some(form);
    }
    if let Some(form) = pasted(text) {
        return Some(form);
    }
    if let Some(form) = shell_export(text) {
        return Some(form);
    }
    if let Some(form) = quoted_assignment(text) {
        return Some(form);
    }
    // A YAML line pasted whole: `network.host: 0.0.0.0`, compose's
    // `target: 80`, `KAFKA_CFG_LISTENERS: PLAINTEXT://:9092,...`.
    if let Some((key, value)) = text.split_once(": ")
        && is_config_key(key)
        && key.parse::<Protocol>().is_err()
        && !is_pasted_word(value.trim_ascii())
        && is_value(value.trim_ascii())
    {
        return Some(ForeignForm::Pasted {
            word: format!("{key}:"),
            value: value.trim_ascii().to_owned(),
        });
    }
    // A YAML list's item pasted whole: compose's `- "8080:80"`, whose
    // `-` would read as standard input beside the value.
    if let Some(value) = yaml_item(text)
        && !is_pasted_word(value)
        && is_value(value)
    {
        return Some(ForeignForm::Pasted {
            word: "-".to_owned(),
            value: value.to_owned(),
        });
    }
    // A Java properties line pasted whole: Spring's `server.port=8080`,
    // Quarkus's `quarkus.http.host=0.0.0.0`. Its dotted key reads as an
    // endpoint's line, which its value is not: the key's last word names
    // a port or an address, where an endpoint's name is its service's. A
    // URL is told as an endpoint's, which says what it is to clients.
    if let Some((key, value)) = text.split_once('=')
        && is_config_key(key)
        && let Some((_, last)) = key.rsplit_once('.')
        && ["port", "addr", "host", "bind", "listen"]
            .iter()
            .any(|word| last.to_ascii_lowercase().contains(word))
        && !value.contains("://")
        && !value.contains(|c: char| c.is_ascii_whitespace())
        && !is_pasted_word(value)
        && is_value(value)
    {
        return Some(ForeignForm::Pasted {
            word: format!("{key}="),
            value: value.to_owned(),
        });
    }
    if text.contains(|c: char| c.is_ascii_whitespace()) {
        let values = || {
            text.split(|c: char| c == ',' || c.is_ascii_whitespace())
                .filter(|v| !v.is_empty())
        };
        let count = values().count();
        let each_one = values().all(is_value);
        // `/tmp/my app.sock`: after a path, a word that is no address, path
        // or option of its own (a host name without a port is a value
        // only in another program's form) is the rest of the path.
        let mut words = text.split_ascii_whitespace();
        if words.next().is_some_and(UnixPath::looks_like)
            && words.all(|w| {
                shorthand(w).is_none()
                    && !w.contains('=')
                    && tokio_listener_option(w).is_none()
                    && !is_option_word(w)
            })
        {
            return Some(ForeignForm::SpacedPath {
                suggested: text.split_ascii_whitespace().collect::<Vec<_>>().join("_"),
            });
        }
        // tokio-listener's options after the address (`[::]:8080
        // --tcp-only-v6`): the endpoint's options they stand for.
        let mut words = text.split_ascii_whitespace();
        if let Some(address) = words.next().filter(|a| shorthand(a).is_some())
            && let Some(options) = words
                .map(|w| match tokio_listener_option(w) {
                    Some(ForeignForm::TokioListener { option, .. }) => Some(option),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
            && !options.is_empty()
        {
            let mut options: Vec<String> = options.into_iter().flatten().collect();
            // tokio-listener binds `[::]` as std does, both families (on
            // Linux) unless `--tcp-only-v6`: not nginx's IPv6 alone.
            if address.starts_with("[::]:") && !options.iter().any(|o| o == "v6only") {
                options.push("v6only=false".to_owned());
            }
            return Some(ForeignForm::WithOptions {
                address: address.to_owned(),
                options,
            });
        }
        if count > 1 && each_one {
            return Some(if text.contains(',') {
                ForeignForm::List { count }
            } else {
                ForeignForm::Spaced { count }
            });
        }
        // nginx's `listen 443 ssl`, HAProxy's `bind :80 v4v6`: option words
        // after an address.
        let mut words = text.split_ascii_whitespace();
        let address = words.next()?;
        let mut options = Vec::new();
        while let Some(word) = words.next() {
            // HAProxy's keywords that take the next word as their value
            // (`crt /etc/haproxy/site.pem`, `interface eth0`): one option.
            // And this grammar's `advertise URL`.
            if HAPROXY_VALUED.contains(&word) || word == "advertise" {
                options.push(format!("{word} {}", words.next()?));
            } else {
                options.push(word.to_owned());
            }
        }
        let option_like = |o: &String| is_option_word(o) || o.contains(' ');
        let is_address = is_value(address);
        return (is_address && !options.is_empty() && options.iter().all(option_like)).then(|| {
            ForeignForm::WithOptions {
                address: address.to_owned(),
                options,
            }
        });
    }
    if text.contains(',') {
        // A comma a list left before or after the one value (`:8080,`).
        let values = || list_items(text);
        let count = values().count();
        if count == 0 || !values().all(is_value) {
            return None;
        }
        return Some(match values().next() {
            Some(value) if count == 1 => ForeignForm::StrayComma {
                value: value.to_owned(),
            },
            _ => ForeignForm::List { count },
        });
    }
    if let Some((path, mode)) = text.rsplit_once('|') {
        // `unix:///run/app.sock|0660`: the URL's path.
        let path = match unix_url(path) {
            Some((_, path)) => path,
            // A URL with a query or a fragment is none of Caddy's.
            None if path.contains("://") => return None,
            None => path
                .strip_prefix("unix/")
                .or_else(|| path.strip_prefix("unix:"))
                .unwrap_or(path)
                .to_owned(),
        };
        let digits = !mode.is_empty() && mode.bytes().all(|b| b.is_ascii_digit());
        return (digits && UnixPath::looks_like(&path)).then(|| ForeignForm::UnixSpelling {
            path,
            mode: Some(mode.to_owned()),
        });
    }
    if let Some(path) = text.strip_prefix("unix/")
        && UnixPath::looks_like(path)
    {
        return Some(ForeignForm::UnixSpelling {
            path: path.to_owned(),
            mode: None,
        });
    }
    if let Some((network, path)) = text.split_once('/')
        && matches!(network, "unixgram" | "unix+h2c" | "unixpacket")
        && UnixPath::looks_like(path)
    {
        return Some(ForeignForm::CaddyUnix {
            network: network.to_owned(),
            path: path.to_owned(),
        });
    }
    // Caddy's `bind` takes a host alone too (`tcp6/[::1]`, `tcp4/0.0.0.0`).
    if let Some((network, address)) = text.split_once('/')
        && matches!(network, "tcp" | "tcp4" | "tcp6" | "udp" | "udp4" | "udp6")
        && (address.contains(':')
            || address.parse::<std::net::Ipv4Addr>().is_ok()
            || is_host_name(address))
    {
        return Some(ForeignForm::Caddy {
            network: network.to_owned(),
            address: address.to_owned(),
        });
    }
    if let Some(form) = network_prefix(text) {
        return Some(form);
    }
    if let Some((scheme, rest)) = text.split_once("://") {
        return foreign_url(scheme, rest);
    }
    // Traefik's `:80/udp`: the protocol after the address.
    if let (address, Some(protocol)) = docker_protocol(text)
        && matches!(shorthand(address), Some(Ok(Value::Ip { .. })))
    {
        return Some(ForeignForm::ProtocolAfter {
            address: address.to_owned(),
            protocol: protocol.to_owned(),
        });
    }
    // `127.0.0.1:8080/`, `example.com:80/api`: an address and a URL's path.
    if let Some((address, _)) = text.split_once('/')
        && matches!(shorthand(address), Some(Ok(Value::Ip { .. })))
    {
        return Some(ForeignForm::UrlPath {
            address: address.to_owned(),
        });
    }
    if let Some((protocol, port)) = text.split_once(':')
        && matches!(protocol, "tcp" | "udp" | "http" | "https")
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit() || b == b'-')
    {
        return Some(ForeignForm::EndpointOnly {
            protocol: protocol.to_owned(),
            port: port.to_owned(),
        });
    }
    // A range the endpoint line takes as it is written: FIRST below LAST.
    let is_range = |p: &str| {
        p.split_once('-').is_some_and(
            |(a, b)| matches!((a.parse::<u16>(), b.parse::<u16>()), (Ok(a), Ok(b)) if a < b),
        )
    };
    // `8080-8080`, a range of one port as a port-range field writes it.
    let is_one_port_range = |p: &str| {
        p.split_once('-')
            .is_some_and(|(a, b)| a == b && a != "0" && is_port(a))
    };
    // Docker's `-p [HOST_IP:]PUBLISHED:PORT[/PROTOCOL]`, the host's
    // address IPv4 or IPv6 in brackets.
    let (mapping, protocol) = docker_protocol(text);
    let udp = protocol == Some("udp");
    let (published_on, ports) = match mapping.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once("]:") {
            Some((ip, ports)) if ip.parse::<std::net::Ipv6Addr>().is_ok() => {
                (Some(format!("[{ip}]")), ports)
            }
            _ => (None, ""),
        },
        None => match mapping.split_once(':') {
            Some((ip, ports)) if ip.parse::<std::net::Ipv4Addr>().is_ok() => {
                (Some(ip.to_owned()), ports)
            }
            _ => (None, mapping),
        },
    };
    // `127.0.0.1::80`: no published port, one Docker picks.
    if let Some((published, port)) = ports.split_once(':')
        && ((is_port(published) && published != "0" && is_port(port))
            || (published.is_empty() && published_on.is_some() && is_port(port) && port != "0")
            || (is_range(published) && (is_range(port) || is_port(port))))
    {
        return Some(ForeignForm::PortMapping {
            port: port.to_owned(),
            published_on,
            udp,
        });
    }
    // Docker's `EXPOSE 80/tcp`, or `-p 80/udp` (a host port Docker picks).
    if protocol.is_some()
        && let Some(form) = container_port(mapping, udp)
    {
        return Some(form);
    }
    if let Some(form) = selector_port(text) {
        return Some(form);
    }
    if is_port(text) {
        return Some(ForeignForm::PortOnly {
            port: text.to_owned(),
        });
    }
    if let Some(port) = text.strip_prefix("*:")
        && is_port(port)
    {
        return Some(ForeignForm::Star {
            port: port.to_owned(),
        });
    }
    if let Some((host, ports)) = text.rsplit_once(':').or(Some(("", text)))
        && (is_range(ports) || is_one_port_range(ports))
        && (host.is_empty() || host == "*" || is_ip_host(host) || is_host_name(host))
    {
        return Some(ForeignForm::PortRange {
            host: host.to_owned(),
            ports: ports.to_owned(),
        });
    }
    // `127.0.0.1%lo:8080`: Go ignores an IPv4 address's zone.
    if let Some((addr, rest)) = text.split_once('%')
        && addr.parse::<std::net::Ipv4Addr>().is_ok()
    {
        let (zone, port) = match rest.split_once(':') {
            Some((zone, port)) => (zone, Some(port)),
            None => (rest, None),
        };
        if port.is_none_or(is_port) {
            return Some(ForeignForm::ZonedIpv4 {
                addr: addr.to_owned(),
                zone: zone.to_owned(),
                port: port.map(str::to_owned),
            });
        }
    }
    // systemd's `[fe80::1]:80%eth0` and `0.0.0.0:80%eth0`: the scope after
    // the port, which only a link-local address takes.
    if let Some((addr, rest)) = (text.strip_prefix('[').and_then(|t| t.split_once("]:")))
        .filter(|(addr, _)| addr.parse::<std::net::Ipv6Addr>().is_ok())
        .or_else(|| {
            text.split_once(':')
                .filter(|(addr, _)| *addr == "*" || addr.parse::<std::net::Ipv4Addr>().is_ok())
        })
        && let Some((port, zone)) = rest.split_once('%')
        && is_port(port)
        && !zone.is_empty()
        && zone.len() <= 15
        && zone
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Some(ForeignForm::ScopeAfterPort {
            // nginx's and ZeroMQ's `*`, every IPv4 address.
            addr: if addr == "*" { "0.0.0.0" } else { addr }.to_owned(),
            port: port.to_owned(),
            zone: zone.to_owned(),
        });
    }
    let without_zone = |a: &str| a.split_once('%').map_or(a, |(a, _)| a).to_owned();
    // `[::1]`: nginx's `listen [::1]`, an address without its port.
    if let Some(addr) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']'))
        && without_zone(addr).parse::<std::net::Ipv6Addr>().is_ok()
    {
        return Some(ForeignForm::NoPort {
            host: addr.to_owned(),
        });
    }
    // `www.example.com`: a name of dots, as a host without its port (a
    // word alone may be a network's name, so only dotted ones).
    if text == "localhost"
        || is_dotted_name(text)
        || without_zone(text).parse::<std::net::IpAddr>().is_ok()
    {
        if let Some((addr, port)) = text.rsplit_once(':')
            && without_zone(addr).parse::<std::net::Ipv6Addr>().is_ok()
            && port.len() > 1
            && port.bytes().all(|b| b.is_ascii_digit())
        {
            return Some(ForeignForm::UnbracketedIpv6 {
                addr: addr.to_owned(),
                port: port.to_owned(),
            });
        }
        return Some(ForeignForm::NoPort {
            host: text.to_owned(),
        });
    }
    if let Some((addr, port)) = text.rsplit_once(':')
        && addr.contains(':')
        && without_zone(addr).parse::<std::net::Ipv6Addr>().is_ok()
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
    {
        return Some(ForeignForm::UnbracketedIpv6 {
            addr: addr.to_owned(),
            port: port.to_owned(),
        });
    }
    let (host, service) = text.rsplit_once(':')?;
    // Go's `:http` is every address, its port looked up by name.
    let host_ok = host.is_empty()
        || host.parse::<std::net::Ipv4Addr>().is_ok()
        || (host.starts_with('[') && host.ends_with(']'))
        || (is_host_name(host) && !is_network_word(host) && AddrClass::from_name(host).is_none());
    // Go's `127.0.0.1:` and `:`: an empty port is port 0 to it.
    if host_ok
        && service.is_empty()
        && !matches!(host, "tcp" | "udp" | "http" | "https" | "unix" | "unixgram")
    {
        return Some(ForeignForm::EmptyPort {
            host: host.to_owned(),
        });
    }
    (host_ok && !service.is_empty() && service.bytes().all(|b| b.is_ascii_alphabetic())).then(
        || ForeignForm::NamedPort {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            service: service.to_owned(),
        },
    )
}

/// A Caddyfile's site block opened on one address: `:8080 {`,
/// `localhost:8080 {`, `https://example.com {`, `[::1]:443 {`.
fn caddy_site(text: &str) -> Option<ForeignForm> {
    let site = text.strip_suffix('{')?.trim_ascii_end();
    let (scheme, address) = match site.split_once("://") {
        Some(("http", address)) => (Some("http"), address),
        Some(("https", address)) => (Some("https"), address),
        Some(_) => return None,
        None => (None, site),
    };
    // `[::1]` alone has no port: its last `:` is inside the brackets.
    let (host, port) = match address.rsplit_once(':') {
        Some((host, port)) if !host.starts_with('[') || host.ends_with(']') => (host, Some(port)),
        _ => (address, None),
    };
    // A word alone is a site only as `localhost`: nginx's `server {` and
    // `http {` open blocks too.
    let host_ok = match host {
        "" => port.is_some(),
        "localhost" => true,
        _ if is_ip_host(host) => true,
        host if scheme.is_some() || port.is_some() => is_host_name(host),
        host => is_dotted_name(host),
    };
    if !host_ok || port.is_some_and(|p| !is_port(p)) {
        return None;
    }
    // Caddy serves a site HTTPS unless its scheme or port is HTTP's.
    let scheme = scheme.unwrap_or(if port == Some("80") { "http" } else { "https" });
    let port = port.unwrap_or(if scheme == "http" { "80" } else { "443" });
    Some(ForeignForm::CaddySite {
        host: (!host.is_empty()).then(|| host.to_owned()),
        port: port.to_owned(),
        scheme,
    })
}

/// Docker's `PORT/tcp` or `PORT/udp` with its protocol split off; any
/// other text as it is, with none.
fn docker_protocol(text: &str) -> (&str, Option<&str>) {
    match text.rsplit_once('/') {
        Some((port, protocol @ ("tcp" | "udp"))) => (port, Some(protocol)),
        _ => (text, None),
    }
}

/// A container's port, as Docker's `EXPOSE` and `-p` write it (never 0).
fn container_port(port: &str, udp: bool) -> Option<ForeignForm> {
    (is_port(port) && port != "0").then(|| ForeignForm::ContainerPort {
        port: port.to_owned(),
        udp,
    })
}

/// The items of a list joined by commas, empty ones left out.
fn list_items(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').filter(|v| !v.is_empty())
}

/// Whether `text` is values joined by commas (`/run/a.sock,127.0.0.1:80`,
/// `@a,@b`): each one a value, and one after the first plainly an address
/// of its own, an IP address with its port, a URL or a path from `/` or
/// `@`. A path's comma before anything else (`/run/a,b.sock`,
/// `/run/app,v2`, `/run/a,8080`, `/run/a,`) is the path's.
fn is_list(text: &str) -> bool {
    let plainly_an_address = |item: &str| {
        UnixPath::looks_like(item)
            || item.contains("://")
            || matches!(shorthand(item), Some(Ok(Value::Ip { .. })))
    };
    text.contains(',')
        && list_items(text).skip(1).any(plainly_an_address)
        && list_items(text).all(is_value)
}

/// The value of a YAML list's item, `- VALUE`, and of an item of a list in
/// a list, `- - VALUE`, however deep.
fn yaml_item(text: &str) -> Option<&str> {
    let mut value = text.strip_prefix("- ")?;
    while let Some(inner) = value.trim_ascii_start().strip_prefix("- ") {
        value = inner;
    }
    Some(value.trim_ascii())
}

/// A config file's key, as YAML and TOML lines write it:
/// `network.host`, `listen_address`, `http-port`.
fn is_config_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// An address as a host before `:PORT` is written: IPv4, or IPv6 in
/// brackets.
pub(crate) fn is_ip_host(host: &str) -> bool {
    host.parse::<std::net::Ipv4Addr>().is_ok()
        || host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok())
}

/// Redis's `bind 127.0.0.1 -::1`: addresses without a port (Redis's
/// `port` sets it), each maybe `-` (skipped where the host lacks it), `*`
/// every IPv4 address, `::*` every IPv6 one; or Caddy's `bind 127.0.0.1
/// [::1]`, whose port is the site's, and its `default_bind`, every site's.
fn redis_bind(text: &str) -> Option<ForeignForm> {
    let (directive, rest) = text.split_once(|c: char| c.is_ascii_whitespace())?;
    if !matches!(directive, "bind" | "default_bind") {
        return None;
    }
    let words: Vec<&str> = rest.split_ascii_whitespace().collect();
    // Redis's marks are none of Caddy's.
    let redis = directive == "bind";
    let address = |w: &str| {
        let w = w.strip_prefix('-').filter(|_| redis).unwrap_or(w);
        (redis && matches!(w, "*" | "::*"))
            || w.parse::<std::net::IpAddr>().is_ok()
            || is_ip_host(w)
    };
    (!words.is_empty() && words.iter().all(|w| address(w))).then(|| ForeignForm::Redis {
        directive: directive.to_owned(),
        addresses: words.iter().map(|w| (*w).to_owned()).collect(),
    })
}

/// A command line that gives the address and the port in two flags, as
/// uvicorn's and Flask's `--host 0.0.0.0 --port 8000` and Jupyter's
/// `--ip`, `--flag=value` or `--flag value`, whatever else it holds; or an
/// environment that gives them in two variables (`HOST=0.0.0.0 PORT=3000`). A
/// flag given twice counts as its parser counts it, the last one; a
/// command that listens on a Unix socket or a passed descriptor instead
/// (uvicorn's `--uds`, `--fd`) is not read.
fn host_and_port_flags(text: &str) -> Option<ForeignForm> {
    let words: Vec<&str> = text
        .split_ascii_whitespace()
        .flat_map(|w| {
            let flag = match w.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => Some((flag, value)),
                Some((key, value)) => variable_flag(key).map(|flag| (flag, value)),
                None => None,
            };
            match flag {
                Some((flag, value)) => [flag, value].into_iter().take(2),
                None => [w, ""].into_iter().take(1),
            }
        })
        .collect();
    if words.iter().any(|w| matches!(*w, "--uds" | "--fd")) {
        return None;
    }
    let after = |flags: &[&str]| {
        let at = words.iter().rposition(|w| flags.contains(w))?;
        words.get(at + 1).copied()
    };
    // Redis's `--bind`, memcached's `-l` and `-p`.
    let host = after(&["--host", "--ip", "--bind", "-l"])?;
    let port = after(&["--port", "-p"])?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    // An address, or a name no selector or protocol here spells
    // (`--host unix` would read as a Unix endpoint).
    let is_host = match bare.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(ip)) => ip.to_ipv4_mapped().is_none(),
        Ok(_) => true,
        Err(_) => bare == "localhost" || is_dotted_name(bare),
    };
    (is_host && is_port(port)).then(|| ForeignForm::HostAndPort {
        host: bare.to_owned(),
        port: port.to_owned(),
    })
}

/// The flag an environment variable stands for: `HOST=0.0.0.0
/// PORT=3000` is Node's and many a platform's `--host` and `--port`, and
/// `FLASK_RUN_HOST` Flask's.
fn variable_flag(key: &str) -> Option<&'static str> {
    if !key
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    if matches!(key, "HOST" | "HOSTNAME") || key.ends_with("_HOST") {
        Some("--host")
    } else if key == "PORT" || key.ends_with("_PORT") {
        Some("--port")
    } else {
        None
    }
}

/// A directive or a command-line flag pasted with its value: nginx's
/// `listen 80`, Apache's `Listen 80`, HAProxy's `bind :443 ssl`, gunicorn's `--bind
/// 0.0.0.0:8000` (`-b`), Docker's `-p 8080:80` and `-H tcp://:2375`. The
/// value is one this module recognises, or none is.
fn pasted(text: &str) -> Option<ForeignForm> {
    let (word, value) = match text.split_once(|c: char| c.is_ascii_whitespace()) {
        Some((word, value)) => (word, value),
        None => text
            .split_once('=')
            .filter(|(flag, _)| flag.starts_with('-'))?,
    };
    let word = word.strip_suffix('=').unwrap_or(word);
    if !is_directive_or_flag(word) {
        return None;
    }
    // uvicorn's and hypercorn's `--fd 3`: a socket passed by its number.
    if word == "--fd" && value.trim_ascii().bytes().all(|b| b.is_ascii_digit()) {
        return Some(ForeignForm::PassedFd);
    }
    // nginx ends a directive with `;`, which here ended the statement.
    let value = value.trim_ascii().trim_end_matches(';').trim_ascii();
    // A value is read once: one pasted in a pasted one (`-p -p -p 80`)
    // would be read again as deep as the line repeats it.
    if is_pasted_word(value) {
        return None;
    }
    // Redis's and sshd's `port 6379`, Caddy's `http_port 8080`: a port,
    // nothing else.
    if matches!(word, "port" | "Port" | "http_port" | "https_port") && !is_port(value) {
        return None;
    }
    let directive = matches!(word, "listen" | "bind");
    let one = !value.contains(|c: char| c.is_ascii_whitespace());
    // Apache's `Listen 8443 https`: the protocol it speaks there.
    if word == "Listen" {
        let address = apache_listen(value)?.0;
        return (is_port(address) || matches!(shorthand(address), Some(Ok(_)))).then(|| {
            ForeignForm::Pasted {
                word: word.to_owned(),
                value: value.to_owned(),
            }
        });
    }
    let known = match foreign(value) {
        Some(ForeignForm::WithOptions { .. }) => directive,
        Some(_) => one,
        None => one && matches!(shorthand(value), Some(Ok(_))),
    };
    known.then(|| ForeignForm::Pasted {
        word: word.to_owned(),
        value: value.to_owned(),
    })
}

/// Whether a flag's, key's or variable's name says its value is what
/// clients are told, not what the server binds: etcd's
/// `--advertise-client-urls`, Kafka's `advertised.listeners`, Consul's
/// `advertise_addr`, RavenDB's `PublicServerUrl`.
pub(crate) fn is_advertise_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("advertise") || key.contains("publicserverurl")
}

/// `text` without the one pair of quotes, single or double, around it.
pub(crate) fn unquoted(text: &str) -> Option<&str> {
    ['\'', '"']
        .iter()
        .find_map(|&q| text.strip_prefix(q)?.strip_suffix(q))
}

/// A config file's `listen = "127.0.0.1:8080"` (TOML, INI) pasted whole:
/// a one-address value in quotes, which no selector is, or an array of
/// them.
fn quoted_assignment(text: &str) -> Option<ForeignForm> {
    let (key, value) = text.split_once('=')?;
    let (key, value) = (key.trim_ascii(), value.trim_ascii());
    if !is_config_key(key) {
        return None;
    }
    // `listen = ["…", "…"]`, an array of them, too.
    let one = match unquoted(value) {
        Some(inner) => matches!(shorthand(inner), Some(Ok(_))),
        None => {
            value.starts_with('[')
                && matches!(
                    foreign(value),
                    Some(ForeignForm::List { .. } | ForeignForm::Quoted { .. })
                )
        }
    };
    one.then(|| ForeignForm::Pasted {
        word: format!("{key} ="),
        value: value.to_owned(),
    })
}

/// One of tokio-listener's options, as its command line writes it
/// (`--tcp-reuse-port`, `--unix-listen-chmod=group`) or its serde form
/// does (`unix_listen_chmod = "group"`), with this grammar's endpoint
/// option where it has one.
fn tokio_listener_option(text: &str) -> Option<ForeignForm> {
    let flag = text.strip_prefix("--").is_some();
    let text = text.trim_start_matches('-');
    let (name, value) = match text.split_once(['=', ' ']) {
        Some((name, value)) => (name.trim_ascii(), Some(value.trim_ascii())),
        None => (text, None),
    };
    let value = value.map(|v| {
        let v = v.trim_start_matches(['=', ' ']);
        unquoted(v).unwrap_or(v)
    });
    let name = name.replace('_', "-");
    // Its serde form spells a switch `= true`; `= false` is its default.
    let on = match value {
        None => flag,
        Some(v) => v == "true",
    };
    let number = value.filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
    let option = match (name.as_str(), value) {
        ("tcp-reuse-port", _) if on => Some("reuseport".to_owned()),
        ("tcp-only-v6", _) if on => Some("v6only".to_owned()),
        ("unix-listen-unlink", _) if on => None,
        ("sd-accept-ignore-environment", _) if on => None,
        ("tcp-listen-backlog", _) => Some(format!("backlog={}", number?)),
        ("unix-listen-uid", _) => Some(format!("owner={}", number?)),
        ("unix-listen-gid", _) => Some(format!("group={}", number?)),
        ("unix-listen-chmod", Some(variant)) => Some(match variant.to_ascii_lowercase().as_str() {
            "owner" => "mode=600".to_owned(),
            "group" => "mode=660".to_owned(),
            "everybody" => "mode=666".to_owned(),
            // A mode where tokio-listener takes a word: the mode meant.
            mode if (3..=4).contains(&mode.len())
                && mode.bytes().all(|b| (b'0'..=b'7').contains(&b)) =>
            {
                format!("mode={mode}")
            }
            _ => return None,
        }),
        ("tcp-keepalive", _) => None,
        ("recv-buffer-size" | "send-buffer-size", _) if number.is_some() => None,
        _ => return None,
    };
    Some(ForeignForm::TokioListener {
        flag: format!("--{name}"),
        option,
    })
}

/// A function call pasted from code, with the address it listens on:
/// Go's `net.Listen("tcp4", ":8080")` and `http.ListenAndServe(":8080",
/// nil)`, Rust's `TcpListener::bind("127.0.0.1:8080").await?`, Node's
/// `app.listen(3000, "127.0.0.1")`, Python's `app.run(host="0.0.0.0",
/// port=5000)` and `sock.bind(("0.0.0.0", 8080))`.
fn call(text: &str) -> Option<ForeignForm> {
    // A chain (`HttpServer::new(|| …).bind(("127.0.0.1", 8080))?`): its
    // last call is the one that binds.
    if let Some(at) = text.rfind(").")
        && let Some(last) = call(&text[at + 2..])
    {
        return Some(last);
    }
    let (callee, rest) = text.split_once('(')?;
    let callee = callee.trim_ascii();
    if callee.is_empty()
        || !callee
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'_'))
    {
        return None;
    }
    // What follows the call: `.await?`, `.unwrap()`, `;`.
    let close = rest.rfind(')')?;
    let tail = rest[close + 1..].trim_ascii();
    if !(tail.is_empty() || tail.starts_with(['.', '?', ';'])) {
        return None;
    }
    // Python's keywords (`port=5000`) and tuples (`(("0.0.0.0", 8080))`),
    // and JavaScript's option objects (`listen({ port: 3000, host })`).
    let args: Vec<(Option<&str>, &str)> = rest[..close]
        .split(',')
        .map(|arg| {
            let arg = arg.trim_matches(|c: char| c.is_ascii_whitespace() || "(){}".contains(c));
            let keyed = arg
                .split_once('=')
                .or_else(|| arg.split_once(':').filter(|(_, v)| !v.starts_with(':')));
            match keyed {
                Some((key, value))
                    if !key.trim_ascii().is_empty()
                        && key
                            .trim_ascii()
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
                {
                    (Some(key.trim_ascii()), value.trim_ascii())
                }
                _ => (None, arg),
            }
        })
        .collect();
    // A callback is the last argument, and its body no argument of the
    // call (`listen(8080, HOST, () => log("0.0.0.0"))`).
    let args: Vec<(Option<&str>, &str)> = args
        .into_iter()
        .take_while(|&(_, arg)| !(arg.contains("=>") || arg.starts_with("function")))
        .collect();
    // With keywords, only `host` and `port` say where (`debug=True`, the
    // app before them, say nothing of it), but for a host in a variable:
    // JavaScript's `{ port, host }` or `{ ...options }`.
    let keywords = args.iter().any(|(key, _)| key.is_some());
    let host_unknown = args.iter().any(|&(key, arg)| {
        key.is_none() && (matches!(arg, "host" | "hostname" | "address") || arg.starts_with("..."))
    });
    // Node's `ipv6Only: true`: `::` is IPv6 alone.
    let v6_only = args
        .iter()
        .any(|&(key, value)| key == Some("ipv6Only") && value == "true");
    let args: Vec<&str> = args
        .iter()
        .filter(|&&(key, arg)| match key {
            Some(key) => matches!(key, "host" | "hostname" | "port"),
            // Flask's `app.run('0.0.0.0', port=5000)`: a literal before
            // the keywords is the host.
            None => !keywords || unquoted(arg).is_some() || is_port(arg),
        })
        .map(|&(_, arg)| arg)
        .collect();
    let mut strings = Vec::new();
    let mut ports = Vec::new();
    let mut unknown = host_unknown;
    for arg in &args {
        if let Some(host) = host_constant(arg) {
            strings.push(host);
        } else if let Some(string) = unquoted(arg) {
            // Python's `''` host: every IPv4 address (an AF_INET socket).
            strings.push(if string.is_empty() { "0.0.0.0" } else { string });
        } else if is_port(arg) {
            ports.push(*arg);
        } else {
            // A variable, an expression (or a handler, a callback): where
            // no string names the host, it may, and a guess could be
            // wider than it.
            unknown |= !arg.is_empty();
        }
    }
    // One number, the port; of more, which is unclear.
    let port = match ports.as_slice() {
        [] => None,
        [port] => Some(*port),
        _ => return None,
    };
    let value = match (strings.as_slice(), port) {
        // Go's network first: `tcp4` and `tcp6` keep their family, as
        // `tcp4:…` in one value does; `tcp` and `unix` add nothing.
        ([network, address], None)
            if matches!(*network, "tcp4" | "tcp6" | "udp" | "udp4" | "udp6") =>
        {
            format!("{network}:{address}")
        }
        ([_, address], None) | ([address], None) => (*address).to_owned(),
        ([], Some(port)) if unknown => {
            return Some(ForeignForm::CallHost {
                call: format!("{callee}("),
                port: port.to_owned(),
            });
        }
        ([] | ["::"], Some(port)) if v6_only => format!("tcp6:[::]:{port}"),
        // Kestrel's own: both loopback addresses.
        ([], Some(port)) if callee.ends_with("ListenLocalhost") => format!("localhost:{port}"),
        // Flask's and uvicorn's `run` listen on loopback unless told a
        // host; Node's `listen(port)` on every address.
        ([], Some(port)) if callee.ends_with("run") => format!("127.0.0.1:{port}"),
        // Deno's and Bun's `serve` and `listen` on every IPv4 address.
        ([], Some(port))
            if callee.ends_with("serve")
                || callee.starts_with("Deno.")
                || callee.starts_with("Bun.") =>
        {
            format!("0.0.0.0:{port}")
        }
        ([], Some(port)) => format!(":{port}"),
        // asyncio's servers (uvicorn's, aiohttp's, its own) set
        // IPV6_V6ONLY.
        (["::"], Some(port))
            if ["run", "run_app", "start_server", "create_server"]
                .iter()
                .any(|f| callee.ends_with(f)) =>
        {
            format!("tcp6:[::]:{port}")
        }
        ([host], Some(port)) if is_ip_host(host) || !host.contains(':') => {
            format!("{host}:{port}")
        }
        ([host], Some(port)) => format!("[{host}]:{port}"),
        _ => return None,
    };
    // A value is read once: `f("f(…)")` is no call in a call.
    (!value.starts_with(['\'', '"']) && !value.contains('(') && is_value(&value)).then(|| {
        ForeignForm::Pasted {
            word: format!("{callee}("),
            value,
        }
    })
}

/// A config file's or an environment's key for a server's address
/// (MySQL's `bind-address`, PostgreSQL's `listen_addresses`, Grafana's
/// `http_addr`, `HOST`, `SERVER_ADDRESS`): as a network's name without an
/// endpoint, a line pasted from there.
pub(crate) fn is_address_key(name: &str) -> bool {
    let key = name.to_ascii_lowercase().replace('-', "_");
    matches!(
        key.as_str(),
        "host" | "hostname" | "bind" | "address" | "addr" | "bindip" | "bind_ip"
    ) || ["_host", "_addr", "_address", "_addresses", "_bind"]
        .iter()
        .any(|end| key.ends_with(end))
}

/// The address a language's constant names (`Ipv4Addr::LOCALHOST`,
/// `IPAddress.Loopback`), as text.
fn host_constant(arg: &str) -> Option<&'static str> {
    let name = arg.rsplit_once(['.', ':']).map_or(arg, |(_, name)| name);
    let v6 = arg.contains("Ipv6Addr") || arg.contains("IPv6");
    Some(match name {
        "LOCALHOST" | "Loopback" | "IPv6Loopback" if v6 => "::1",
        "LOCALHOST" | "Loopback" => "127.0.0.1",
        "UNSPECIFIED" | "Any" | "IPv6Any" if v6 => "::",
        "UNSPECIFIED" | "Any" => "0.0.0.0",
        _ => return None,
    })
}

/// A shell's `export LISTEN=:80`, from a script or an environment file,
/// whose value is one this grammar or another program's form reads.
fn shell_export(text: &str) -> Option<ForeignForm> {
    let (name, value) = text
        .strip_prefix("export ")?
        .trim_ascii_start()
        .split_once('=')?;
    let first = name.bytes().next()?;
    let variable = (first.is_ascii_alphabetic() || first == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    // A value is read once, as in `pasted`: `export A="export A=…"` is no
    // export of an export, read again as deep as it nests.
    (variable && !value.contains("export ") && is_value(value)).then(|| ForeignForm::Pasted {
        word: format!("export {name}="),
        value: value.to_owned(),
    })
}

/// Apache's `Listen [IP:]PORT [PROTOCOL]` as its address and protocol.
pub(crate) fn apache_listen(value: &str) -> Option<(&str, Option<&str>)> {
    let mut words = value.split_ascii_whitespace();
    let address = words.next()?;
    let protocol = words.next();
    words.next().is_none().then_some((address, protocol))
}

/// Whether `text` starts with a directive or flag [`pasted`] reads, a
/// YAML key, or a systemd directive: a value that does is no address.
fn is_pasted_word(text: &str) -> bool {
    // `bind "bind "…`: a quote before the word hides it no better.
    let text = text.trim_start_matches(['"', '\'']);
    let word = text
        .split(|c: char| c.is_ascii_whitespace() || c == '=')
        .next()
        .unwrap_or_default();
    is_directive_or_flag(word)
        || text.starts_with("- ")
        || word.starts_with("Listen")
        || (word.ends_with(':') && text[word.len()..].starts_with(' '))
}

/// The directives and flags [`pasted`] reads a value after: these, and
/// any long flag (Prometheus's `--web.listen-address=:9090`).
fn is_directive_or_flag(word: &str) -> bool {
    let flag_name = |flag: &str| {
        !flag.is_empty()
            && flag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    let long_flag = word.strip_prefix("--").is_some_and(flag_name);
    // Go's flag package takes one dash too (Consul's `-client=0.0.0.0`,
    // `-http-addr :8500`): such a flag naming an address or a port.
    let go_flag = word
        .strip_prefix('-')
        .filter(|flag| flag.len() > 1 && !flag.starts_with('-') && flag_name(flag))
        .is_some_and(|flag| {
            ["addr", "bind", "listen", "host", "port", "client", "url"]
                .iter()
                .any(|w| flag.to_ascii_lowercase().contains(w))
        });
    long_flag
        || go_flag
        || matches!(
            word,
            "listen"
                | "bind"
                | "Listen"
                | "ListenAddress"
                | "port"
                | "Port"
                | "http_port"
                | "https_port"
                | "admin"
                | "-b"
                | "-p"
                | "-H"
        )
}

/// Whether `text` is one value a user could mean as a listen address: one
/// the shorthand reads, or another program's form.
fn is_value(text: &str) -> bool {
    shorthand(text).is_some() || foreign(text).is_some()
}

/// A go-sockaddr template anywhere in `text` (`{{ GetPrivateIP }}`, maybe
/// after `NAME =`), with the selectors of the common one-call templates.
fn sockaddr_template(text: &str) -> Option<ForeignForm> {
    let start = text.find("{{")?;
    let end = text[start..].find("}}")? + start;
    let words: Vec<&str> = text[start + 2..end]
        .split(|c: char| c.is_ascii_whitespace() || c == '"')
        .filter(|w| !w.is_empty())
        .collect();
    let selectors = match words.as_slice() {
        ["GetPrivateIP" | "GetPrivateIPs"] => Some("private, ipv4".to_owned()),
        ["GetPublicIP" | "GetPublicIPs"] => Some("global, ipv4".to_owned()),
        ["GetInterfaceIP", name] if is_ifname(name) => Some(format!("if:{name}, ipv4")),
        ["GetInterfaceIPs", name] if is_ifname(name) => Some(format!("if:{name}")),
        ["GetAllInterfaces"] => Some("if:*".to_owned()),
        _ => None,
    };
    // Consul's `client_addr = "127.0.0.1 {{ GetPrivateIP }}"`: the
    // addresses written beside the template are selected too, those a
    // selector may name; an IPv6 one beside a template of IPv4 alone goes
    // in a network of its own, where the template's `ipv4` cannot drop it.
    let v4_only = selectors.as_deref().is_some_and(|s| s.ends_with("ipv4"));
    let mut literals = Vec::new();
    let mut apart = Vec::new();
    let beside = (text[..start].split_ascii_whitespace())
        .chain(text[end + 2..].split_ascii_whitespace())
        .map(|w| w.trim_matches(['"', '\'', ',']));
    for word in beside {
        match word.parse::<std::net::IpAddr>() {
            Ok(ip) if ip.is_unspecified() || ip.is_multicast() => {}
            Ok(std::net::IpAddr::V6(ip)) if ip.to_ipv4_mapped().is_some() => {}
            Ok(std::net::IpAddr::V6(_)) if v4_only => apart.push(word.to_owned()),
            Ok(_) => literals.push(word),
            Err(_) => {}
        }
    }
    let selectors = selectors.map(|s| match literals.as_slice() {
        [] => s,
        _ => format!("{}, {s}", literals.join(", ")),
    });
    Some(ForeignForm::SockaddrTemplate { selectors, apart })
}

/// Whether `text` is a port number, as written: digits, at most 65535.
pub(crate) fn is_port(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit()) && text.parse::<u16>().is_ok()
}

/// Elasticsearch's `_local_`, `_site_`, `_global_` and `_IFACE_` (each
/// maybe `_NAME:ipv4_` or `_NAME:ipv6_`), with `:PORT` or not.
fn elasticsearch(text: &str) -> Option<ForeignForm> {
    let (value, port) = match text.rsplit_once(':') {
        Some((value, port)) if value.ends_with('_') => (value, Some(port)),
        _ => (text, None),
    };
    // A port this grammar takes, or none: `_local_:99999` is no value.
    if port.is_some_and(|p| !is_port(p)) {
        return None;
    }
    let port = port.map(str::to_owned);
    let inner = value.strip_prefix('_')?.strip_suffix('_')?;
    let (name, family) = match inner.split_once(':') {
        Some((name, family @ ("ipv4" | "ipv6"))) => (name, Some(family)),
        Some(_) => return None,
        None => (inner, None),
    };
    let selector = match name {
        "local" => "loopback".to_owned(),
        "site" => "private".to_owned(),
        "global" => "global".to_owned(),
        // A cloud plugin's (`_ec2_`, `_gce_`): an address only it knows.
        "ec2" | "gce" => return None,
        name if is_ifname(name) && !name.contains(['_', ':']) => format!("if:{name}"),
        _ => return None,
    };
    Some(ForeignForm::Elasticsearch {
        selector: match family {
            Some(family) => format!("{selector}, {family}"),
            None => selector,
        },
        port,
    })
}

/// The selector an Elasticsearch special value without a port stands for
/// (`_site_` is `private`), when `word` is one.
pub(crate) fn elasticsearch_selector(word: &str) -> Option<String> {
    match elasticsearch(word)? {
        ForeignForm::Elasticsearch {
            selector,
            port: None,
        } => Some(selector),
        _ => None,
    }
}

/// `SELECTOR:PORT` for a selector of this grammar that is no address or
/// host name (`loopback:8080`, `if:eth0:8080`, `dns:db:5432`,
/// `10.0.0.0/8:8080`), or gRPC's `ipv4:ADDRESS:PORT` and
/// `ipv6:[ADDRESS]:PORT`.
fn selector_port(text: &str) -> Option<ForeignForm> {
    let (selector, port) = text.rsplit_once(':')?;
    if !is_port(port) {
        return None;
    }
    let grpc = selector
        .strip_prefix("ipv4:")
        .or_else(|| selector.strip_prefix("ipv6:"))
        .map(|a| a.trim_start_matches('[').trim_end_matches(']'));
    let selector = match grpc {
        // gRPC's family prefix with an address of the other family is
        // refused there: no reading here.
        Some(address) => {
            let ip = address.parse::<IpAddr>().ok()?;
            let family = if text.starts_with("ipv4:") {
                ip.is_ipv4()
            } else {
                ip.is_ipv6()
            };
            if !family {
                return None;
            }
            ip.to_string()
        }
        None => match selector.parse::<Selector>().ok()? {
            Selector::Class(_) | Selector::Interface(_) | Selector::Cidr(_) | Selector::Dns(_) => {
                selector.to_owned()
            }
            _ => return None,
        },
    };
    Some(ForeignForm::SelectorPort {
        selector,
        port: port.to_owned(),
    })
}

/// `NETWORK:ADDRESS` as Go's `net.Listen(network, address)` takes the
/// two (`tcp4:80`, `tcp4::80`, `tcp:127.0.0.1:80`), or a URL of a network
/// with its family (`tcp6://[::1]:80`). `tcp:80` is an endpoint's value
/// without its network, and `tcp://…` a URL the shorthand reads.
fn network_prefix(text: &str) -> Option<ForeignForm> {
    let (network, rest) = text.split_once(':')?;
    let family = network.ends_with(['4', '6']);
    if !matches!(
        network,
        "tcp" | "tcp4" | "tcp6" | "udp" | "udp4" | "udp6" | "http" | "https"
    ) {
        return None;
    }
    let address = match rest.strip_prefix("//") {
        Some(_) if !family => return None,
        Some(authority) => authority,
        None if !family && !rest.contains(':') => return None,
        None => rest,
    };
    let address = if address.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        format!(":{address}")
    } else {
        address.to_owned()
    };
    let port = address.rsplit_once(':').map(|(_, port)| port)?;
    (!port.is_empty() && !address.contains('/')).then(|| ForeignForm::NetworkPrefix {
        network: network.to_owned(),
        address,
    })
}

/// The path etcd's `unix://REST` names: an absolute path or an abstract
/// name as it is, anything else a file in the directory etcd runs in. A
/// query or a fragment is none of the name: Go's URL parser cuts them off.
pub(crate) fn etcd_unix_path(rest: &str) -> String {
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    if rest.starts_with(['/', '@']) || rest.starts_with("./") || rest.starts_with("../") {
        rest.to_owned()
    } else {
        format!("./{rest}")
    }
}

/// Whether a Kafka listener's `HOST:PORT` has a host the fix can write
/// back as a URL's host that this grammar reads: an IPv6 address with
/// brackets or without (Kafka takes both), an IPv4 address or a name.
/// Junk such as `::1]:9092` or `1.2.3.4.5:9092` is told the plain parse
/// error, not a fix that fails too.
fn kafka_host_reads(authority: &str) -> bool {
    let host = match authority.rfind(']') {
        Some(end) => &authority[..=end],
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    };
    // No host, or Kafka's wildcards: told `:PORT` and `0.0.0.0`.
    if matches!(host, "" | "0.0.0.0" | "*") {
        return true;
    }
    // The fix writes the host in a URL as this grammar reads one.
    let url = match host.contains(':') && !host.starts_with('[') {
        true => format!("tcp://[{host}]:1"),
        false => format!("tcp://{host}:1"),
    };
    matches!(shorthand(&url), Some(Ok(_)))
}

/// Whether a URL's scheme is a Kafka listener's name (`PLAINTEXT://`,
/// `INTERNAL://`): Kafka upper-cases them, so a scheme in capitals is one
/// unless it is a URL scheme this crate knows written in capitals
/// (`HTTP://`, `UNIX://`); and Kafka's security protocols are listeners in
/// any case.
pub(crate) fn is_kafka_listener(scheme: &str) -> bool {
    let lower = scheme.to_ascii_lowercase();
    let known = matches!(
        &*lower,
        "tcp"
            | "udp"
            | "http"
            | "https"
            | "ws"
            | "wss"
            | "grpc"
            | "grpcs"
            | "unix"
            | "unixs"
            | "unixgram"
    );
    !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        // Lowercase `ssl://` is Puma's too, which binds IPv4 alone for
        // 0.0.0.0, where Kafka binds both: the narrower reading is told.
        && scheme != "ssl"
        && (matches!(&*lower, "plaintext" | "ssl" | "sasl_plaintext" | "sasl_ssl")
            || (!known && !scheme.bytes().any(|b| b.is_ascii_lowercase())))
}

/// A URL the shorthand did not take: one of its schemes with a path, or a
/// listener's name (Kafka) as the scheme.
fn foreign_url(scheme: &str, rest: &str) -> Option<ForeignForm> {
    // A scheme is case-insensitive: `UNIX://` is etcd's as `unix://` is.
    let lower = scheme.to_ascii_lowercase();
    let scheme = if is_kafka_listener(scheme) {
        scheme
    } else {
        &*lower
    };
    if let Some(form) = url_query(scheme, rest) {
        return Some(form);
    }
    // `unixgram:///run/app.sock?x`: a query, no part of a file's name.
    if scheme == "unixgram"
        && let Some((path, _)) = rest.split_once(['?', '#'])
    {
        return Some(ForeignForm::UrlPath {
            address: format!("{scheme}://{path}"),
        });
    }
    // etcd's: `unix://HOST:PORT` names the socket file `HOST:PORT` in the
    // working directory, `unixs://` the same with TLS.
    if matches!(scheme, "unix" | "unixs") && !rest.is_empty() {
        // Go reads `user:password@` (an empty one too) as no part of the
        // host, nor so of the file's name: `unix://@x` is the file `x`,
        // not an abstract socket, which no file mode guards. A `/` at the
        // end would name a directory.
        let rest = match rest.split_once('@') {
            Some((userinfo, host)) if !userinfo.contains('/') => host,
            _ => rest,
        };
        let rest = rest.trim_end_matches('/');
        if matches!(rest, "" | "." | "..") {
            return None;
        }
        // `unix:///run/app.sock?x=1`: a query, no part of a file's name,
        // nor is a fragment.
        if let Some((path, _)) = rest.split_once(['?', '#']) {
            return Some(ForeignForm::UrlPath {
                address: format!("{scheme}://{path}"),
            });
        }
        return Some(ForeignForm::EtcdUnix {
            path: etcd_unix_path(rest),
            tls: scheme == "unixs",
        });
    }
    if matches!(scheme, "http" | "https")
        && let Some(path) = rest.strip_prefix("unix:")
        && UnixPath::looks_like(path)
    {
        return Some(ForeignForm::KestrelUnix {
            scheme: scheme.to_owned(),
            path: path.to_owned(),
        });
    }
    // A `/` inside an IPv6 host's brackets is no path's. A query or a
    // fragment ends the authority as a path does, and is none of a listen
    // address either.
    let host_end = rest.find(']').unwrap_or(0);
    let (authority, path) = match rest[host_end..].find(['/', '?', '#']) {
        Some(at) => (&rest[..host_end + at], &rest[host_end + at..]),
        None => (rest, ""),
    };
    let path = path.strip_prefix('/').unwrap_or(path);
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    if matches!(scheme, "tcp" | "udp" | "http" | "https") {
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        if scheme == "tcp"
            && host.is_empty()
            && let Some(port) = port.filter(|p| is_port(p))
            && matches!(path, "" | "/")
        {
            return Some(ForeignForm::EmptyHostUrl {
                port: port.to_owned(),
            });
        }
        if matches!(host, "*" | "+") {
            let default = match scheme {
                "http" => Some("80"),
                "https" => Some("443"),
                _ => None,
            };
            // ZeroMQ's `tcp://*:*`: a port the system picks, 0 here.
            let port = port.map(|p| if p == "*" { "0" } else { p });
            return Some(ForeignForm::AnyHostUrl {
                scheme: scheme.to_owned(),
                port: port.or(default).map(str::to_owned),
            });
        }
        // `tcp://0.0.0.0`: Docker's `-H` and others without the port,
        // which tcp and udp have no default for.
        if port.is_none() && matches!(scheme, "tcp" | "udp") && path.is_empty() {
            return Some(ForeignForm::NoPort {
                host: host.to_owned(),
            });
        }
        // What is left without the path is a listen address only with a
        // port (`tcp://unix:///run/docker.sock` is none).
        return (!path.is_empty() && port.is_none_or(is_port)).then(|| ForeignForm::UrlPath {
            address: format!("{scheme}://{authority}"),
        });
    }
    if is_kafka_listener(scheme) {
        return (path.is_empty() && kafka_host_reads(authority)).then(|| ForeignForm::Listener {
            name: scheme.to_owned(),
            address: authority.to_owned(),
        });
    }
    let named = scheme
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (named && !scheme.is_empty() && path.is_empty()).then(|| ForeignForm::Scheme {
        scheme: scheme.to_owned(),
        address: authority.to_owned(),
    })
}

/// Puma's options in a URL's query (`tcp://0.0.0.0:9292?backlog=1024`,
/// `unix:///run/puma.sock?umask=0111`, `ssl://…?key=…&cert=…`), in this
/// grammar's spelling where it has the option: a listen address this
/// grammar reads, then `NAME=VALUE` pairs.
fn url_query(scheme: &str, rest: &str) -> Option<ForeignForm> {
    let (before, query) = rest.split_once('?')?;
    let pairs = query
        .split('&')
        .map(|pair| {
            // A switch without a value: `?ipv6only` is `?ipv6only=true`.
            let (key, value) = match pair {
                "ipv6only" | "v6only" => (pair, "true"),
                _ => pair.split_once('=')?,
            };
            let named = !key.is_empty()
                && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !value.is_empty()
                && !value.contains(|c: char| c.is_ascii_whitespace());
            named.then_some((key, value))
        })
        .collect::<Option<Vec<_>>>()?;
    // Puma's keys, and `ipv6only` or `v6only` (which dropped would leave
    // `[::]` taking IPv4 too), not a query a server reads (`?x=1`, told as
    // a path is).
    if scheme != "ssl"
        && !pairs.iter().any(|(key, _)| {
            matches!(
                *key,
                "backlog" | "umask" | "mode" | "low_latency" | "ipv6only" | "v6only"
            )
        })
    {
        return None;
    }
    // Puma's TLS: an HTTPS endpoint, its TLS the server's own.
    let (address, mut options) = match scheme {
        "ssl" => (format!("https://{before}"), vec!["ssl".to_owned()]),
        scheme => (format!("{scheme}://{before}"), Vec::new()),
    };
    let unix = match shorthand(&address)? {
        Ok(Value::Unix { .. }) => true,
        Ok(Value::Ip { .. }) => false,
        Err(_) => return None,
    };
    for (key, value) in pairs {
        // Puma reads `umask` as Ruby's `Integer()` does (octal after a
        // leading 0, decimal without: `111` is 0o157), and `mode` as
        // octal always.
        let octal = |v: &str| u32::from_str_radix(v, 8).ok();
        let number = match key {
            "umask" if value.starts_with('0') => octal(value),
            "umask" => value.parse().ok(),
            _ => octal(value),
        };
        options.push(match (key, number.filter(|m| *m <= 0o777)) {
            // A socket file is made with every permission the umask leaves.
            ("umask", Some(umask)) if unix => format!("mode={:04o}", 0o777 & !umask),
            ("mode", Some(mode)) if unix => format!("mode={mode:03o}"),
            _ => format!("{key}={value}"),
        });
    }
    Some(ForeignForm::UrlQuery { address, options })
}

/// A Unix socket's URL as its clients write one, as its protocol and
/// path: `unix:///run/app.sock` and `unixgram:///…` (gRPC's and Docker's
/// spelling, an absolute path after `//`), `http+unix://%2Frun%2Fapp.sock/`
/// and `https+unix://…` (requests-unixsocket's and hyperlocal's, the path
/// percent-encoded as the host, as the planner advertises it). The path is
/// percent-decoded; `None` for a bad escape, or a path that is not UTF-8,
/// which no spec can hold.
pub(crate) fn unix_url(text: &str) -> Option<(Protocol, String)> {
    let (scheme, rest) = text.split_once("://")?;
    match scheme {
        "unix" | "unixgram" => {
            let protocol = scheme.parse().ok()?;
            // A `?` or `#` ends a URL's path (a file name holding one
            // writes it `%3F`, `%23`): the query is told, not named.
            if !rest.starts_with('/') || rest.contains(['?', '#']) {
                return None;
            }
            Some((protocol, decoded(rest)?))
        }
        "http+unix" | "https+unix" => {
            let protocol = scheme.trim_end_matches("+unix").parse().ok()?;
            let host = rest.strip_suffix('/').unwrap_or(rest);
            if host.is_empty() || host.contains(['/', '?', '#']) {
                return None;
            }
            Some((protocol, decoded(host)?))
        }
        _ => None,
    }
}

/// `%2F` and the like to their bytes; `None` for a `%` without two hex
/// digits after it, or bytes that are not UTF-8.
fn decoded(text: &str) -> Option<String> {
    String::from_utf8(percent_decode(text)?).ok()
}

/// A host as a one-address value holds it.
#[derive(Debug)]
enum Host {
    /// `:PORT`, or a URL with no host: every address of both families.
    Any,
    /// An IP address, as text the selector grammar reads (a zone kept).
    Ip(String),
    /// A host name, looked up and advertised as written.
    Name(String),
    /// An address in a spelling only a URL's rules read, as written.
    UrlSpelling(String, IpAddr),
}

/// `ADDRESS:PORT`, with brackets (and maybe a zone) around IPv6; `:PORT`;
/// `HOST:PORT` for a host name that is not a protocol's or a network's
/// (`http:8080` is an endpoint line without its network, `tcp4:80` Go's
/// network and port, `fd:3` a passed socket's number: the grammar explains
/// each).
fn from_socket_addr(text: &str) -> Option<(Protocol, Host, String)> {
    let (host, port) = match text.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest.split_once(']')?;
            // Brackets hold an address (its zone is the selector's to
            // check): `[*]:80` or `[if:eth*]:80` would otherwise be any
            // selector, on a network that may hold a wildcard.
            let addr = host.split_once('%').map_or(host, |(addr, _)| addr);
            addr.parse::<std::net::IpAddr>().ok()?;
            (Host::Ip(host.to_owned()), after.strip_prefix(':')?)
        }
        None => {
            let (host, port) = text.rsplit_once(':')?;
            if host.is_empty() {
                (Host::Any, port)
            } else if host.parse::<std::net::Ipv4Addr>().is_ok() {
                (Host::Ip(host.to_owned()), port)
            } else if host.parse::<u16>().is_ok_and(|p| p != 0)
                || host
                    .split_once('-')
                    .is_some_and(|(a, b)| a.parse::<u16>().is_ok() && b.parse::<u16>().is_ok())
                || AddrClass::from_name(host).is_some()
            {
                // Docker's `8080:80` and `8000-8010:80`, and
                // `loopback:8080`: the grammar says what to write.
                return None;
            } else if let Some(ip) = url_spelling(host) {
                (Host::UrlSpelling(host.to_owned(), ip), port)
            } else if is_host_name(host.strip_suffix('.').unwrap_or(host))
                && host.parse::<Protocol>().is_err()
                && !is_network_word(host)
            {
                (Host::Name(host.to_owned()), port)
            } else {
                // IPv6 needs its brackets before a port.
                return None;
            }
        }
    };
    (!port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        .then(|| (Protocol::Tcp, host, port.to_owned()))
}

/// Go's network names with a family, `fd`, and gRPC's `ipv4` and `ipv6`:
/// before a `:`, a network (`tcp4:80`, `ipv4:127.0.0.1:80`) or a passed
/// socket (`fd:3`), never a host's name.
fn is_network_word(host: &str) -> bool {
    matches!(
        host,
        "tcp4" | "tcp6" | "udp4" | "udp6" | "fd" | "ipv4" | "ipv6" | "vsock" | "accept-from-fd"
    )
}

/// Whether `text` is a DNS name as one would write it for a host: labels
/// of letters, digits, `-` and `_` (as `dns:` takes them: Docker Compose
/// names services `my_app`), not all digits (`1.2.3` is no host). A label
/// starts and ends with a letter or digit: `_site_` is Elasticsearch's.
fn is_host_name(text: &str) -> bool {
    text.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with(['-', '_'])
            && !l.ends_with('_')
    }) && !text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// A name of dots (`www.example.com`, `ops.metrics`), not an address:
/// without its port it may be a host or an endpoint line cut short.
pub(crate) fn is_dotted_name(text: &str) -> bool {
    text.contains('.') && is_host_name(text)
}

/// `NETWORK.ENDPOINT`, two names: a dotted name that may be an endpoint
/// line cut short (`ops.metrics`); `www.example.com` may not.
pub(crate) fn is_endpoint_name(text: &str) -> bool {
    text.split_once('.').is_some_and(|(network, endpoint)| {
        network.parse::<Name>().is_ok() && endpoint.parse::<Name>().is_ok()
    })
}

/// `SCHEME://HOST[:PORT][/]` for the endpoint schemes; an empty host
/// (`udp://:53`, `http://:8080`) is `*`; an IPv6 host
/// may have a zone.
fn from_url(text: &str) -> Option<(Protocol, Host, String)> {
    let (scheme, rest) = text.split_once("://")?;
    let any = rest.starts_with(':');
    let filled;
    let text = if any {
        // The URL parser wants a host: any will do to read the port.
        filled = format!("{scheme}://0.0.0.0{rest}");
        &filled
    } else {
        text
    };
    // ASP.NET Core's every address: the error says what to write.
    if rest.starts_with(['*', '+']) {
        return None;
    }
    // A zone, as RFC 6874 writes it (`[fe80::1%25eth0]`) or as most do
    // (`[fe80::1%eth0]`): the URL parser takes none, so it reads the
    // address without it, and the selector gets it back.
    let (zone, unzoned);
    let text = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((inside, after)) if inside.contains('%') => {
            let (addr, written) = inside.split_once('%')?;
            let name = written.strip_prefix("25").filter(|z| !z.is_empty());
            let name = name.unwrap_or(written);
            // Text that is no interface's name or index (`%eth0/64`) would
            // be read as more of the selector; an empty zone, the selector
            // names.
            if !name.is_empty() && !is_ifname(name) {
                return None;
            }
            zone = Some(name);
            unzoned = format!("{scheme}://[{addr}]{after}");
            &unzoned
        }
        _ => {
            zone = None;
            text
        }
    };
    // A port no port can be (`:65536`) fails the URL parser: the URL is
    // read with another in its place, and the port's own error says why.
    let start = text.find("://")? + 3;
    let authority = text[start..].split(['/', '?']).next().unwrap_or_default();
    let end = start + authority.len();
    let too_big = authority
        .rsplit_once(':')
        .map(|(_, port)| port)
        .filter(|p| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_err()
        });
    let with_port;
    let text = match too_big {
        Some(port) => {
            with_port = format!("{}1{}", &text[..end - port.len()], &text[end..]);
            &with_port
        }
        None => text,
    };
    let url = Parts::url(text).ok()?;
    let protocol = match &*url.scheme {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        "http" => Protocol::Http,
        "https" => Protocol::Https,
        _ => return None,
    };
    // No fragment to refuse: `#` starts a comment, so text with one never
    // reaches here.
    if !matches!(url.rest, "" | "/") || url.userinfo {
        return None;
    }
    // Every scheme's host is read the http:// way, as an advertised host is.
    let written = rest.split(['/', '?']).next().unwrap_or_default();
    let written = match written.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => host,
        _ => written,
    };
    let host = match (url.host, zone) {
        _ if any => Host::Any,
        (RawHost::Host(UrlHost::Ip(a)), Some(zone)) => Host::Ip(format!("{a}%{zone}")),
        (RawHost::Host(UrlHost::Ip(a)), None) if usual_form(written, a) => Host::Ip(a.to_string()),
        (RawHost::Host(UrlHost::Ip(a)), None) => Host::UrlSpelling(written.to_owned(), a),
        (RawHost::Host(UrlHost::Name(d)), _) => Host::Name(d),
        (RawHost::Empty | RawHost::Opaque(_), _) => return None,
    };
    if let Some(port) = too_big {
        return Some((protocol, host, port.to_owned()));
    }
    let port = url.port.or(match protocol {
        Protocol::Http => Some(80),
        Protocol::Https => Some(443),
        _ => None,
    })?;
    Some((protocol, host, port.to_string()))
}

/// An error of the one line `text`.
fn located(text: &str, kind: SpecErrorKind) -> SpecError {
    SpecError::new(
        vec![Located {
            line: Some(1),
            statement: Some(text.to_owned()),
            layer: None,
            kind,
        }],
        &[],
    )
}

/// One Unix socket, or the parser's error for its path.
fn build_unix(text: &str, protocol: Protocol, path: &str) -> Result<Value, SpecError> {
    let path: UnixPath = path.parse().map_err(|kind| located(text, kind))?;
    Ok(Value::Unix { protocol, path })
}

/// An IP endpoint's value, or the parser's own errors for the address or
/// port, pointed at what was written.
fn ip_value(text: &str, protocol: Protocol, host: Host, port: &str) -> Result<Value, SpecError> {
    let located = |kind| located(text, kind);
    let ports: Ports = port.parse().map_err(located)?;
    let (selector, advertise) = match &host {
        Host::Any => ("*".to_owned(), None),
        Host::Ip(ip) => (ip.clone(), None),
        Host::Name(name) => (
            format!("dns:{name}"),
            Some(name.parse::<Advertise>().map_err(located)?),
        ),
        Host::UrlSpelling(written, ip) => {
            return Err(located(SpecErrorKind::BadSelector {
                text: written.clone(),
                reason: SelectorError::UrlSpelling(*ip),
            }));
        }
    };
    let selector: Selector = selector.parse().map_err(|kind| match kind {
        // `[::ffff:0.0.0.0]:80`: the IPv4 address, with the value's port.
        SpecErrorKind::BadSelector {
            reason: SelectorError::Ipv4Mapped(v4),
            ..
        } if v4.prefix_len() == 32 => located(SpecErrorKind::Foreign {
            written: text.to_owned(),
            form: ForeignForm::Mapped {
                value: unmapped(text, v4.addr()),
            },
        }),
        kind => located(kind),
    })?;
    // Where it is planned decides: a spec reads alike on every system.
    let dual = matches!(&host, Host::Ip(ip) if ip.parse() == Ok(std::net::Ipv6Addr::UNSPECIFIED));
    Ok(Value::Ip {
        selector,
        protocol,
        ports,
        advertise,
        dual,
    })
}

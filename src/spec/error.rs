//! Why a spec was refused, with where and what to write instead.

use std::fmt;

use std::net::IpAddr;

use ipnet::Ipv4Net;

use crate::class::AddrClass;
use crate::spec::{Family, Name, Network, QualifiedName, Selector};

/// One thing wrong with a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpecErrorKind {
    /// A line is not `NAME = …` or `NETWORK.ENDPOINT = …`.
    BadStatement(String),
    /// A listen address in another program's spelling that this grammar
    /// does not take, with what to write instead.
    Foreign {
        /// The statement as written.
        written: String,
        /// The form recognised.
        form: ForeignForm,
    },
    /// A network or endpoint name has characters outside `[A-Za-z0-9_-]`.
    BadName(String),
    /// A selector did not parse.
    BadSelector {
        /// The selector as written.
        text: String,
        /// What is wrong with it.
        reason: SelectorError,
    },
    /// `expose=` has an unknown level.
    BadExpose(String),
    /// An advertised URL or host did not parse or cannot be reached.
    BadAdvertise {
        /// The URL or host as written.
        text: String,
        /// What is wrong with it.
        reason: AdvertiseError,
    },
    /// An endpoint protocol is unknown.
    BadProtocol(String),
    /// A Unix socket path or abstract name did not parse.
    BadUnixPath {
        /// The path as written.
        text: String,
        /// What is wrong with it.
        reason: UnixPathError,
    },
    /// A `unix` network with something only IP networks have.
    UnixNetwork {
        /// The network.
        network: Name,
        /// What does not fit.
        reason: UnixNetworkError,
    },
    /// An endpoint whose address, protocol or options do not fit its
    /// network's kind (Unix sockets or IP addresses).
    UnixEndpoint {
        /// The endpoint.
        endpoint: QualifiedName,
        /// What does not fit.
        reason: UnixEndpointError,
    },
    /// A port or range did not parse.
    BadPorts {
        /// The ports as written.
        text: String,
        /// What is wrong with them.
        reason: PortsError,
    },
    /// An endpoint's right-hand side does not start with `PROTOCOL:PORTS`.
    BadTarget(String),
    /// An option is unknown or has a bad value.
    BadOption {
        /// The option as written.
        text: String,
        /// What is wrong and what is accepted.
        reason: OptionError,
    },
    /// An endpoint's target is a URL (`http://0.0.0.0:8080`) or an address
    /// and a port (`0.0.0.0:8080`), where the grammar wants
    /// `PROTOCOL:PORT` and takes addresses from the network.
    EndpointUrl {
        /// The target as written.
        url: String,
        /// What to write instead.
        instead: String,
    },
    /// An option was given twice.
    RepeatedOption(String),
    /// A network has only excludes and family filters.
    NoInclude(Name),
    /// A wildcard is listed beside specific selectors.
    WildcardMixed(Name),
    /// A wildcard network has excludes.
    WildcardExclude(Name),
    /// `!*`, `!0.0.0.0` or `!::`.
    ExcludeWildcard {
        /// The network.
        network: Name,
        /// The wildcard excluded.
        selector: Selector,
    },
    /// Both `ipv4` and `ipv6` are given.
    BothFamilies(Name),
    /// A family filter leaves none of the includes.
    FamilyEmpty {
        /// The network.
        network: Name,
        /// The filter.
        family: Family,
    },
    /// A network is defined twice.
    DuplicateNetwork(Name),
    /// An endpoint is defined twice.
    DuplicateEndpoint(QualifiedName),
    /// A one-address value (`:8080`, `--listen 127.0.0.1:8080`) makes a
    /// network of its own, `listen` or `listen-N`, and the spec already
    /// defines a network of that name: taking its place would move that
    /// network's endpoints to the value's addresses.
    OneAddressClash(Name),
    /// A one-address value after a statement's `advertise URL` and a `;`
    /// on the same line: the second of a URL list joined by `;` (ASP.NET's
    /// and RavenDB's), as in `advertise https://a.example;https://b.example`,
    /// which would otherwise listen on what was meant to be advertised.
    OneAddressAfterAdvertise(String),
    /// A layer's file could not be read.
    Unreadable {
        /// The OS's message.
        error: String,
    },
    /// `-NAME` names no network or endpoint that an earlier layer defined.
    NothingToRemove(String),
    /// `${NAME}` without a default, and the variable is not set.
    UnsetVariable(String),
    /// A variable (`${NAME}`, or `$LISTEN` read as a layer) is set, but
    /// not to UTF-8 text: read as not set, its default or the layers under
    /// it would take its place without a word.
    NotUnicodeVariable {
        /// The variable.
        name: String,
        /// Its value, with what is not UTF-8 shown as `\u{fffd}`.
        value: String,
    },
    /// A variable's value would be more than one word of the spec, or none
    /// (it is empty, and the reference has no default).
    BadVariable {
        /// The variable.
        name: String,
        /// Its value.
        value: String,
    },
    /// `${NAME}` reached the parser: the text was parsed without an
    /// environment to expand it from.
    UnexpandedVariable(String),
    /// `${` without its `}`, or with no name.
    BadReference(String),
    /// `$NAME` in a statement that did not parse: a shell's variable,
    /// which is expanded here only as `${NAME}`; or Caddy's `{$NAME}`,
    /// `{$NAME:DEFAULT}` or `{env.NAME}`, whole.
    UnbracedVariable(String),
    /// An endpoint names a network that is not defined.
    UnknownNetwork {
        /// The endpoint.
        endpoint: QualifiedName,
    },
    /// `v6only=false` on an endpoint of a network filtered to `ipv6`: its
    /// `::` socket would take IPv4 too.
    DualStackOnIpv6(QualifiedName),
    /// `backlog=` on a UDP endpoint.
    UdpBacklog(QualifiedName),
    /// `backlog=0`.
    ZeroBacklog(QualifiedName),
}

impl fmt::Display for SpecErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecErrorKind::BadStatement(found) => write!(
                f,
                "expected `NAME = selectors` or `NETWORK.ENDPOINT = protocol:port` (or protocol:PATH on a network NAME = unix), found {found:?}"
            ),
            SpecErrorKind::Foreign { written, form } => {
                write!(
                    f,
                    "{written:?} is {}; write {}",
                    form.what(),
                    form.instead()
                )
            }
            SpecErrorKind::BadName(name) => write!(
                f,
                "{name:?} is not a name: use up to {} letters, digits, '-' and '_', starting with a letter",
                Name::MAX
            ),
            // Kafka's `listeners=PLAINTEXT://:9092`, etcd's
            // `listen-client-urls=http://0.0.0.0:2379`: what the URL alone
            // is told, rather than an example of another.
            SpecErrorKind::BadSelector {
                text,
                reason: SelectorError::Url,
            } => {
                let instead = match super::shorthand::shorthand(text) {
                    Some(Ok(_)) => format!("{text}, alone"),
                    _ => super::shorthand::foreign(text)
                        .map_or_else(|| format!("{text}, alone"), |form| form.instead()),
                };
                write!(
                    f,
                    "selector {text:?}: a URL is a one-address value, the whole spec, not a selector; write {instead}"
                )
            }
            SpecErrorKind::BadSelector { text, reason } => {
                write!(f, "selector {text:?}: {reason}")
            }
            SpecErrorKind::BadExpose(level) => {
                write!(
                    f,
                    "expose={level:?}: the levels are public, private and local"
                )?;
                match super::suggest::closest(level, ["public", "private", "local"]) {
                    Some(near) => write!(f, "; did you mean expose={near}?"),
                    None => Ok(()),
                }
            }
            SpecErrorKind::BadAdvertise { text, reason } => {
                write!(f, "advertise {text:?}: {reason}")
            }
            SpecErrorKind::BadProtocol(protocol) => {
                write!(
                    f,
                    "protocol {protocol:?}: use tcp, udp, http or https (on a unix network: unix, unixgram, http or https)"
                )?;
                let near = || {
                    let all = ["tcp", "udp", "http", "https", "unix", "unixgram"];
                    super::suggest::closest(protocol, all).map(|p| format!("did you mean {p}?"))
                };
                match protocol_hint(protocol).or_else(near) {
                    Some(hint) => write!(f, "; {hint}"),
                    None => Ok(()),
                }
            }
            SpecErrorKind::BadUnixPath { text, reason } => {
                write!(f, "Unix socket {text:?}: {reason}")?;
                // gunicorn's `unix:app.sock`: a file in the working directory.
                if *reason == UnixPathError::NotAPath && !text.is_empty() {
                    write!(f, "; here, ./{text} for the file in the working directory")?;
                }
                Ok(())
            }
            SpecErrorKind::UnixNetwork { network, reason } => {
                write!(f, "network {network}: {reason}")
            }
            SpecErrorKind::UnixEndpoint { endpoint, reason } => {
                write!(f, "endpoint {endpoint}: {reason}")
            }
            SpecErrorKind::BadPorts { text, reason } => {
                write!(
                    f,
                    "ports {text:?}: {reason}; use a port up to 65535 (0 for any free port) or a range FIRST-LAST with 0 < FIRST < LAST <= 65535"
                )?;
                // `tcp:80,443`, `http:80,https:443`: an endpoint apiece.
                if text.contains(',') {
                    f.write_str("; one endpoint has one port or range: for several, an endpoint apiece, each on its own line (`NET.http = http:80` and `NET.https = https:443`)")?;
                }
                Ok(())
            }
            // Spring's `server.port=8080`: a port alone.
            SpecErrorKind::BadTarget(target) if super::shorthand::is_port(target) => write!(
                f,
                "{target:?} is a port alone, but an endpoint is PROTOCOL:PORT: write tcp:{target}, or http:{target} for an HTTP server"
            ),
            SpecErrorKind::BadTarget(target) => write!(
                f,
                "{target:?} is not PROTOCOL:PORT or PROTOCOL:PATH, like http:8080, tcp:9000-9010, udp:161 or (on a network NAME = unix) unix:/run/app.sock"
            ),
            SpecErrorKind::BadOption { text, reason } => write!(f, "option {text:?}: {reason}"),
            SpecErrorKind::EndpointUrl { url, instead } => write!(
                f,
                "{url:?} is {}, but an endpoint is PROTOCOL:PORT and listens on its network's addresses: {instead}",
                if super::url::first_of_list(url).is_some() {
                    "a list of URLs"
                } else if url.contains("://") {
                    "a URL"
                } else {
                    "an address and a port"
                }
            ),
            SpecErrorKind::RepeatedOption(option) => write!(f, "option {option:?} is given twice"),
            SpecErrorKind::NoInclude(network) => write!(
                f,
                "network {network} includes nothing: add an include such as `*`, a CIDR block or if:NAME before excludes and ipv4/ipv6"
            ),
            // `:8080` and `127.0.0.1:8080`, each a value of its own: the
            // network is one the values made, not one the user wrote.
            SpecErrorKind::WildcardMixed(network)
                if super::shorthand::is_one_address_network(network.as_str()) =>
            {
                f.write_str(
                    "a wildcard value (`:PORT`, `0.0.0.0:PORT`, `[::]:PORT`) and a specific address on the same port: the wildcard already takes every address of its family, so write either the wildcard or the addresses",
                )
            }
            SpecErrorKind::WildcardMixed(network) => write!(
                f,
                "network {network} mixes a wildcard with specific selectors: a wildcard already takes every address, so list either the wildcard or the addresses"
            ),
            SpecErrorKind::WildcardExclude(network) => write!(
                f,
                "network {network} excludes from a wildcard, but a wildcard socket takes every address and cannot skip any: list the addresses to include instead"
            ),
            SpecErrorKind::ExcludeWildcard { network, selector } => write!(
                f,
                "network {network}: !{selector} excludes everything of a family; use ipv4 or ipv6 to keep one family"
            ),
            SpecErrorKind::BothFamilies(network) => write!(
                f,
                "network {network} lists both ipv4 and ipv6; give one to keep one family, or neither for both"
            ),
            SpecErrorKind::FamilyEmpty { network, family } => {
                write!(
                    f,
                    "network {network}: {family} removes every selector it includes"
                )
            }
            SpecErrorKind::DuplicateNetwork(network) => {
                write!(f, "network {network} is defined twice")
            }
            SpecErrorKind::DuplicateEndpoint(endpoint) => {
                write!(f, "endpoint {endpoint} is defined twice")
            }
            SpecErrorKind::OneAddressClash(network) => write!(
                f,
                "this address makes network {network} of its own, but the spec already defines {network}, whose endpoints would move to it; rename that network (one-address values make listen, listen-2, …), or write the address as statements"
            ),
            SpecErrorKind::Unreadable { error } => write!(f, "cannot be read: {error}"),
            SpecErrorKind::NothingToRemove(name) => {
                write!(
                    f,
                    "-{name} removes nothing: no earlier layer defines {name}"
                )
            }
            SpecErrorKind::UnsetVariable(name) => write!(
                f,
                "${{{name}}} is not set, and has no default (write ${{{name}:-DEFAULT}} for one)"
            ),
            SpecErrorKind::NotUnicodeVariable { name, value } => write!(
                f,
                "${name} is set, but not to UTF-8 text ({value:?}, where \u{fffd} stands for what is not): set it to UTF-8 text, or unset it"
            ),
            SpecErrorKind::BadVariable { name, value } if value.is_empty() => write!(
                f,
                "${{{name}}} is set but empty, and a variable stands for one word of the spec: set it, or write ${{{name}:-DEFAULT}} for a default to take when it is empty or not set"
            ),
            SpecErrorKind::BadVariable { name, value } if value.contains("${") => write!(
                f,
                "${{{name}}} is {value:?}, which holds a reference of its own; a variable's value is not expanded again: give the value itself"
            ),
            SpecErrorKind::BadVariable { name, value } => write!(
                f,
                "${{{name}}} is {value:?}, which holds a space, ';', '#', '=' or a newline; a variable stands for one word of the spec"
            ),
            SpecErrorKind::UnexpandedVariable(reference) => write!(
                f,
                "{reference} is a variable, but nothing expanded it: lay the text with Layers::env_vars() (or Layers::env) to expand it; str::parse and Deserialize for ListenSpec take no environment, so keep config-file text in a SpecText and add it with Layers::text"
            ),
            SpecErrorKind::BadReference(text) => {
                write!(
                    f,
                    "{text:?} is no variable: write ${{NAME}}, or ${{NAME:-DEFAULT}} with a default of plain text, not empty (no $, {{ or }} in it)"
                )
            }
            SpecErrorKind::OneAddressAfterAdvertise(value) => write!(
                f,
                "{value:?} follows an advertise URL and a `;`, which ends the statement, so it would listen on a network of its own: advertise takes one URL, so drop the others; to listen there too, give it a line of its own"
            ),
            SpecErrorKind::UnbracedVariable(variable) => {
                let (whose, name) = match variable.strip_prefix('{') {
                    Some(caddy) => {
                        let name = caddy.trim_start_matches('$').trim_start_matches("env.");
                        ("Caddy's", name.trim_end_matches('}'))
                    }
                    None => ("a shell's", &variable[1..]),
                };
                let write = match name.split_once(':') {
                    Some((name, default)) => format!("${{{name}:-{default}}}"),
                    None => format!("${{{name}}} (or ${{{name}:-DEFAULT}})"),
                };
                write!(
                    f,
                    "{variable} is written as {whose} variable, which nothing here expands; write {write} for the spec's layers to expand it from their environment"
                )
            }
            SpecErrorKind::UnknownNetwork { endpoint } => write!(
                f,
                "endpoint {endpoint} is on a network that is not defined (the defined networks are listed below)"
            ),
            SpecErrorKind::DualStackOnIpv6(endpoint) => write!(
                f,
                "endpoint {endpoint}: v6only=false makes a socket on :: take IPv4 too, but its network {} is ipv6 only: drop v6only=false to keep it so, or drop ipv6 from the network's line to take both families",
                endpoint.network()
            ),
            SpecErrorKind::UdpBacklog(endpoint) => write!(
                f,
                "endpoint {endpoint}: UDP sockets do not listen, so backlog does not apply"
            ),
            SpecErrorKind::ZeroBacklog(endpoint) => write!(
                f,
                "endpoint {endpoint}: backlog=0 refuses every connection; leave it out for the OS default"
            ),
        }
    }
}

impl std::error::Error for SpecErrorKind {}

/// Why a Unix socket path was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnixPathError {
    /// Whitespace, a control character (or an invisible or bidirectional
    /// one), `;` or `#`.
    Separator,
    /// `@` alone.
    EmptyName,
    /// Not starting with `/`, `./`, `../` or `@`.
    NotAPath,
    /// Starting with `//`, which after a protocol reads as a URL.
    DoubleSlash,
    /// Ending in `/`, `/.` or `/..`.
    Directory,
    /// Longer than [`crate::spec::UnixPath::MAX_LEN`] bytes.
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A path built in code whose text form parses as something else (a
    /// file path that is not UTF-8, say).
    NotReadBack,
}

impl fmt::Display for UnixPathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnixPathError::Separator => {
                f.write_str("a path in a spec holds no spaces, control or invisible characters, ';' or '#'")
            }
            UnixPathError::EmptyName => {
                f.write_str("an abstract socket needs a name after @, like @app-admin")
            }
            UnixPathError::NotAPath => f.write_str(
                "write an absolute path (/run/app.sock), a relative one (./app.sock) or an abstract name (@app)",
            ),
            UnixPathError::DoubleSlash => f.write_str(
                "after the protocol, // starts a URL (unix://…); write the path with one leading /, which names the same file",
            ),
            UnixPathError::Directory => f.write_str(
                "it names a directory; a socket is a file in it, like /run/app/api.sock",
            ),
            UnixPathError::TooLong { len } => write!(
                f,
                "it is {len} bytes, and no OS takes a socket path of more than 108 (104 on macOS and the BSDs); use a shorter path, like /run/app/api.sock"
            ),
            UnixPathError::NotReadBack => f.write_str(
                "it does not read back as itself; build it from text (\"/run/app.sock\".parse())",
            ),
        }
    }
}

impl std::error::Error for UnixPathError {}

/// Why a network and Unix sockets do not fit: a network of Unix sockets has no
/// addresses to pick, filter or share, and reaches this host only.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnixNetworkError {
    /// `unix` beside address selectors.
    Mixed,
    /// An exclude.
    Exclude,
    /// `ipv4` or `ipv6`.
    Family,
    /// `shared`.
    Shared,
    /// `expose=public` or `expose=private`.
    Expose(crate::spec::Exposure),
    /// `advertise unix:…` on a network of IP addresses.
    UnixUrlOnIp(String),
    /// `advertise HOST` without a scheme.
    AdvertiseHost(String),
}

impl fmt::Display for UnixNetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnixNetworkError::Mixed => {
                f.write_str("unix stands alone; put IP addresses on a network of their own")
            }
            UnixNetworkError::Exclude => {
                f.write_str("a network of Unix sockets has no addresses to exclude")
            }
            UnixNetworkError::Family => {
                f.write_str("a network of Unix sockets has no address family")
            }
            UnixNetworkError::Shared => {
                f.write_str("a network of Unix sockets shares no addresses; leave out shared")
            }
            UnixNetworkError::Expose(exposure) => write!(
                f,
                "a Unix socket reaches this host only, so its exposure is local; leave out expose={exposure} (a proxy that publishes it says so in its own config)"
            ),
            UnixNetworkError::UnixUrlOnIp(url) => write!(
                f,
                "advertise {url} is a Unix socket's URL, and this network holds IP addresses; advertise a URL with a host, or put Unix endpoints on a network of their own (`local = unix`)"
            ),
            UnixNetworkError::AdvertiseHost(host) => write!(
                f,
                "advertise {host}: a host alone takes the endpoint's port, and a Unix socket has none; advertise a full URL (what clients of the proxy in front use)"
            ),
        }
    }
}

impl std::error::Error for UnixNetworkError {}

/// Why an endpoint does not fit its network's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnixEndpointError {
    /// A path on an IP network.
    PathOnIpNetwork {
        /// The path as written.
        path: crate::spec::UnixPath,
        /// The endpoint's network.
        network: Name,
    },
    /// Ports on a `unix` network.
    PortsOnUnixNetwork {
        /// The endpoint's network.
        network: Name,
        /// A protocol that fits, for the example.
        protocol: crate::spec::Protocol,
    },
    /// `unix` or `unixgram` with ports.
    UnixProtocolOnPorts(crate::spec::Protocol),
    /// `tcp` or `udp` with a path.
    IpProtocolOnPath {
        /// The protocol as written.
        found: crate::spec::Protocol,
        /// The one meant.
        instead: crate::spec::Protocol,
        /// The path.
        path: crate::spec::UnixPath,
    },
    /// An IP socket option on a Unix socket.
    IpOption(&'static str),
    /// A socket-file option on an IP endpoint.
    FileOption(&'static str),
    /// A socket-file option on an abstract socket.
    AbstractFileOption(&'static str),
    /// `backlog=` on a datagram socket.
    DatagramBacklog,
    /// A Unix socket's URL advertised by an endpoint on IP addresses.
    UnixUrl(String),
    /// The endpoint's own `advertise HOST` without a scheme.
    AdvertiseHost(String),
}

impl fmt::Display for UnixEndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnixEndpointError::PathOnIpNetwork { path, network } => write!(
                f,
                "{path} is a Unix socket, but network {network} holds IP addresses; make {network} a network of Unix sockets (`{network} = unix`, which in a later layer replaces its selectors, and a path for each of its endpoints), or put this endpoint on one of its own (`local = unix`, then `local.NAME = PROTOCOL:{path}`, and serve local.NAME)"
            ),
            UnixEndpointError::PortsOnUnixNetwork { network, protocol } => write!(
                f,
                "network {network} is a network of Unix sockets, so the endpoint takes a path (like {protocol}:/run/app/api.sock), not ports"
            ),
            UnixEndpointError::UnixProtocolOnPorts(protocol) => write!(
                f,
                "{protocol} is a Unix socket protocol and takes a path (like {protocol}:/run/app.sock); for TCP or UDP write tcp: or udp:"
            ),
            UnixEndpointError::IpProtocolOnPath {
                found,
                instead,
                path,
            } => write!(
                f,
                "{found} does not run over a Unix socket; write {instead}:{path}"
            ),
            UnixEndpointError::IpOption(option) => write!(
                f,
                "{option} is an IP socket option and does not apply to a Unix socket"
            ),
            UnixEndpointError::FileOption(option) => write!(
                f,
                "{option} applies to a Unix socket's file, and this endpoint listens on IP addresses"
            ),
            UnixEndpointError::AbstractFileOption(option) => write!(
                f,
                "{option} applies to a socket file, and an abstract socket has none; use a path for permissions, or check the peer's credentials (SO_PEERCRED)"
            ),
            UnixEndpointError::DatagramBacklog => {
                f.write_str("datagram sockets do not listen, so backlog does not apply")
            }
            UnixEndpointError::UnixUrl(url) => write!(
                f,
                "advertise {url} is a Unix socket's URL, and this endpoint listens on IP addresses; advertise what its clients connect to (a URL with a host and port), or put the endpoint on a unix network"
            ),
            UnixEndpointError::AdvertiseHost(host) => write!(
                f,
                "advertise {host}: a host alone takes the endpoint's port, and a Unix socket has none; advertise a full URL (what clients of the proxy in front use), or leave it out for unix:PATH"
            ),
        }
    }
}

impl std::error::Error for UnixEndpointError {}

/// Why a selector was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SelectorError {
    /// `if:` without a name, or with one no interface can have.
    BadInterface,
    /// `dns:` with text that is no DNS name.
    BadDnsName,
    /// Text with a `/` that is no CIDR block.
    BadCidr,
    /// A block with host bits set.
    HostBits(ipnet::IpNet),
    /// A word that is no selector, with what was likely meant.
    Unknown(Option<Suggestion>),
    /// A multicast group or the `multicast` class.
    Multicast,
    /// The `unspecified` class.
    UnspecifiedClass,
    /// A wildcard written as a block, like `0.0.0.0/32`.
    WildcardBlock(IpAddr),
    /// An address or block in `0.0.0.0/8`, or the `this-network` class.
    ThisNetwork,
    /// `255.255.255.255`, or the `broadcast` class.
    Broadcast,
    /// An IPv4-mapped address or block, with the IPv4 one it maps.
    Ipv4Mapped(Ipv4Net),
    /// The `ipv4-mapped` class.
    Ipv4MappedClass,
    /// A wildcard with a `%zone`.
    ZonedWildcard,
    /// A link-local IPv6 address without its zone.
    MissingZone,
    /// A zone on an address that is not link-local IPv6.
    NeedlessZone,
    /// `%` with nothing after it.
    EmptyZone,
    /// A zone that is neither an interface's index nor a name one can
    /// have (at most 15 printable characters, no `,`, `/`, `;` or `#`).
    BadZone,
    /// `!ipv4` or `!ipv6`, of this family: the fix keeps the other.
    ExcludedFamily(Family),
    /// Two selectors with no comma between them.
    MissingComma,
    /// No selector where one goes: a network's line with none, or a comma
    /// with nothing before or after it.
    Empty,
    /// A Unix socket (a path, `@name`, or `PROTOCOL:PATH`) where a
    /// selector stands: it is an endpoint, on a network of Unix sockets.
    UnixSocket(String),
    /// A selector built in code whose text form parses as something else.
    NotReadBack,
    /// A URL where a selector goes (Kafka's `listeners=PLAINTEXT://:9092`).
    Url,
    /// An address in a spelling only a URL's rules read (`0`, `127.1`,
    /// `0x7f.0.0.1`, `0177.0.0.1`), with the address they read it as: a
    /// wildcard or an address comes only from its usual form.
    UrlSpelling(IpAddr),
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectorError::BadInterface => {
                f.write_str("an interface name is one word, like if:eth0 or if:en*")
            }
            SelectorError::BadDnsName => f.write_str(
                "a DNS name is labels of letters, digits and '-' joined by dots, like dns:my-service.example.com",
            ),
            SelectorError::BadCidr => {
                f.write_str("a CIDR block is ADDRESS/PREFIX, like 10.0.0.0/8 or fd00::/8")
            }
            SelectorError::HostBits(block) => {
                write!(f, "it has host bits set; the block is {block}")
            }
            SelectorError::Unknown(suggestion) => {
                f.write_str(&with_usage(suggestion.as_ref(), EXPECTED_SELECTOR))
            }
            SelectorError::Multicast => f.write_str(
                "a multicast group is joined, not held by an interface: listen on the interface's own address (or a wildcard) and have the server join the group",
            ),
            SelectorError::UnspecifiedClass => f.write_str(
                "no interface holds the unspecified address; for a wildcard write *, 0.0.0.0 or ::",
            ),
            SelectorError::WildcardBlock(wildcard) => write!(
                f,
                "it is the wildcard alone; write {wildcard} to listen on every {} address",
                Family::of(*wildcard)
            ),
            SelectorError::ThisNetwork => f.write_str(
                "0.0.0.0/8 means \"this network\" (RFC 791): a source address for a host that has no address yet, never one clients connect to; for a wildcard write 0.0.0.0",
            ),
            SelectorError::Broadcast => f.write_str(
                "255.255.255.255 is the limited broadcast address: packets to it go to every host on the link, so no listener can own it; listen on the interface's own address",
            ),
            SelectorError::Ipv4Mapped(net) => write!(
                f,
                "IPv4-mapped addresses are how an IPv6 socket sees IPv4 peers, not addresses of an interface; write {}",
                mapped_ipv4(net)
            ),
            SelectorError::Ipv4MappedClass => f.write_str(
                "IPv4-mapped addresses are how an IPv6 socket sees IPv4 peers, not addresses of an interface; select the IPv4 addresses themselves (ipv4, or their block)",
            ),
            SelectorError::ZonedWildcard => f.write_str(
                "a wildcard has no zone; to keep its sockets to one interface, give the endpoint `device=NAME`",
            ),
            SelectorError::MissingZone => f.write_str(
                "a link-local IPv6 address needs its zone, like fe80::1%eth0, because every link has its own fe80::/10",
            ),
            SelectorError::NeedlessZone => f.write_str(
                "only link-local IPv6 addresses take a %zone; write the address without it, and to keep its sockets to one interface, give the endpoint `device=NAME`",
            ),
            SelectorError::EmptyZone => f.write_str("the zone after % is empty"),
            SelectorError::BadZone => f.write_str(
                "the zone after % is an interface's name (at most 15 printable characters, like fe80::1%eth0) or index (fe80::1%2)",
            ),
            SelectorError::ExcludedFamily(family) => {
                let kept = match family {
                    Family::V4 => Family::V6,
                    Family::V6 => Family::V4,
                };
                write!(
                    f,
                    "to drop a family, keep the other: write {kept} instead of !{family}, after what the network selects (`*, {kept}`)"
                )
            }
            SelectorError::MissingComma => f.write_str("selectors are separated by commas"),
            SelectorError::Empty => f.write_str(
                "nothing where a selector goes: a network's line lists one or more, a comma between two (`NAME = 127.0.0.1, ::1`)",
            ),
            SelectorError::UnixSocket(socket) => write!(
                f,
                "a Unix socket is an endpoint, not a selector: write the network as `NAME = unix`, and the socket on an endpoint line of its own, `NAME.ENDPOINT = {socket}`"
            ),
            SelectorError::NotReadBack => f.write_str("it does not read back as itself"),
            SelectorError::Url => f.write_str(
                "a URL is a one-address value, the whole spec (tcp://0.0.0.0:9092 alone), not a selector; a network selects addresses, blocks, if:NAME, dns:NAME or classes",
            ),
            SelectorError::UrlSpelling(ip) if ip.is_unspecified() => write!(
                f,
                "a URL reads it as the wildcard {ip}, which this grammar takes only written so; write {ip}, or :PORT for every address of both families"
            ),
            SelectorError::UrlSpelling(ip) => write!(
                f,
                "a URL reads it as {ip} (a short, octal or hexadecimal form), which this grammar takes only written so; write {ip}"
            ),
        }
    }
}

impl std::error::Error for SelectorError {}

/// What the grammar takes where a selector stands.
const EXPECTED_SELECTOR: &str =
    "expected *, an address, a CIDR block, if:NAME, dns:NAME, ipv4, ipv6 or an address class";

/// `hint (usage)`, or the usage alone.
fn with_usage(hint: Option<&impl fmt::Display>, usage: &str) -> String {
    match hint {
        Some(h) => format!("{h} ({usage})"),
        None => usage.to_owned(),
    }
}

/// `write 10.0.0.1`, or `write the IPv4 block 10.0.0.0/8`.
fn mapped_ipv4(net: &Ipv4Net) -> String {
    if net.prefix_len() == 32 {
        net.addr().to_string()
    } else {
        format!("the IPv4 block {net}")
    }
}

/// What a word that is no selector most likely meant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Suggestion {
    /// `localhost`: the `loopback` class.
    Loopback,
    /// A misspelled class name.
    Class(AddrClass),
    /// A word shaped like an interface name, like `eth0`.
    Interface(String),
    /// A word shaped like a host name.
    Dns(String),
    /// A misspelled `unix`.
    Unix,
    /// An endpoint, like `http:8080`, written where selectors go.
    Endpoint(String),
    /// An address or host with a port (`0.0.0.0:8080`, `:8080`,
    /// `localhost:8080`) where selectors go.
    WithPort {
        /// The selector for the host's addresses (`0.0.0.0`, `*`,
        /// `loopback`).
        selector: String,
        /// The port, which goes on an endpoint's line.
        port: String,
        /// `[::]:PORT`, which as one value takes IPv4 too: the endpoint
        /// needs `v6only=false` to mean the same.
        dual_stack: bool,
    },
    /// Elasticsearch's special value (`_site_`, `_local_`, `_eth0_`).
    Elasticsearch(String),
    /// A selector in the quotes a config file's syntax left in
    /// (PostgreSQL's `listen_addresses = '*'`).
    Quoted(String),
}

impl fmt::Display for Suggestion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Suggestion::Loopback => f.write_str(
                "localhost is a host name, not a selector: write loopback for the loopback addresses, or dns:localhost for what it resolves to",
            ),
            Suggestion::Class(c) => write!(f, "did you mean the address class {c}?"),
            Suggestion::Interface(name) => write!(
                f,
                "write if:{name} for the addresses of interface {name}, or dns:{name} for a host name"
            ),
            Suggestion::Unix => f.write_str(
                "did you mean unix, a network of Unix sockets (NAME = unix, then NAME.ENDPOINT = unix:/run/app.sock)?",
            ),
            Suggestion::Dns(name) => write!(
                f,
                "a host name is not a selector: write dns:{name} for the local addresses it resolves to"
            ),
            Suggestion::Endpoint(endpoint) => write!(
                f,
                "{endpoint} is an endpoint, not a selector: give it a line of its own, NAME.ENDPOINT = {endpoint}"
            ),
            Suggestion::WithPort {
                selector,
                port,
                dual_stack,
            } => write!(
                f,
                "a port goes on an endpoint's line, not among a network's selectors: write `NAME = {selector}{}` and `NAME.ENDPOINT = tcp:{port}{}`",
                // A wildcard plans only on a network that may have one.
                if matches!(selector.as_str(), "*" | "0.0.0.0" | "::") { " expose=public" } else { "" },
                if *dual_stack { " v6only=false" } else { "" }
            ),
            Suggestion::Elasticsearch(selector) => write!(
                f,
                "that is Elasticsearch's special value; here {selector} selects the same addresses"
            ),
            Suggestion::Quoted(selector) => write!(
                f,
                "the quotes are a config file's syntax, left in: write {selector} without them"
            ),
        }
    }
}

/// Why an `advertise` value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdvertiseError {
    /// It holds a space, `;` or `#`.
    Separator,
    /// It is not a URL, or a host with an optional port.
    Url(super::UrlError),
    /// A URL without a host.
    NoHost,
    /// A host that is neither a DNS name nor an IP address.
    BadHost,
    /// A wildcard, in any spelling.
    Wildcard,
    /// A multicast or broadcast address.
    Group,
    /// Several URLs joined by commas (etcd's advertise list): one is
    /// advertised.
    List,
    /// Elasticsearch's special value (`_site_`), with the selector that
    /// picks the addresses it stands for: no host a client can use.
    Elasticsearch(String),
    /// Kafka's `advertised.listeners` form, a listener's name where the
    /// scheme goes (`PLAINTEXT://broker1:9092`): no URL scheme, and Kafka's
    /// clients are told the host and port alone.
    KafkaListener {
        /// The listener's name, as written.
        name: String,
        /// What follows `://`.
        address: String,
    },
    /// An address in 0.0.0.0/8, "this network", which no client can
    /// connect to; where a port alone lands too (`8080` is 0.0.31.144 to
    /// a URL's reader).
    ThisNetwork,
    /// A Unix socket URL whose path is missing, relative or malformed.
    UnixPath,
    /// Port 0.
    PortZero,
    /// A user or password.
    Credentials,
    /// A path or query without a scheme.
    PathWithoutScheme,
    /// A value built in code whose text form parses as something else.
    NotReadBack,
}

impl fmt::Display for AdvertiseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdvertiseError::Separator => f.write_str(
                "it may not contain spaces, ';' or '#', which separate statements and comments in a spec",
            ),
            AdvertiseError::Url(error) => write!(f, "{error}"),
            AdvertiseError::NoHost => f.write_str("it names no host"),
            AdvertiseError::BadHost => {
                f.write_str("the host is not a valid DNS name or IP address")
            }
            AdvertiseError::Wildcard => f.write_str(
                "a wildcard is where a server listens, never where clients connect; advertise a name or address clients can reach",
            ),
            AdvertiseError::Group => f.write_str(
                "a multicast or broadcast address is a group, not one server clients can connect to; advertise this server's own name or address",
            ),
            AdvertiseError::List => f.write_str(
                "it is a list of URLs, and an endpoint advertises one: give the one clients use",
            ),
            AdvertiseError::Elasticsearch(selector) => write!(
                f,
                "it is Elasticsearch's special value, which names addresses to pick ({selector} here), not a host clients can use: advertise this server's own name or address"
            ),
            AdvertiseError::KafkaListener { name, address } => write!(
                f,
                "it is a Kafka listener, {name:?}, whose name is no URL scheme: advertise {address} (a host and port, which each endpoint gets with its own scheme, as Kafka's clients are told the host and port alone)"
            ),
            AdvertiseError::ThisNetwork => f.write_str(
                "it is an address in 0.0.0.0/8, \"this network\", which no client can connect to (a number alone is one: 8080 reads as 0.0.31.144); advertise this server's own name or address, with the port after it (HOST:8080)",
            ),
            AdvertiseError::UnixPath => f.write_str(
                "a Unix socket's URL is unix:/ABSOLUTE/PATH, unix:@name (unixgram: alike) or http+unix://%2FABSOLUTE%2FPATH/",
            ),
            AdvertiseError::PortZero => f.write_str(
                "port 0 means \"any free port\" to the server, and no client can connect to it",
            ),
            AdvertiseError::Credentials => f.write_str("it may not carry a user or password"),
            AdvertiseError::PathWithoutScheme => f.write_str(
                "without a scheme only HOST or HOST:PORT is allowed; write a full URL for a path",
            ),
            AdvertiseError::NotReadBack => f.write_str("it does not read back as itself"),
        }
    }
}

impl std::error::Error for AdvertiseError {}

/// Why a port or range was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortsError {
    /// Not a whole number from 0 to 65535.
    NotAPort,
    /// A range that starts at 0 or does not go up.
    NotARange,
    /// A word that is no number: most likely a Unix socket path written
    /// without its `/`, `./` or `@`.
    NotAPortOrPath,
}

impl fmt::Display for PortsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortsError::NotAPort => "not a port number",
            PortsError::NotARange => "not a range",
            PortsError::NotAPortOrPath => {
                "not a port number, nor a Unix socket path, which starts with /, ./ or ../ (like http:./app.sock on a network NAME = unix), or @ for an abstract name"
            }
        })
    }
}

impl std::error::Error for PortsError {}

/// Which kind of line an option stands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Place {
    /// `NAME = selectors options`.
    Network,
    /// `NETWORK.NAME = PROTOCOL:PORTS options`.
    Endpoint,
}

impl Place {
    /// Every option the line takes, as a sentence.
    fn usage(self) -> &'static str {
        match self {
            Place::Network => {
                "a network takes expose=public|private|local, shared and advertise URL"
            }
            Place::Endpoint => {
                "an endpoint takes backlog=N, reuseport, v6only[=false], device[=IFNAME], freebind and advertise URL; one on a Unix socket file also mode=660, owner=USER, group=GROUP, stale=replace|refuse and keep-file"
            }
        }
    }
}

/// Why an option was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionError {
    /// `backlog=` without a whole number.
    Backlog,
    /// `v6only=` with something other than `true` or `false`.
    V6only,
    /// `device=` without an interface name.
    Device,
    /// `mode=` without octal permission bits.
    Mode,
    /// `owner=` or `group=` with no user or group name or id.
    Account,
    /// `stale=` with an unknown choice.
    Stale,
    /// `advertise` at the end of a line.
    MissingValue,
    /// Spaces around an option's `=` (`backlog = 1024`), which split it
    /// into words.
    SpacedEquals {
        /// The option as one word (`backlog=1024`).
        joined: String,
    },
    /// An endpoint option on a line of its own, as an endpoint
    /// (PHP-FPM's `listen.mode = 0660`).
    OwnLine {
        /// The option as one word (`mode=0660`).
        joined: String,
    },
    /// An option this line does not know, with the nearest one it does.
    Unknown {
        /// The line it stands on.
        place: Place,
        /// The known option nearest to what was written.
        near: Option<&'static str>,
    },
    /// An option built in code whose text form parses as something else
    /// (`mode` past 777, an owner name with a space).
    NotReadBack,
    /// An option of the other kind of line.
    Misplaced {
        /// Where it belongs.
        belongs: Place,
    },
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionError::Backlog => f.write_str("backlog takes a whole number, like backlog=1024"),
            OptionError::V6only => f.write_str("v6only takes true or false"),
            OptionError::Device => f.write_str("device takes an interface name, like device=eth2"),
            OptionError::Mode => f.write_str(
                "mode takes permission bits in octal, at most 777, like mode=660 or mode=0660",
            ),
            OptionError::Account => f.write_str(
                "it takes a user or group name (up to 32 letters, digits, '.', '_', '-', not starting with '-') or a numeric id below 4294967295, like owner=www-data or group=33",
            ),
            OptionError::Stale => f.write_str(
                "stale takes replace (remove a socket file no one accepts on) or refuse (leave any file for a person)",
            ),
            OptionError::MissingValue => f.write_str("advertise needs a URL or host after it"),
            OptionError::SpacedEquals { joined } => {
                write!(f, "an option is one word: write {joined}, without spaces around =")
            }
            OptionError::OwnLine { joined } => write!(
                f,
                "an endpoint's option on a line of its own, as PHP-FPM writes `listen.mode`; write {joined} after the endpoint's PROTOCOL:PORT or PATH, on its line"
            ),
            OptionError::Unknown { place, near } => f.write_str(&with_usage(
                near.map(|n| format!("did you mean {n}?")).as_ref(),
                place.usage(),
            )),
            OptionError::NotReadBack => f.write_str("it does not read back as itself"),
            OptionError::Misplaced { belongs } => f.write_str(misplaced(*belongs)),
        }
    }
}

impl std::error::Error for OptionError {}

fn misplaced(belongs: Place) -> &'static str {
    match belongs {
        Place::Endpoint => {
            "it is an endpoint option: put it on the endpoint's line, like NET.NAME = http:9100 OPTION"
        }
        Place::Network => {
            "it is a network option: put it on the network's line, like NET = SELECTORS OPTION"
        }
    }
}

/// A [`SpecErrorKind`] with where it was found, when it came from text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Located {
    /// 1-based line number, when the spec came from text.
    pub line: Option<usize>,
    /// The statement as written, with the first of its errors; the ones
    /// after it from the same statement have none, so a statement is held
    /// and printed once however many errors it has. Held as written; the
    /// error's text and JSON show a URL's user and password in it as `***`.
    pub statement: Option<String>,
    /// The layer it came from, as its caller named it (`config.toml
    /// [listen]`, `--listen #2`), when the spec was built from layers.
    pub layer: Option<String>,
    /// What is wrong.
    pub kind: SpecErrorKind,
}

/// Every problem found in a spec, not just the first.
///
/// ```
/// use listenspec::ListenSpec;
///
/// let err = "ops = if:eth2 device\nops.metrics = http:9100".parse::<ListenSpec>().unwrap_err();
/// assert_eq!(err.errors().len(), 1);
/// assert_eq!(err.errors()[0].line, Some(1));
/// // `device` is an endpoint option, and the message says where it goes.
/// assert!(err.to_string().contains("it is an endpoint option"), "{err}");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SpecError {
    errors: Vec<Located>,
    /// The networks the spec defines, in the order written, when an endpoint
    /// names one that is not defined (`None` otherwise, and then the list
    /// may not be known: a single layer is checked without the others).
    /// Kept as names, not as the line the text prints, so the JSON form
    /// can list them too.
    defined: Option<Vec<Name>>,
    /// For a name that is not defined (`opps.metrics`, `-opps`), the one
    /// meant when a defined network's name is a slip away (`ops.metrics`),
    /// as (written, meant).
    meant: Vec<(String, String)>,
}

/// How many network names the listing under the errors shows.
const LISTED_NETWORKS: usize = 32;

/// How many undefined names get a "did you mean".
const GUESSED: usize = 8;

impl SpecError {
    pub(crate) fn unlocated(kinds: Vec<SpecErrorKind>, networks: &[Network]) -> SpecError {
        let errors = kinds
            .into_iter()
            .map(|kind| Located {
                line: None,
                statement: None,
                layer: None,
                kind,
            })
            .collect();
        SpecError::new(errors, networks)
    }

    pub(crate) fn new(errors: Vec<Located>, networks: &[Network]) -> SpecError {
        let unknown = |e: &Located| matches!(e.kind, SpecErrorKind::UnknownNetwork { .. });
        let defined = errors
            .iter()
            .any(unknown)
            .then(|| networks.iter().map(|n| n.name().clone()).collect());
        // A guess is for a person's slip in a spec of a few networks
        // (`GUESSED_AMONG`): a generated spec of thousands gets none.
        let mut meant: Vec<(String, String)> = Vec::new();
        let misnamed = errors.iter().filter_map(|e| match &e.kind {
            SpecErrorKind::UnknownNetwork { endpoint } => Some(endpoint.to_string()),
            SpecErrorKind::NothingToRemove(name) => Some(format!("-{name}")),
            _ => None,
        });
        let guessed = if networks.len() <= super::suggest::GUESSED_AMONG {
            GUESSED
        } else {
            0
        };
        for written in misnamed.take(guessed) {
            let (dash, name) = written.split_at(usize::from(written.starts_with('-')));
            let (network, endpoint) = name.split_once('.').unwrap_or((name, ""));
            let names = || networks.iter().map(|n| n.name().as_str());
            // A network that is defined is not the slip: its endpoint is,
            // and no other network's endpoint of that name is the guess.
            if names().any(|n| n == network) {
                continue;
            }
            let Some(near) = super::suggest::closest(network, names()) else {
                continue;
            };
            let guess = match endpoint {
                "" => format!("{dash}{near}"),
                endpoint => format!("{dash}{near}.{endpoint}"),
            };
            if !meant.iter().any(|(w, _)| *w == written) {
                meant.push((written, guess));
            }
        }
        SpecError {
            errors,
            defined,
            meant,
        }
    }

    /// The problems, in the order found.
    pub fn errors(&self) -> &[Located] {
        &self.errors
    }

    /// Every network the spec defines, in the order written, when an
    /// endpoint names one that is not defined (`None` when no error needs
    /// the list); the text lists the first 32 of them under the errors.
    ///
    /// ```
    /// let err = "public = *\nops = loopback\nadmin.http = http:8080"
    ///     .parse::<listenspec::ListenSpec>()
    ///     .unwrap_err();
    /// let names: Vec<&str> = err.defined_networks().unwrap().iter().map(|n| n.as_str()).collect();
    /// assert_eq!(names, ["public", "ops"]);
    /// ```
    pub fn defined_networks(&self) -> Option<&[Name]> {
        self.defined.as_deref()
    }

    /// For a name that is not defined, the one meant, when a defined
    /// network's name is a slip away: (`opps.metrics`, `ops.metrics`), as
    /// the text's `did you mean` lines say.
    #[cfg(feature = "serde")]
    pub(crate) fn meant(&self) -> &[(String, String)] {
        &self.meant
    }
}

/// Spec text echoed in a message with each control character but a tab
/// escaped (`\u{1b}`), and each bidirectional formatting character or line
/// separator (`\u{202e}`): a statement, a value a variable put into it, or
/// a layer's name may hold an escape sequence or a carriage return, which
/// printed raw would rewrite the terminal or forge a line of the report,
/// or a right-to-left override, which would show other text than it is.
///
/// A word (a run without spaces) is shown up to [`WORD_SHOWN`] characters
/// and the whole text up to [`TEXT_SHOWN`], then how many bytes were left
/// out: a value or statement thousands of times longer than any real one
/// (a megabyte of URL from a broken template) is still an error of a few
/// lines, which names it by its start.
pub(crate) struct Escaped<T>(pub(crate) T);

/// The most of one word a message echoes, in characters: longer than any
/// name, path, URL or selector a spec holds by intent.
pub(crate) const WORD_SHOWN: usize = 256;
/// The most of one text (a message, a statement) echoed, in characters.
pub(crate) const TEXT_SHOWN: usize = 2048;

impl<T: fmt::Display> fmt::Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Out {
            f,
            shown: 0,
            word: 0,
            cut: 0,
        };
        fmt::Write::write_str(&mut out, &hide_userinfo(&self.0.to_string()))?;
        out.end_word()
    }
}

/// `text` with the user and password of every URL in it (`://USER:PASSWORD@`)
/// shown as `***`: a refused `advertise https://admin:hunter2@a.example`,
/// or a value from a secret's variable, would otherwise put the password
/// in the logs that print the error, twice (the value and its statement).
pub(crate) fn hide_userinfo(text: &str) -> std::borrow::Cow<'_, str> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        // To the last `@` before the word ends: a password may hold `/`,
        // `?` or `#` unescaped (a base64 secret does), and a path with an
        // `@` in it loses its host to `***` rather than a password show.
        let end = after
            .find(|c: char| "\"'`,;()<>{}".contains(c) || c.is_whitespace())
            .unwrap_or(after.len());
        out.push_str(before);
        // The rest of the word holds no `@` after that one, so no other
        // URL's userinfo: it goes as it is, each word looked at once.
        // An empty one (`unix://@abstract`) has nothing to hide.
        let shown = match after[..end].rfind('@').filter(|&at| at > 0) {
            Some(userinfo) => {
                out.push_str("***");
                userinfo
            }
            None => 0,
        };
        out.push_str(&after[shown..end]);
        rest = &after[end..];
    }
    if out.is_empty() {
        return text.into();
    }
    out.push_str(rest);
    out.into()
}

/// Text from outside (a config's value, an environment variable) quoted
/// as `Debug` quotes a string, then through [`Escaped`]: its start only
/// when it is long.
pub(crate) struct Quoted<'a>(pub(crate) &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Escaped(format_args!("{:?}", self.0)))
    }
}

/// The writer behind [`Escaped`].
struct Out<'a, 'b> {
    f: &'a mut fmt::Formatter<'b>,
    /// Characters shown so far.
    shown: usize,
    /// Characters of the current word shown so far.
    word: usize,
    /// Bytes left out since the last note: of the current word, or past
    /// `TEXT_SHOWN` of everything after.
    cut: usize,
}

impl Out<'_, '_> {
    fn end_word(&mut self) -> fmt::Result {
        if self.cut > 0 {
            write!(self.f, "… ({} more bytes)", self.cut)?;
        }
        self.word = 0;
        self.cut = 0;
        Ok(())
    }
}

impl fmt::Write for Out<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.shown >= TEXT_SHOWN {
                // The rest is one note, at the end.
                self.cut += c.len_utf8();
            } else if c == ' ' || c == '\t' {
                self.end_word()?;
                self.f.write_char(c)?;
                self.shown += 1;
            } else if self.word < WORD_SHOWN {
                self.word += 1;
                self.shown += 1;
                if c.is_control() {
                    write!(self.f, "{}", c.escape_debug())?;
                } else if crate::is_unprintable(c) {
                    write!(self.f, "{}", c.escape_unicode())?;
                } else {
                    self.f.write_char(c)?;
                }
            } else {
                self.cut += c.len_utf8();
            }
        }
        Ok(())
    }
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.layer, self.line) {
            (Some(layer), Some(l)) => write!(f, "{} line {l}: ", Escaped(layer))?,
            (Some(layer), None) => write!(f, "{}: ", Escaped(layer))?,
            (None, Some(l)) => write!(f, "line {l}: ")?,
            (None, None) => {}
        }
        write!(f, "{}", Escaped(&self.kind))?;
        if let Some(s) = &self.statement {
            write!(f, "\n    {}", Escaped(s))?;
        }
        Ok(())
    }
}

crate::debug_is_message!(SpecError {
    errors,
    defined,
    meant
});

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::write_list(f, ("the listen spec has ", "error", ""), "  ", &self.errors)?;
        match &self.defined {
            Some(defined) if defined.is_empty() => f.write_str("\nthe spec defines no network")?,
            Some(defined) => {
                f.write_str("\ndefined networks: ")?;
                for (i, name) in defined.iter().take(LISTED_NETWORKS).enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(name.as_str())?;
                }
                if let Some(more) = defined
                    .len()
                    .checked_sub(LISTED_NETWORKS)
                    .filter(|&n| n > 0)
                {
                    write!(f, " and {more} more")?;
                }
            }
            None => {}
        }
        for (written, meant) in &self.meant {
            write!(
                f,
                "\ndid you mean {} for {}?",
                Escaped(meant),
                Escaped(written)
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

/// A listen address as another program spells it (Go, std, Caddy, etcd,
/// Kafka, tokio-listener, nginx, HAProxy, Apache, Docker, Puma, sshd,
/// Redis, a shell, a config file, a call in code), recognised so that the
/// error says what to write here instead of only that the grammar did not
/// read it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForeignForm {
    /// `127.0.0.1` or `::1`: an address without a port.
    NoPort {
        /// The address.
        host: String,
    },
    /// `127.0.0.1%lo:8080`: an IPv4 address with a zone, which only a
    /// link-local IPv6 address has (Go ignores it).
    ZonedIpv4 {
        /// The address.
        addr: String,
        /// The zone, as written.
        zone: String,
        /// The port, if one follows.
        port: Option<String>,
    },
    /// `127.0.0.1:` or `:`: an empty port, which Go reads as port 0.
    EmptyPort {
        /// The address before the `:`, as written (empty for `:`).
        host: String,
    },
    /// `127.0.0.1:http`: a service's name where the port goes.
    NamedPort {
        /// The host as written.
        host: String,
        /// The service's name.
        service: String,
    },
    /// `::1:8080` or `fe80::1%eth0:80`: IPv6 and a port without brackets.
    UnbracketedIpv6 {
        /// The address before the last `:`.
        addr: String,
        /// What follows the last `:`.
        port: String,
    },
    /// A Caddyfile's site block opened, `localhost:8080 {`: Caddy binds
    /// every address on the site's port, and its host only picks the
    /// requests it answers there.
    CaddySite {
        /// The site's host, when it has one (`localhost`, `[::1]`).
        host: Option<String>,
        /// Its port, or the one its scheme, or HTTPS, implies.
        port: String,
        /// `http` or `https`: what clients use.
        scheme: &'static str,
    },
    /// Caddy's network address, `tcp/HOST:PORT` or `udp/HOST:PORT`.
    Caddy {
        /// As written: `tcp`, `tcp4`, `tcp6`, `udp`, `udp4` or `udp6`.
        network: String,
        /// `HOST:PORT`, the port maybe a range.
        address: String,
    },
    /// A Unix socket with its mode after a bar (`/run/app.sock|0660`), or
    /// Caddy's `unix//PATH`.
    UnixSpelling {
        /// The path.
        path: String,
        /// The mode after the bar, if any.
        mode: Option<String>,
    },
    /// Several addresses in one value, separated by commas (etcd's URL
    /// lists, Kafka's listeners).
    List {
        /// How many values there are.
        count: usize,
    },
    /// A value with `#` right after it (`127.0.0.1:8080#api`): `#` starts a
    /// comment, so what was meant is unclear (a URL's fragment, which is
    /// no part of a listen address, or a comment without its space).
    GluedComment {
        /// The value before the `#`.
        value: String,
    },
    /// A URL with a path, a query or a fragment, which is no part of a
    /// listen address.
    UrlPath {
        /// The URL without its path.
        address: String,
    },
    /// One of tokio-listener's options (`--tcp-reuse-port`,
    /// `--unix-listen-chmod=group`, or `unix_listen_chmod = "group"` as its
    /// serde form writes it).
    TokioListener {
        /// The option as its command line spells it (`--unix-listen-chmod`).
        flag: String,
        /// This grammar's endpoint option for it (`mode=660`), if it has one.
        option: Option<String>,
    },
    /// A URL with socket options in its query, as Puma writes them
    /// (`tcp://0.0.0.0:9292?backlog=1024`, `unix:///run/puma.sock?umask=0111`,
    /// `ssl://0.0.0.0:9292?key=…&cert=…`).
    UrlQuery {
        /// The URL without its query (`https://` for Puma's `ssl://`).
        address: String,
        /// The query's pairs, in this grammar's spelling where it has the
        /// option (`umask=0111` is `mode=0666`); `ssl` for `ssl://`.
        options: Vec<String>,
    },
    /// tokio-listener's `sd-listen`, `sd-listen:NAME` or `sd-listen:*` (and
    /// its other spellings: `SD_LISTEN`, `sd_listen`, `sd-listen-unix`).
    SdListen {
        /// The name after `sd-listen:`, if one.
        name: Option<String>,
    },
    /// `http:8080`: an endpoint's protocol and port without its network.
    EndpointOnly {
        /// The protocol.
        protocol: String,
        /// The port or range.
        port: String,
    },
    /// Kafka's `PLAINTEXT://HOST:PORT`: a listener's name as the scheme.
    Listener {
        /// The listener's name.
        name: String,
        /// `HOST:PORT`.
        address: String,
    },
    /// etcd's `unix://HOST:PORT` or `unixs://…`: a Unix socket whose file is
    /// named after the URL's host and port, in the working directory.
    EtcdUnix {
        /// The socket file's path, as etcd would make it.
        path: String,
        /// `unixs://`: TLS on the socket.
        tls: bool,
    },
    /// tokio-listener's `inetd` (or `stdio`, or `-`): one connection on
    /// standard input and output, where nothing is bound.
    Inetd,
    /// systemd's `[ADDRESS]:PORT%DEV` (`ListenStream=`): an IPv6 address
    /// with its interface scope written after the port.
    ScopeAfterPort {
        /// The address, without brackets.
        addr: String,
        /// The port.
        port: String,
        /// The interface's name or index after the `%`.
        zone: String,
    },
    /// tokio-listener's `vsock:CID:PORT`: a virtual machine socket.
    Vsock {
        /// `CID:PORT`.
        address: String,
    },
    /// `8080`: a port without an address (nginx's `listen 8080`, a
    /// `--port` flag's value).
    PortOnly {
        /// The port.
        port: String,
    },
    /// `*:8080`: every IPv4 address, as nginx and HAProxy write it.
    Star {
        /// The port.
        port: String,
    },
    /// `tcp://:2375`: a TCP URL without a host, which Docker's `-H` reads
    /// as localhost and Go's and Kafka's as every address.
    EmptyHostUrl {
        /// The port.
        port: String,
    },
    /// `http://*:8080` or `http://+:8080`: every address, as ASP.NET Core
    /// (Kestrel, `ASPNETCORE_URLS`) writes it.
    AnyHostUrl {
        /// The scheme.
        scheme: String,
        /// The port, if written.
        port: Option<String>,
    },
    /// `HOST:FIRST-LAST`: a range of ports on one address, which takes an
    /// endpoint of its own here.
    PortRange {
        /// The host as written: an address, a name, `*` or nothing.
        host: String,
        /// `FIRST-LAST`.
        ports: String,
    },
    /// HAProxy's `PREFIX@ADDRESS` (`ipv4@`, `ipv6@`, `tcp@`, `tcp4@`,
    /// `tcp6@`, `udp@`, `udp4@`, `udp6@`, `unix@`, `uxst@`, `uxdg@`, `abns@`,
    /// `abnsz@`, `fd@`, `sockpair@`).
    Haproxy {
        /// The prefix, without the `@`.
        prefix: String,
        /// What follows the `@`.
        address: String,
    },
    /// A network or protocol and an address in one value, without a URL's
    /// `//`: Go's `net.Listen("tcp4", ":80")` joined as `tcp4:80` or
    /// `tcp4::80`, `tcp:127.0.0.1:80`, and the URL-like `tcp6://[::1]:80`.
    NetworkPrefix {
        /// As written: `tcp`, `tcp4`, `tcp6`, `udp`, `udp4`, `udp6`,
        /// `http` or `https`.
        network: String,
        /// `HOST:PORT`, or `:PORT` for a port alone.
        address: String,
    },
    /// A socket passed to the process, by its number or name: `fd:3`,
    /// Docker's `fd://`, `fd://3` or `fd://NAME`, Caddy's `fd/3`,
    /// `fdgram/3` or `fdname/NAME`, tokio-listener's `accept-from-fd:3`.
    PassedFd,
    /// A URL whose scheme is no protocol here: `grpc://127.0.0.1:50051`,
    /// `h2c://…`, `ws://…`.
    Scheme {
        /// The scheme.
        scheme: String,
        /// `HOST:PORT`.
        address: String,
    },
    /// A command line with the address and the port in two flags:
    /// uvicorn's and Flask's `--host 0.0.0.0 --port 8000`, Jupyter's `--ip`;
    /// or an environment with them in two variables, `HOST=0.0.0.0
    /// PORT=3000`.
    HostAndPort {
        /// The `--host` value, without brackets.
        host: String,
        /// The `--port` value.
        port: String,
    },
    /// A value on an IPv4-mapped address (`[::ffff:0.0.0.0]:80`), how an
    /// IPv6 socket sees IPv4 peers.
    Mapped {
        /// The value on the IPv4 address itself.
        value: String,
    },
    /// Values separated by `;` inside quotes, as ASP.NET Core's
    /// `ASPNETCORE_URLS="http://+:80;https://+:443"` lists URLs: `;`
    /// separates statements here, quotes or not, so each piece would be
    /// read with a stray quote.
    QuotedSemicolons,
    /// Several addresses in one value, separated by spaces (a `$LISTEN`
    /// written as a shell list).
    Spaced {
        /// How many values there are.
        count: usize,
    },
    /// An address with its protocol after a slash (`:80/udp`), as
    /// Traefik's entry points write it.
    ProtocolAfter {
        /// The address.
        address: String,
        /// `tcp` or `udp`.
        protocol: String,
    },
    /// A call from code whose host is a variable or an expression
    /// (`server.listen(3000, HOST)`), which no text here can stand for.
    CallHost {
        /// The function called, with its `(`.
        call: String,
        /// The port.
        port: String,
    },
    /// One value with a comma before or after it (`:8080,`), as a list in
    /// another syntax leaves.
    StrayComma {
        /// The value.
        value: String,
    },
    /// A socket path with a space in it (`/tmp/my app.sock`), which a
    /// spec cannot hold: spaces separate values.
    SpacedPath {
        /// The path, its spaces turned to `_`.
        suggested: String,
    },
    /// Docker's port mapping, `[HOST_IP:]PUBLISHED:PORT`: the port the
    /// server listens on is the last.
    PortMapping {
        /// The port the server listens on, in its container.
        port: String,
        /// The host's address Docker publishes it on, if written.
        published_on: Option<String>,
        /// Whether it maps UDP (`/udp` after it); TCP otherwise.
        udp: bool,
    },
    /// `80/tcp`, `53/udp`: a container's port with its protocol, as
    /// Docker's `EXPOSE` and `-p` write it.
    ContainerPort {
        /// The port the server listens on, in its container.
        port: String,
        /// Whether it is UDP; TCP otherwise.
        udp: bool,
    },
    /// Elasticsearch's special values, `_local_`, `_site_`, `_global_`,
    /// `_eth0_` (maybe `:ipv4` or `:ipv6` before the last `_`), with a port
    /// or not.
    Elasticsearch {
        /// The selector that picks the same addresses.
        selector: String,
        /// The port, if written.
        port: Option<String>,
    },
    /// A selector of this grammar with a port after it (`loopback:8080`,
    /// `if:eth0:8080`, `10.0.0.0/8:8080`), or gRPC's `ipv4:ADDRESS:PORT`.
    SelectorPort {
        /// The selector.
        selector: String,
        /// The port.
        port: String,
    },
    /// gRPC's `unix-abstract:NAME`: an abstract Unix socket.
    UnixAbstract {
        /// The socket's name.
        name: String,
    },
    /// ASP.NET Core's `http://unix:/PATH`: a Unix socket.
    KestrelUnix {
        /// `http` or `https`.
        scheme: String,
        /// The socket's path.
        path: String,
    },
    /// Caddy's `unixgram//PATH`, `unix+h2c//PATH` or `unixpacket//PATH`.
    CaddyUnix {
        /// `unixgram`, `unix+h2c` or `unixpacket`.
        network: String,
        /// The socket's path.
        path: String,
    },
    /// A directive, a command-line flag, a config file's key, a shell's
    /// export or a call in code pasted with its value: nginx's `listen
    /// 80`, Apache's `Listen 8443 https`, HAProxy's `bind :443 ssl`, sshd's
    /// `ListenAddress 0.0.0.0`, Caddy's `http_port 8080`, gunicorn's
    /// `--bind ADDRESS`, Docker's `-p 8080:80`, `network.host: 0.0.0.0`,
    /// `listen = "127.0.0.1:8080"`, `export LISTEN=:80`,
    /// `net.Listen("tcp4", ":8080")`. A key that names what clients are
    /// told (`--advertise-client-urls`) is told `advertise`.
    Pasted {
        /// The directive, flag or key: `listen`, `bind`, `--bind`, `-p`,
        /// `network.host:` (with its colon), `listen =`, `export LISTEN=`,
        /// `net.Listen(` (a call's name with its parenthesis), ...
        word: String,
        /// What follows it.
        value: String,
    },
    /// A systemd socket unit's `ListenStream=`, `ListenDatagram=`,
    /// `ListenSequentialPacket=` or `ListenFIFO=` line, or one of what is
    /// no socket (`ListenNetlink=`, `ListenSpecial=`,
    /// `ListenMessageQueue=`, `ListenUSBFunction=`).
    Systemd {
        /// `ListenStream` and so on.
        directive: String,
        /// What follows the `=`.
        value: String,
    },
    /// An address with options after it, as nginx's `listen` and HAProxy's
    /// `bind` take them: `[::]:80 ipv6only=on`, `443 ssl http2`.
    WithOptions {
        /// The address: the first word.
        address: String,
        /// The words after it.
        options: Vec<String>,
    },
    /// `[::]:80;`: nginx's listen value with the `;` that ends the
    /// directive. nginx binds `[::]` on IPv6 alone, where `[::]:80` alone
    /// here is both families on Linux and macOS.
    Terminated {
        /// The value without its `;`.
        value: String,
    },
    /// A `bind` line of addresses without a port: Redis's, each maybe `-`
    /// (skipped where the host lacks it), `*` or `::*`, or Caddy's
    /// directive (`bind 127.0.0.1 [::1]`), whose port is the site's; or
    /// Caddy's global option `default_bind`, every site's.
    Redis {
        /// `bind` or `default_bind`.
        directive: String,
        /// The addresses as written.
        addresses: Vec<String>,
    },
    /// A value still in the quotes of the file it came from (`':9090'`).
    Quoted {
        /// The value without them.
        inner: String,
    },
    /// A go-sockaddr template, as Consul's `bind_addr` takes
    /// (`{{ GetPrivateIP }}`), which nothing here evaluates.
    SockaddrTemplate {
        /// The selectors that pick what the template would, when it is one
        /// of the common ones (`private, ipv4` for `GetPrivateIP`).
        selectors: Option<String>,
        /// IPv6 addresses written beside a template of IPv4 alone
        /// (`::1 {{ GetPrivateIP }}`): the template's `ipv4` would drop
        /// them from its network, so each needs a network of its own.
        apart: Vec<String>,
    },
}

impl ForeignForm {
    /// What the form was recognised as.
    fn what(&self) -> String {
        match self {
            ForeignForm::NoPort { host } if super::shorthand::is_endpoint_name(host) => {
                "a host name without a port, or an endpoint line without its `= protocol:port`"
                    .to_owned()
            }
            ForeignForm::NoPort { host } if super::shorthand::is_dotted_name(host) => {
                "a host name without a port".to_owned()
            }
            ForeignForm::NoPort { .. } => "an address without a port".to_owned(),
            ForeignForm::EmptyPort { .. } => {
                "an address with an empty port, which Go reads as port 0".to_owned()
            }
            ForeignForm::ZonedIpv4 { .. } => {
                "an IPv4 address with a zone, which only a link-local IPv6 address has".to_owned()
            }
            ForeignForm::NamedPort { service, .. } => {
                format!("an address with the service name {service:?} for its port")
            }
            ForeignForm::UnbracketedIpv6 { .. } => {
                "an IPv6 address and a port without brackets, which cannot be told apart".to_owned()
            }
            ForeignForm::Caddy { .. } => "Caddy's network address form".to_owned(),
            ForeignForm::CaddySite { .. } => "a Caddyfile's site address".to_owned(),
            ForeignForm::UnixSpelling { mode: Some(_), .. } => {
                "a Unix socket with its mode after a bar, as Caddy writes it".to_owned()
            }
            ForeignForm::UnixSpelling { mode: None, .. } => {
                "a Unix socket as Caddy writes it".to_owned()
            }
            ForeignForm::List { count } => {
                format!("{count} addresses in one value, separated by commas")
            }
            ForeignForm::UrlPath { .. } => {
                "a URL with a path, a query or a fragment, which is no part of a listen address"
                    .to_owned()
            }
            // Puma's options, or a socket option alone (`?ipv6only=true`).
            ForeignForm::UrlQuery { options, .. }
                if options.iter().all(|o| o.starts_with("ipv6only=") || o.starts_with("v6only=")) =>
            {
                "a URL with a socket option in its query".to_owned()
            }
            ForeignForm::UrlQuery { .. } => {
                "a URL with options in its query, as Puma takes them".to_owned()
            }
            ForeignForm::TokioListener { flag, .. } => format!("tokio-listener's option {flag}"),
            ForeignForm::GluedComment { .. } => {
                "an address with a '#' right after it, which starts a comment here".to_owned()
            }
            ForeignForm::SdListen { .. } => "tokio-listener's socket activation form".to_owned(),
            ForeignForm::EndpointOnly { .. } => {
                "an endpoint's protocol and port without its network".to_owned()
            }
            ForeignForm::Listener { name, .. } => {
                format!("a Kafka listener, {name:?}, whose name is not a protocol")
            }
            ForeignForm::EtcdUnix { tls: false, .. } => {
                "etcd's Unix socket URL, whose file is named after its host and port".to_owned()
            }
            ForeignForm::EtcdUnix { tls: true, .. } => {
                "etcd's Unix socket URL with TLS, whose file is named after its host and port"
                    .to_owned()
            }
            ForeignForm::SockaddrTemplate { .. } => {
                "a go-sockaddr template (Consul's), which nothing here evaluates".to_owned()
            }
            ForeignForm::Inetd => {
                "tokio-listener's inetd mode, one connection on standard input and output"
                    .to_owned()
            }
            ForeignForm::Vsock { .. } => {
                "systemd's and tokio-listener's virtual machine socket (vsock), which listenspec does not bind"
                    .to_owned()
            }
            ForeignForm::ScopeAfterPort { .. } => {
                "an address with its interface scope after the port, as systemd's ListenStream= writes it"
                    .to_owned()
            }
            ForeignForm::PortOnly { .. } => "a port without an address".to_owned(),
            ForeignForm::Star { .. } => {
                "every IPv4 address, as nginx and HAProxy write it".to_owned()
            }
            ForeignForm::AnyHostUrl { scheme, .. } if scheme.starts_with("http") => {
                "every address, as ASP.NET Core writes it".to_owned()
            }
            ForeignForm::AnyHostUrl { .. } => "every address, as ZeroMQ writes it".to_owned(),
            ForeignForm::EmptyHostUrl { .. } => {
                "a TCP URL without a host, which Docker reads as localhost and Go and Kafka as every address".to_owned()
            }
            ForeignForm::PortRange { .. } => "a range of ports on one address".to_owned(),
            ForeignForm::Haproxy { prefix, .. } => format!("HAProxy's {prefix}@ address form"),
            ForeignForm::NetworkPrefix { network, .. } if network.ends_with(['4', '6']) => {
                format!("Go's network name {network:?} and an address in one value")
            }
            ForeignForm::NetworkPrefix { .. } => {
                "a protocol and an address without the // of a URL".to_owned()
            }
            ForeignForm::PassedFd => {
                "a socket passed to the process, by its number or name (fd://)".to_owned()
            }
            ForeignForm::Scheme { scheme, .. } => {
                format!("a URL whose scheme, {scheme:?}, is no protocol here")
            }
            ForeignForm::Spaced { count } => {
                format!("{count} addresses in one value, separated by spaces")
            }
            ForeignForm::Mapped { .. } => {
                "a value on an IPv4-mapped address, how an IPv6 socket sees IPv4 peers, not an address of an interface".to_owned()
            }
            ForeignForm::QuotedSemicolons => {
                "a list in quotes whose values `;` separates, as ASP.NET Core's URLs are; `;` separates statements here, inside quotes too".to_owned()
            }
            ForeignForm::StrayComma { .. } => "one value with a comma beside it".to_owned(),
            ForeignForm::CallHost { call, .. } => format!(
                "a call of {call}…) from code whose host is a variable or an expression, which no text here stands for"
            ),
            ForeignForm::ProtocolAfter { .. } => {
                "an address with its protocol after a slash, as Traefik's entry points write it".to_owned()
            }
            ForeignForm::SpacedPath { .. } => {
                "a socket path with a space in it, which a spec cannot hold (spaces separate values)".to_owned()
            }
            ForeignForm::HostAndPort { .. } => {
                "a command line or an environment that gives the address and the port apart, in two flags or two variables".to_owned()
            }
            ForeignForm::PortMapping { .. } => {
                "Docker's port mapping, the published port then the container's".to_owned()
            }
            ForeignForm::ContainerPort { .. } => {
                "a container's port, as Docker's EXPOSE and -p write it".to_owned()
            }
            ForeignForm::Elasticsearch { .. } => "an Elasticsearch network value".to_owned(),
            ForeignForm::SelectorPort { .. } => "a selector and a port in one value".to_owned(),
            ForeignForm::UnixAbstract { .. } => "gRPC's abstract Unix socket address".to_owned(),
            ForeignForm::KestrelUnix { .. } => "a Unix socket as ASP.NET Core writes it".to_owned(),
            ForeignForm::Quoted { .. } => {
                "a value in quotes, which a config file's syntax left in".to_owned()
            }
            ForeignForm::Redis {
                directive,
                addresses,
            } => match bind_of(directive, addresses) {
                Bind::Redis => "Redis's bind line, whose port is set apart (`port`)".to_owned(),
                Bind::Caddy if directive == "default_bind" => {
                    "Caddy's default_bind option, whose port is each site's".to_owned()
                }
                Bind::Caddy => "Caddy's bind directive, whose port is the site's".to_owned(),
                Bind::Either => "a bind line of addresses alone, as Redis's (whose `port` sets the port) and Caddy's (whose site does)".to_owned(),
            },
            ForeignForm::Terminated { .. } => {
                "an address ended by `;` as nginx's listen is, where nginx binds [::] on IPv6 alone"
                    .to_owned()
            }
            ForeignForm::CaddyUnix { network, .. } => {
                format!("Caddy's {network} network address form")
            }
            ForeignForm::Systemd { directive, .. } => {
                format!("a systemd socket unit's {directive}= line")
            }
            ForeignForm::Pasted { word, value } => match word.as_str() {
                "listen" => "nginx's listen directive, pasted whole".to_owned(),
                "Listen" => "Apache's Listen directive, pasted whole".to_owned(),
                // HAProxy quotes no address; Puma's config file does.
                "bind" if super::shorthand::unquoted(value).is_some() => {
                    "Puma's bind line, pasted whole".to_owned()
                }
                "bind" => "a bind line (HAProxy's), pasted whole".to_owned(),
                "ListenAddress" => "sshd's ListenAddress directive, pasted whole".to_owned(),
                "-" => "a YAML list's item, pasted whole".to_owned(),
                "port" | "Port" => format!("a config file's {word} directive, pasted whole"),
                "http_port" | "https_port" | "admin" => {
                    format!("Caddy's {word} global option, pasted whole")
                }
                export if export.starts_with("export ") => format!(
                    "a shell's export of {}, pasted whole",
                    export["export ".len()..].trim_end_matches('=')
                ),
                key if key.starts_with('"') => format!("a JSON object's {key} member, pasted whole"),
                key if key.ends_with(':') => {
                    format!("a config file's {key} line (YAML), pasted whole")
                }
                key if key.ends_with(" =") => format!("a config file's `{key}` line, pasted whole"),
                key if key.ends_with('=') => {
                    format!("a config file's {key} line (Java properties), pasted whole")
                }
                call if call.ends_with('(') => format!("a call of {call}…) from code, pasted whole"),
                flag => format!("the command-line flag {flag} with its value"),
            },
            ForeignForm::WithOptions { options, .. }
                if options.iter().any(|o| is_network_option(o)) =>
            {
                "an address with options after it, which only a network's and an endpoint's lines take"
                    .to_owned()
            }
            ForeignForm::WithOptions { .. } => {
                "an address with options after it, as nginx's listen, HAProxy's bind and tokio-listener's flags take them"
                    .to_owned()
            }
        }
    }

    /// The spelling to write instead.
    fn instead(&self) -> String {
        match self {
            // nginx's `listen 127.0.0.1` is port 80: the one program that
            // takes an address alone means that port.
            // nginx's `listen [::]` is IPv6 alone (ipv6only=on), where
            // `[::]:80` here is both families on Linux and macOS.
            ForeignForm::NoPort { host }
                if host.trim_matches(['[', ']']).parse() == Ok(std::net::Ipv6Addr::UNSPECIFIED) =>
            {
                "a network and an endpoint with the port, on IPv6 alone as nginx's listen [::] is (port 80): `listen = :: expose=public` and `listen.tcp = tcp:80`; or [::]:8080, which takes IPv4 too on Linux and macOS".to_owned()
            }
            // PostgreSQL's and MySQL's `*`: every address of both families.
            ForeignForm::NoPort { host } if host == "*" => {
                ":8080 with the port to use, every address of both families; or 0.0.0.0:8080 for IPv4 alone".to_owned()
            }
            ForeignForm::NoPort { host } if super::shorthand::is_dotted_name(host) => format!(
                "{host}:8080 with the port to use, which listens on each address of this host the name resolves to{}{}",
                if super::shorthand::is_endpoint_name(host) {
                    format!("; or, for an endpoint, `{host} = tcp:8080`")
                } else {
                    String::new()
                },
                // `app.sock`: a socket file's name more likely than a host's.
                if host.ends_with(".sock") || host.ends_with(".socket") {
                    format!("; or ./{host} for a Unix socket in the working directory")
                } else {
                    String::new()
                }
            ),
            ForeignForm::NoPort { host } => match listenable(host) {
                Ok(host) if host.ends_with("%IFACE") => format!(
                    "{}:8080 with the interface it is on for IFACE and the port to use: a link-local address is that interface's alone",
                    bracketed(&host)
                ),
                Ok(host) => format!(
                    "{0}:8080 with the port to use ({0}:80 for nginx's `listen {0}`, which is port 80)",
                    bracketed(&host)
                ),
                Err(why) => format!("an address of this host with its port, such as 127.0.0.1:8080; {why}"),
            },
            ForeignForm::EmptyPort { host } => format!(
                "{host}:0 for any free port, as Go takes it, or {host}:PORT with the port to use"
            ),
            ForeignForm::ZonedIpv4 { addr, zone, port } => format!(
                "{addr}:{}{}; to pin its socket to {zone}, give its endpoint `device={zone}`",
                port.as_deref().unwrap_or("8080"),
                if port.is_some() { "" } else { " with the port to use" }
            ),
            ForeignForm::NamedPort { host, service } => {
                let port = match service.as_str() {
                    "http" => "80",
                    "https" => "443",
                    _ => "PORT",
                };
                // `[::ffff:127.0.0.1]`: the IPv4 address it is bound as.
                let bare = host.trim_matches(['[', ']']);
                let host = match bare.parse::<std::net::Ipv6Addr>().ok().and_then(|a| a.to_ipv4_mapped()) {
                    Some(v4) => v4.to_string(),
                    None => bracketed(bare),
                };
                format!("the port's number, {host}:{port}")
            }
            // `::ffff:127.0.0.1:80`: the IPv4 address is how it is bound.
            ForeignForm::UnbracketedIpv6 { addr, port } => {
                match addr.parse::<std::net::Ipv6Addr>().ok().and_then(|a| a.to_ipv4_mapped()) {
                    Some(v4) if v4.is_unspecified() => format!(
                        "0.0.0.0:{port} for every IPv4 address, which {addr} spells another way"
                    ),
                    Some(v4) => format!(
                        "{v4}:{port}, the IPv4 address {addr} maps (an IPv4-mapped address is how an IPv6 socket sees an IPv4 peer, not one to bind)"
                    ),
                    _ => format!(
                        "[{addr}]:{port} for port {port} on {addr}, or [ADDRESS]:PORT if all of it is the address"
                    ),
                }
            }
            ForeignForm::CaddySite { host: None, port, .. } => {
                format!(":{port} for every address of both families, as Caddy binds it")
            }
            ForeignForm::CaddySite { host: Some(host), port, scheme } => {
                let url = match (*scheme, port.as_str()) {
                    ("http", "80") | ("https", "443") => format!("{scheme}://{host}"),
                    _ => format!("{scheme}://{host}:{port}"),
                };
                format!(
                    ":{port} for every address of both families, as Caddy binds it: the site's host, {host}, picks the requests Caddy answers, not the addresses it binds (its bind directive does); to tell clients the host, `listen = * expose=public advertise {url}` and `listen.{scheme} = {scheme}:{port}`"
                )
            }
            ForeignForm::Caddy { network, address } => {
                let family = match &network[3..] {
                    "4" => Some(Family::V4),
                    "6" => Some(Family::V6),
                    _ => None,
                };
                on_family(&network[..3], family, address)
            }
            ForeignForm::UnixSpelling { path, mode: None } => format!("the path alone, {path}"),
            ForeignForm::UnixSpelling {
                path,
                mode: Some(mode),
            } if mode.bytes().all(|b| (b'0'..=b'7').contains(&b)) => format!(
                "a unix network and an endpoint with mode=: `listen = unix` and `listen.unix = unix:{path} mode={}`",
                match mode.trim_start_matches('0') {
                    "" => "0",
                    mode => mode,
                }
            ),
            ForeignForm::UnixSpelling { path, mode: Some(mode) } => format!(
                "a unix network and an endpoint with mode= in octal, its digits 0 to 7 ({mode} is no mode): `listen = unix` and `listen.unix = unix:{path} mode=660`"
            ),
            // uvicorn's `--host ::` is IPv6 alone (asyncio sets
            // IPV6_V6ONLY): the narrower reading.
            ForeignForm::HostAndPort { host, port } if host == "::" => {
                on_family("tcp", Some(Family::V6), &format!("[::]:{port}"))
            }
            ForeignForm::HostAndPort { host, port } => {
                format!("{}:{port}, the address and the port in one value", bracketed(host))
            }
            ForeignForm::StrayComma { value } => format!("{value} alone"),
            ForeignForm::CallHost { port, .. } => format!(
                "the address it holds with the port, ADDRESS:{port} (127.0.0.1:{port} for this host alone), or give the server a listen spec of its own instead of the host"
            ),
            ForeignForm::ProtocolAfter { address, protocol } => on_family(protocol, None, address),
            ForeignForm::SpacedPath { suggested } => {
                format!("a path without spaces, like {suggested}")
            }
            ForeignForm::List { .. } | ForeignForm::Spaced { .. } => {
                "one address per value: repeat --listen, or one per list entry or per line; they add up".to_owned()
            }
            ForeignForm::Mapped { value } => format!("{value}, on the IPv4 address itself"),
            ForeignForm::QuotedSemicolons => {
                "each value alone, without the quotes: repeat --listen, or one per list entry or per line; they add up".to_owned()
            }
            ForeignForm::GluedComment { value } => format!(
                "{value} alone (a URL's fragment is no part of a listen address), with a space before a comment"
            ),
            // A URL's `[::]` is both families, as HAProxy's is: not
            // nginx's IPv6 alone.
            ForeignForm::UrlQuery { address, options } => with_options(address, options, true),
            ForeignForm::TokioListener { flag, option } => tokio_listener(flag, option.as_deref()),
            ForeignForm::UrlPath { address } => {
                let address = told_alone(address).unwrap_or_else(|| address.clone());
                format!("{address}, and route the path (or read the query) in the server")
            }
            ForeignForm::SdListen { name } => format!(
                "{PASSED_BY_NAME}{}",
                name.as_ref()
                    .filter(|n| n.as_str() != "*")
                    .map(|n| format!(" (instead of the name {n:?})"))
                    .unwrap_or_default()
            ),
            ForeignForm::EndpointOnly { protocol, port } => format!(
                "an address too, {protocol}://127.0.0.1:{port} or :{port} for every address; or a network for it, `public = *` then `public.{protocol} = {protocol}:{port}`"
            ),
            ForeignForm::Listener { name, address } => {
                // Kafka's listener always has its port; tcp:// has no
                // default for one left out, nor a port of -1.
                let host_end = address.rfind(']').unwrap_or(0);
                let (host, port) = match address[host_end..].rfind(':') {
                    Some(at) => address.split_at(host_end + at),
                    None => (address.as_str(), ""),
                };
                let port = port
                    .strip_prefix(':')
                    .filter(|p| super::shorthand::is_port(p))
                    .unwrap_or("PORT");
                // Kafka writes an IPv6 host with or without brackets.
                let url = if host == "0.0.0.0" {
                    // Java binds `0.0.0.0` on an IPv6 socket that takes
                    // IPv4 too: both families, as `:PORT` here.
                    format!(
                        ":{port} for every address of both families, as Kafka binds 0.0.0.0 (tcp://0.0.0.0:{port} for IPv4 alone)"
                    )
                } else if host.contains(':') && !host.starts_with('[') {
                    as_url("tcp", &format!("[{host}]:{port}"))
                } else {
                    as_url("tcp", &format!("{host}:{port}"))
                };
                format!(
                    "{url}; a listener's name is an endpoint's name here, as in `NETWORK.{} = tcp:PORT`",
                    name.to_ascii_lowercase()
                )
            }
            ForeignForm::EtcdUnix { path, tls: false } => format!("the path, {path}"),
            ForeignForm::EtcdUnix { path, tls: true } => format!(
                "a unix network and an https endpoint: `listen = unix` and `listen.https = https:{path}`"
            ),
            ForeignForm::SockaddrTemplate { selectors: Some(selectors), apart } => {
                let (other, each) = match apart.as_slice() {
                    [] => (String::new(), "and an endpoint"),
                    _ => {
                        let list = apart.join(", ");
                        (
                            format!(", and another network for {list}, `OTHER = {list}`, which that one's `ipv4` would drop"),
                            "each with an endpoint",
                        )
                    }
                };
                format!(
                    "the selectors that pick its addresses, `NAME = {selectors}{}`{other}, {each} with the port on its own line (a selector takes every address it matches: name the address to take one alone)",
                    may_be_public(selectors)
                )
            }
            ForeignForm::SockaddrTemplate { selectors: None, .. } => "the selectors that pick its addresses: an address class (private, global, loopback), if:NAME, a CIDR block, ipv4 or ipv6, and an endpoint with the port on its own line".to_owned(),
            ForeignForm::Inetd => "an address to listen on, such as 127.0.0.1:8080: listenspec binds sockets, and a service manager that hands a process one connection (inetd, systemd's Accept=yes) needs no listen address".to_owned(),
            ForeignForm::Vsock { .. } => "a TCP address or a Unix socket the host forwards to the VM, such as 127.0.0.1:8080".to_owned(),
            // The kernel takes a scope only for a link-local address and
            // ignores it on any other: there the address alone is meant.
            ForeignForm::ScopeAfterPort { addr, port, zone } => scope_after_port(addr, port, zone, "tcp"),
            // A port alone means both families to systemd and a `--port`
            // flag, but every IPv4 address alone to nginx (`listen 80` is
            // `*:80`): each is named, so neither is widened.
            ForeignForm::PortOnly { port } => format!(
                ":{port} for every address of both families (systemd's ListenStream={port}), 0.0.0.0:{port} for every IPv4 address (nginx's `listen {port}`), or 127.0.0.1:{port} for this host only"
            ),
            ForeignForm::Star { port } => format!(
                "0.0.0.0:{port} for every IPv4 address, or :{port} for every address of both families"
            ),
            // A range of ports after `*`: an endpoint of its own.
            ForeignForm::AnyHostUrl {
                scheme,
                port: Some(port),
            } if port.contains('-') => {
                let protocol = if scheme == "udp" { "udp" } else { "tcp" };
                let selector = if scheme.starts_with("http") { "*" } else { "0.0.0.0" };
                format!(
                    "a network and an endpoint with the range: `listen = {selector} expose=public` and `listen.{protocol} = {protocol}:{port}`; a range here is one port, the first free"
                )
            }
            // ZeroMQ's `tcp://*` is IPv4 alone (unless ZMQ_IPV6).
            ForeignForm::AnyHostUrl {
                scheme,
                port: Some(port),
            } if !scheme.starts_with("http") => format!(
                "{scheme}://0.0.0.0:{port} for every IPv4 address (ZeroMQ's *), or {} for every address of both families",
                every_address(scheme, port)
            ),
            ForeignForm::AnyHostUrl { scheme, port } => match port {
                Some(port) => format!("{} for every address of both families", every_address(scheme, port)),
                None => format!("{scheme}:// with the port, {}, for every address of both families", every_address(scheme, "PORT")),
            },
            ForeignForm::EmptyHostUrl { port } => format!(
                "127.0.0.1:{port} for this host alone (what Docker's -H tcp://:{port} binds), or :{port} for every address of both families"
            ),
            ForeignForm::PortRange { host, ports }
                if ports.split_once('-').is_some_and(|(a, b)| a == b) =>
            {
                let port = ports.split_once('-').map_or(ports.as_str(), |(a, _)| a);
                format!("{host}:{port}, the one port of that range")
            }
            ForeignForm::PortRange { host, ports } => {
                let selector = match host.trim_start_matches('[').trim_end_matches(']') {
                    "" => "*".to_owned(),
                    // HAProxy's `*` is every IPv4 address, as in `*:PORT`.
                    "*" => "0.0.0.0".to_owned(),
                    h if h.parse::<std::net::IpAddr>().is_ok() => h.to_owned(),
                    name => format!("dns:{name}"),
                };
                // `[::]:PORT` takes IPv4 too, as Go and etcd bind it: its
                // range the same.
                let dual = if selector == "::" { " v6only=false" } else { "" };
                format!(
                    "a network and an endpoint with the range: `listen = {selector} expose=public` and `listen.tcp = tcp:{ports}{dual}`; a range here is one port, the first free on every address (Caddy and HAProxy listen on each port of theirs: for that, an endpoint per port)"
                )
            }
            ForeignForm::Haproxy { prefix, address } => match prefix.as_str() {
                "fd" | "sockpair" => PASSED_BY_NAME.to_owned(),
                "unix" | "uxst" => format!("the path alone, {}", unix_path(address)),
                "uxdg" => format!("unixgram:{}", unix_path(address)),
                "abnsz" => format!("@{address}"),
                // HAProxy pads an abns@ name with NULs to the whole of
                // sun_path: another address than the name alone.
                "abns" => format!(
                    "@{address}, which is HAProxy's abnsz@{address}: HAProxy pads an abns@ name with NULs to 108 bytes, an address no spec here names, so point HAProxy at abnsz@{address} too"
                ),
                _ => haproxy_ip(prefix, address),
            },
            ForeignForm::NetworkPrefix { network, address } => {
                let (scheme, family) = match network.strip_suffix('4') {
                    Some(scheme) => (scheme, Some(Family::V4)),
                    None => match network.strip_suffix('6') {
                        Some(scheme) => (scheme, Some(Family::V6)),
                        None => (network.as_str(), None),
                    },
                };
                on_family(scheme, family, address)
            }
            ForeignForm::PassedFd => PASSED_BY_NAME.to_owned(),
            ForeignForm::PortMapping { port, udp, .. } if port.contains('-') => format!(
                "an endpoint for each port the server listens on in its container (`NET.p1 = {}:FIRST`, …, for {port}): Docker publishes every port of a range, where a range here is one port, the first free",
                if *udp { "udp" } else { "tcp" }
            ),
            ForeignForm::PortMapping { port, published_on, udp } => format!(
                "{}:{port} for every address of both families: the port this server listens on in its container, which Docker publishes the host's port to{}",
                if *udp { "udp://" } else { "" },
                published_on
                    .as_ref()
                    .map(|ip| format!(" (on the host's {ip} alone: that limit is Docker's, not this server's)"))
                    .unwrap_or_default()
            ),
            ForeignForm::ContainerPort { port, udp } => format!(
                "{}:{port} for every address of both families: the port this server listens on in its container",
                if *udp { "udp://" } else { "" },
            ),
            // `_global_`: addresses a private network may not take.
            ForeignForm::Elasticsearch { selector, port } => format!(
                "a network and an endpoint: `listen = {selector}{}` and `listen.tcp = tcp:{}`",
                may_be_public(selector),
                port.as_deref().unwrap_or("PORT")
            ),
            ForeignForm::SelectorPort { selector, port } => {
                match selector.parse::<IpAddr>() {
                    // gRPC's `ipv4:127.0.0.1:50051`: one address.
                    Ok(ip) => format!("the address alone, {}:{port}", bracketed(&ip.to_string())),
                    // `private:8080` may name a host: the narrower reading
                    // first.
                    Err(_) if crate::class::AddrClass::from_name(selector).is_some() => format!(
                        "a network and an endpoint: `listen = dns:{selector}` and `listen.tcp = tcp:{port}` for the host of that name, or `listen = {selector}` for every {selector} address"
                    ),
                    Err(_) => format!(
                        "a network and an endpoint: `listen = {selector}` and `listen.tcp = tcp:{port}`"
                    ),
                }
            }
            ForeignForm::UnixAbstract { name } => format!("the name alone, @{name}"),
            ForeignForm::KestrelUnix { scheme, path } => format!(
                "a unix network and an {scheme} endpoint: `listen = unix` and `listen.{scheme} = {scheme}:{path}`"
            ),
            ForeignForm::Quoted { inner } => format!("it without them, {inner}"),
            ForeignForm::Redis {
                directive,
                addresses,
            } => redis(directive, addresses),
            ForeignForm::Terminated { value } => format!(
                "{}; or {value}, without the `;`, for both families on Linux and macOS (IPv6 alone elsewhere, as std binds it)",
                with_options(value, &[], false)
            ),
            ForeignForm::WithOptions { address, options } => {
                with_options(address, options, super::shorthand::is_haproxys(options))
            }
            ForeignForm::CaddyUnix { network, path } => match network.as_str() {
                "unixgram" => format!("unixgram:{path}"),
                // SOCK_SEQPACKET: listenspec binds streams and datagrams.
                "unixpacket" => format!(
                    "{path} for a stream socket or unixgram:{path} for a datagram one; listenspec binds no SOCK_SEQPACKET socket"
                ),
                _ => format!(
                    "a unix network and an http endpoint (h2c is HTTP/2 over it): `listen = unix` and `listen.http = http:{path}`"
                ),
            },
            // nginx's and HAProxy's words as their own: `listen [::]:80`
            // is IPv6 alone, `bind :80` IPv4.
            // Puma's `bind 'tcp://0.0.0.0:9292'`, its query too.
            ForeignForm::Pasted { word, value }
                if word == "bind" && super::shorthand::unquoted(value).is_some() =>
            {
                let inner = super::shorthand::unquoted(value).unwrap_or(value);
                told_alone(inner)
                    .unwrap_or_else(|| format!("the value alone, without its quotes, {inner}"))
            }
            ForeignForm::Pasted { word, value } if matches!(word.as_str(), "listen" | "bind") => {
                let haproxy = word == "bind";
                match super::shorthand::foreign(value) {
                    Some(ForeignForm::WithOptions { address, options }) => {
                        with_options(&address, &options, haproxy)
                    }
                    _ => with_options(value, &[], haproxy),
                }
            }
            // Apache's `Listen 80` is one IPv6 socket that takes IPv4 too
            // (as on Linux and most systems), and its `https` the protocol
            // it speaks there, not the socket's.
            ForeignForm::Pasted { word, value } if word == "Listen" => {
                let (address, protocol) =
                    super::shorthand::apache_listen(value).unwrap_or((value, None));
                let address = if super::shorthand::is_port(address) {
                    format!(":{address} for every address of both families, as Apache's Listen {address} is")
                } else {
                    format!("the address alone, {address}")
                };
                match protocol {
                    Some(protocol) => format!("{address}; {protocol} is the server's own protocol, not the listening socket's"),
                    None => address,
                }
            }
            // gunicorn binds `:8000` on an IPv4 socket (an empty host is
            // no IPv6 address to it).
            ForeignForm::Pasted { word, value }
                if matches!(word.as_str(), "--bind" | "-b")
                    && value
                        .strip_prefix(':')
                        .is_some_and(super::shorthand::is_port) =>
            {
                format!(
                    "0.0.0.0{value} for every IPv4 address, as gunicorn binds {value} ({value} here is both families)"
                )
            }
            // Kubernetes's `hostIP:` is the node's side of a hostPort,
            // as Docker's `-p 127.0.0.1:…` is the host's.
            ForeignForm::Pasted { word, .. } if word == "hostIP:" => {
                ":PORT with the containerPort's number, every address in the pod: hostIP is the node's address Kubernetes publishes the port on, not one the server binds".to_owned()
            }
            // Redis's `port 0` listens on no TCP port at all.
            ForeignForm::Pasted { word, value } if matches!(word.as_str(), "port" | "Port") && value == "0" => {
                "nothing for it: `port 0` turns TCP off (Redis), where :0 here would listen on a free port of every address; give the Unix socket the server listens on instead (/run/app.sock)".to_owned()
            }
            // Caddy's `http_port 8080`: every address, as Caddy binds.
            ForeignForm::Pasted { word, value } if matches!(word.as_str(), "http_port" | "https_port") => {
                let scheme = word.trim_end_matches("_port");
                format!("{scheme}://:{value} for every address of both families, as Caddy binds its {scheme} port")
            }
            // etcd's `--advertise-client-urls=…`, Consul's
            // `advertise_addr = "…"`: what clients are told.
            ForeignForm::Pasted { word, value } if super::shorthand::is_advertise_key(word) => {
                let value = super::shorthand::unquoted(value).unwrap_or(value);
                let (first, more) = match value.split_once(',') {
                    Some((first, _)) => (first.trim_ascii(), "; one per network, so the list's others on networks of their own"),
                    None => (value, ""),
                };
                // Kafka's `PLAINTEXT://kafka:9092`: a host and port, each
                // endpoint's scheme its own.
                let first = match super::shorthand::foreign(first) {
                    Some(ForeignForm::Listener { address, .. }) => address,
                    _ => first.to_owned(),
                };
                // `--advertise-addr=0.0.0.0`: no address to tell clients.
                if let Err(e) = first.parse::<crate::spec::Advertise>() {
                    return format!(
                        "`advertise HOST` on the line of the network that listens, with the name or address clients use: it is what clients are told, not an address this server binds; as written it is refused: {e}"
                    );
                }
                format!(
                    "the network that listens, with `advertise {first}` on its line (`public = * expose=public advertise {first}`): it is what clients are told, not an address this server binds{more}"
                )
            }
            // sshd sets IPV6_V6ONLY on every socket, as uvicorn (asyncio)
            // does: `::` is IPv6 alone to them, both families here.
            // So does PostgreSQL; of a key or flag whose program is not
            // known, IPv6 alone is the narrower reading.
            ForeignForm::Pasted { word, value }
                if matches!(super::shorthand::unquoted(value).unwrap_or(value), "::" | "[::]")
                    || (word == "ListenAddress" && value.starts_with("[::]:")) =>
            {
                let port = value.strip_prefix("[::]:").unwrap_or(match word.as_str() {
                    "ListenAddress" => "22",
                    "-H" => "2375",
                    w if is_flag(w) => "8000",
                    _ => "PORT",
                });
                on_family("tcp", Some(Family::V6), &format!("[::]:{port}"))
            }
            // Docker's `-H :2375`: a host left out is localhost, a port
            // 2375; uvicorn's `--host` never holds a port.
            ForeignForm::Pasted { word, value }
                if (word == "-H" || (word == "--host" && value.contains(':')))
                    && docker_host(value).is_some() =>
            {
                let (host, port) = docker_host(value).unwrap_or_default();
                format!(
                    "{host}:{port}, what Docker's -H {value} binds (a host left out is localhost, a port 2375)"
                )
            }
            ForeignForm::Pasted { value, .. } if address_list(value).is_some() => {
                let addresses = address_list(value).unwrap_or_default();
                format!(
                    "a network of these addresses and an endpoint on it with the port to use: `listen = {addresses}` and `listen.tcp = tcp:PORT`"
                )
            }
            ForeignForm::Pasted { word, value } => match super::shorthand::shorthand(value) {
                Some(Ok(_)) => format!("the value alone, {value}"),
                _ => match super::shorthand::foreign(value) {
                    // uvicorn's `--host 0.0.0.0`, Elasticsearch's
                    // `network.host: 0.0.0.0`: the port is another flag's
                    // or key's, and nginx's reading of an address alone
                    // (port 80) is not theirs. A link-local address, or
                    // one no server listens on, is told as it is alone.
                    Some(ForeignForm::NoPort { host })
                        if host != "*"
                            && matches!(listenable(&host), Ok(h) if !h.ends_with("%IFACE")) =>
                    {
                        let (port, whose) = if is_flag(word) {
                            ("8000", " (its --port flag's value, if the command has one)")
                        } else if word.ends_with(".host:") {
                            ("9200", " (Elasticsearch's http.port, 9200 unless set)")
                        } else if word == "ListenAddress" {
                            ("22", " (sshd's Port, 22 unless set)")
                        } else {
                            ("8080", "")
                        };
                        // Elasticsearch (Java) binds `0.0.0.0` on an IPv6
                        // socket that takes IPv4 too: both families.
                        if host == "0.0.0.0" && word.ends_with(".host:") {
                            return format!(
                                ":{port} for every address of both families, as Elasticsearch binds 0.0.0.0 (0.0.0.0:{port} for IPv4 alone), with the port to use{whose}"
                            );
                        }
                        format!("{}:{port} with the port to use{whose}", bracketed(&host))
                    }
                    Some(ForeignForm::Quoted { inner }) => told_alone(&inner)
                        .unwrap_or_else(|| format!("the value alone, without its quotes, {inner}")),
                    Some(form) => form.instead(),
                    None => format!("the value alone, {value}"),
                },
            },
            ForeignForm::Systemd { directive, value } => {
                let udp = directive == "ListenDatagram";
                let address = match value.as_str() {
                    // systemd's `ListenStream=80` is both families.
                    port if super::shorthand::is_port(port) => {
                        every_address(if udp { "udp" } else { "tcp" }, port)
                    }
                    path if crate::spec::UnixPath::looks_like(path) && udp => format!("unixgram:{path}"),
                    path if crate::spec::UnixPath::looks_like(path) => path.to_owned(),
                    address if udp => match super::shorthand::foreign(address) {
                        Some(ForeignForm::Star { port }) => star_url("udp", &port),
                        Some(ForeignForm::ScopeAfterPort { addr, port, zone }) => {
                            scope_after_port(&addr, &port, &zone, "udp")
                        }
                        _ => as_url("udp", address),
                    },
                    address => match super::shorthand::foreign(address) {
                        Some(form) => form.instead(),
                        None => address.to_owned(),
                    },
                };
                match directive.as_str() {
                    "ListenStream" | "ListenDatagram" => format!(
                        "{address}; or keep the socket unit and write {PASSED_BY_NAME}"
                    ),
                    "ListenFIFO" => format!("an address or a path of a socket: a FIFO is no socket, and listenspec binds none; {value} is the FIFO's"),
                    // A socket file's mode and owners: options of the
                    // endpoint, never a listener of their own.
                    "SocketMode" => format!("mode={} after the Unix endpoint's path, on its line", value.trim_start_matches('0')),
                    "SocketUser" => format!("owner={value} after the Unix endpoint's path, on its line"),
                    "SocketGroup" => format!("group={value} after the Unix endpoint's path, on its line"),
                    "ListenSequentialPacket" => format!(
                        "a stream socket, {value}, or a datagram one, unixgram:{value}: listenspec binds no SOCK_SEQPACKET socket"
                    ),
                    other => format!("an address or a path of a socket: {other}= opens what is no socket listenspec binds ({value} is systemd's to open); leave it to the unit"),
                }
            }
            ForeignForm::Scheme { scheme, address } => {
                // gRPC, HTTP/2 and WebSocket servers are HTTP servers;
                // QUIC and HTTP/3 run over UDP.
                let over = match scheme.as_str() {
                    "grpc" | "h2c" | "ws" => Some("http"),
                    "grpcs" | "h2" | "wss" => Some("https"),
                    "quic" | "http3" | "h3" => Some("udp"),
                    _ => None,
                };
                // `*` (ZeroMQ's `ws://*:5555`) is every IPv4 address: that
                // reading first, as for `tcp://*`.
                let url = |to: &str| match address.strip_prefix(['*', '+']).and_then(|a| a.strip_prefix(':')) {
                    Some(port) if super::shorthand::is_port(port) => star_url(to, port),
                    _ => as_url(to, address),
                };
                match over {
                    // ZeroMQ's threads of one process, which share no socket.
                    _ if scheme == "inproc" => "an address to listen on, such as 127.0.0.1:5555, for peers in other processes: inproc:// connects threads of one process and opens no socket".to_owned(),
                    Some(to) => format!("{}, the protocol {scheme} runs over", url(to)),
                    None => format!(
                        "{}, or the protocol spoken on it: http://, https:// or udp://",
                        url("tcp")
                    ),
                }
            }
        }
    }
}

/// Whether a pasted word is a command-line flag (`--host`, `-b`): a `-`
/// alone is a YAML list's item.
fn is_flag(word: &str) -> bool {
    word.len() > 1 && word.starts_with('-')
}

/// What a value inside another form (its quotes, a URL's path) is told
/// alone, where that is not the value itself: one refused alone
/// (`tcp://:9292`, `8080:80`) is told as it would be alone, so no
/// suggestion is itself refused. `None` for a value that reads as it is,
/// or is no form known.
fn told_alone(value: &str) -> Option<String> {
    match super::shorthand::shorthand(value) {
        Some(Ok(_)) => None,
        _ => super::shorthand::foreign(value).map(|form| form.instead()),
    }
}

/// What to write for `HOST:PORT` (the port maybe a range `FIRST-LAST`)
/// bound with `scheme` (`tcp` or `udp`) on `family` alone, if one: Go (so
/// Caddy) binds `tcp4/:80` on IPv4 alone and `tcp6/:80` on IPv6 alone, and
/// names on that family's addresses, so a spelling that takes both families
/// would widen what it listens on. Without a family, Go binds a wildcard,
/// `0.0.0.0` too, on both families: `:PORT` here.
fn on_family(scheme: &str, family: Option<Family>, address: &str) -> String {
    // Caddy's `bind` takes a host alone (`tcp6/[::1]`, `tcp6/::1`): the
    // colons of an IPv6 address are no port's.
    let (host, port) = match address.strip_prefix('[') {
        Some(rest) => match rest.split_once("]:") {
            Some((host, port)) => (host, port),
            None => (rest.trim_end_matches(']'), "PORT"),
        },
        // `:::80`: an IPv6 address, then its port after the last colon.
        None if address.matches(':').count() > 1 => {
            // The zone of `fe80::1%eth0` is no part of the address's text.
            let ipv6 = |text: &str| match text.split_once('%') {
                Some((ip, zone)) => !zone.contains(':') && ip.parse::<std::net::Ipv6Addr>().is_ok(),
                None => text.parse::<std::net::Ipv6Addr>().is_ok(),
            };
            match address.rsplit_once(':') {
                Some((host, port)) if !ipv6(address) && ipv6(host) => (host, port),
                _ => (address, "PORT"),
            }
        }
        None => address.rsplit_once(':').unwrap_or((address, "PORT")),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let written = host
        .split_once('%')
        .map_or(host, |(ip, _)| ip)
        .parse::<IpAddr>()
        .ok();
    // A URL's spelling (`0`, `0x7f.1`) is the address a URL reads it as.
    let ip = written
        .or_else(|| crate::spec::selector::url_spelling(host))
        .map(|ip| ip.to_canonical());
    let wildcard = host.is_empty() || host == "*" || ip.is_some_and(|ip| ip.is_unspecified());
    // `::ffff:127.0.0.1` is refused as written here: its IPv4 address is
    // what Go binds for it.
    let canonical = ip.filter(|_| ip != written).map(|ip| ip.to_string());
    let host = canonical.as_deref().unwrap_or(host);
    let with_port = format!("{}:{port}", bracketed(host));
    if port.contains('-') {
        // A range takes an endpoint of its own: the selector says the
        // addresses, as the address would have.
        let selector = match family {
            None if wildcard => "*".to_owned(),
            Some(Family::V4) if wildcard => "0.0.0.0".to_owned(),
            Some(Family::V6) if wildcard => "::".to_owned(),
            _ if ip.is_some() => host.to_owned(),
            None => format!("dns:{host}"),
            Some(family) => format!("dns:{host}, {family}"),
        };
        return format!(
            "a network and an endpoint with the range: `listen = {selector} expose=public` and `listen.{scheme} = {scheme}:{port}`; a range here is one port, the first free on every address (Caddy and HAProxy listen on each port of theirs: for that, an endpoint per port)"
        );
    }
    let other_family = |family| ip.is_some_and(|ip| Family::of(ip) != family);
    match family {
        // Go refuses `tcp4` with an IPv6 address, and HAProxy `ipv4@`:
        // neither family is the one written, so neither is suggested alone.
        Some(family) if !wildcard && other_family(family) => format!(
            "an {family} address, which is all {scheme}{} takes ({host} is not one), or {scheme}://{with_port} for {host} itself",
            match family {
                Family::V4 => "4",
                Family::V6 => "6",
            }
        ),
        None if wildcard => every_address(scheme, port),
        None => format!("{scheme}://{with_port}"),
        Some(Family::V4) if wildcard => format!("{scheme}://0.0.0.0:{port}"),
        Some(Family::V6) if wildcard => format!(
            "a network and an endpoint on IPv6 alone: `listen = :: expose=public` and `listen.{scheme} = {scheme}:{port}` ({scheme}://[::]:{port} takes IPv4 too)"
        ),
        Some(_) if ip.is_some() => format!("{scheme}://{with_port}"),
        Some(family) => format!(
            "a network and an endpoint on the name's {family} addresses alone: `listen = dns:{host}, {family}` and `listen.{scheme} = {scheme}:{port}`"
        ),
    }
}

/// What to write for an address with nginx's or HAProxy's options after
/// it: the options this grammar has go on an endpoint's line, under a
/// network of the address (`[::]` with `ipv6only=on` stays on IPv6 alone);
/// without any, the address as its own form says. The others (TLS, HTTP/2,
/// the default server) are the server's own.
fn with_options(address: &str, options: &[String], haproxy: bool) -> String {
    // The socket options this grammar has, each once, the last word of
    // one kind winning; a backlog that is no number is no option here.
    let (mut v6only, mut here, mut theirs) = (None, Vec::new(), Vec::new());
    // Socket options this grammar has no word for.
    let mut unset = Vec::new();
    // nginx's stream `listen 53 udp`, and its `listen 443 quic` (a UDP
    // socket): the protocol, not a socket option.
    let mut udp = None;
    // HAProxy's `unix@PATH` or a path: `mode`, `user` and `group` are its
    // file's.
    let unix = match super::shorthand::shorthand(address) {
        Some(Ok(super::shorthand::Value::Unix { protocol, path })) => {
            Some((protocol, path.to_string()))
        }
        _ => match super::shorthand::foreign(address) {
            Some(ForeignForm::Haproxy { prefix, address })
                if matches!(prefix.as_str(), "unix" | "uxst") =>
            {
                Some((crate::spec::Protocol::Unix, address))
            }
            _ => None,
        },
    };
    // This grammar's network options, for the network's line.
    let mut network = Vec::new();
    for option in options {
        if is_network_option(option) {
            network.push(option.replacen("advertise=", "advertise ", 1));
            continue;
        }
        // HAProxy's keywords with a value, in this grammar's spelling
        // where it has the option.
        let octal = |m: &str| !m.is_empty() && m.bytes().all(|b| (b'0'..=b'7').contains(&b));
        let option = match option.split_once(' ') {
            Some(("interface", name)) if super::selector::is_ifname(name) => {
                format!("device={name}")
            }
            Some(("backlog", n)) => format!("backlog={n}"),
            Some(("mode", m)) if unix.is_some() && octal(m) => format!("mode={m}"),
            Some(("user" | "uid", who)) if unix.is_some() => format!("owner={who}"),
            Some(("group" | "gid", who)) if unix.is_some() => format!("group={who}"),
            _ => option.clone(),
        };
        match option.as_str() {
            "udp" => udp = Some("udp"),
            "quic" => udp = Some("quic"),
            // nginx's `ipv6only=on`, and a URL query's `?ipv6only=true`.
            "v6only" | "ipv6only=on" | "ipv6only=true" | "ipv6only=1" | "ipv6only=yes"
            | "v6only=on" | "v6only=true" | "v6only=1" | "v6only=yes" => {
                v6only = Some(("v6only", option))
            }
            "v4v6" | "ipv6only=off" | "ipv6only=false" | "ipv6only=0" | "ipv6only=no"
            | "v6only=off" | "v6only=false" | "v6only=0" | "v6only=no" => {
                v6only = Some(("v6only=false", option))
            }
            "reuseport" | "freebind" | "device" if !here.contains(&option) => here.push(option),
            "reuseport" | "freebind" | "device" => {}
            o if o.starts_with("device=") || (unix.is_some() && is_socket_file_option(o)) => {
                here.push(option)
            }
            o if o
                .strip_prefix("backlog=")
                .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n > 0)) =>
            {
                here.retain(|h: &String| !h.starts_with("backlog="));
                here.push(option);
            }
            o if is_unset_socket_option(o) => unset.push(option),
            _ => theirs.push(option),
        }
    }
    // nginx's `listen [::]:80` is IPv6 alone (ipv6only=on by default),
    // where `[::]:80` here is both families; HAProxy's (`ipv6@[::]:80`
    // too) is both, as here.
    let haproxy = haproxy
        || matches!(
            super::shorthand::foreign(address),
            Some(ForeignForm::Haproxy { .. })
        );
    let nginx_wildcard = address.contains("[::]") && !haproxy;
    if v6only.is_none() && nginx_wildcard {
        // This grammar's `[::]:80` is both families.
        let ours = !network.is_empty();
        v6only = Some((if ours { "v6only=false" } else { "v6only" }, String::new()));
    }
    // HAProxy's `:::80` is `[::]:80`, its port after the last colon.
    let form = super::shorthand::foreign(address);
    // HAProxy's `bind :80`, every IPv4 address, where `:80` here is both
    // families, as it is with this grammar's network options after it.
    let haproxy_any = network.is_empty()
        && address.starts_with(':')
        && !address.starts_with("::")
        && matches!(&form, None | Some(ForeignForm::PortRange { .. }));
    // Options to write on an endpoint's line: its address as one value,
    // for the network's line.
    let has_options = !here.is_empty() || v6only.is_some();
    let address = match &form {
        _ if haproxy_any => format!("0.0.0.0{address}"),
        Some(ForeignForm::Star { port }) if has_options => format!("0.0.0.0:{port}"),
        Some(ForeignForm::Haproxy {
            prefix,
            address: at,
        }) if has_options => haproxy_address(prefix, at).unwrap_or_else(|| address.to_owned()),
        Some(ForeignForm::UnbracketedIpv6 { addr, port }) => format!("[{addr}]:{port}"),
        // A port with options is nginx's `listen 443`: every IPv4 address.
        Some(ForeignForm::PortOnly { port }) => format!("0.0.0.0:{port}"),
        // nginx's `*:53`, every IPv4 address, told its protocol.
        Some(ForeignForm::Star { port }) if udp.is_some() => format!("0.0.0.0:{port}"),
        _ => address.to_owned(),
    };
    let address = address.as_str();
    let ip = match super::shorthand::shorthand(address) {
        Some(Ok(super::shorthand::Value::Ip {
            selector, ports, ..
        })) if udp.is_some() => Some((selector, crate::spec::Protocol::Udp, ports)),
        Some(Ok(super::shorthand::Value::Ip {
            selector,
            protocol,
            ports,
            ..
        })) => Some((selector, protocol, ports)),
        _ => None,
    };
    // An IPv4 address has no IPv6 socket's option to take.
    let ipv4 = ip
        .as_ref()
        .is_some_and(|(selector, ..)| selector.to_string().parse::<std::net::Ipv4Addr>().is_ok());
    let moot = match v6only {
        Some((_, word)) if ipv4 => Some(word),
        Some((ours, _)) => {
            here.push(ours.to_owned());
            None
        }
        None => None,
    };
    let bare = here.is_empty() && network.is_empty();
    let mut out = if let Some((protocol, path)) = unix.as_ref().filter(|_| !bare) {
        unix_with_options(*protocol, path, &network, &here)
    } else {
        match (ip, bare) {
            (Some(_), true) if udp.is_some() => match &form {
                Some(ForeignForm::PortOnly { port }) => format!(
                    "udp://{address} for every IPv4 address, as nginx's listen {port} {} is (udp://:{port} for both families)",
                    udp.unwrap_or("udp")
                ),
                _ => format!("udp://{address}"),
            },
            // A wildcard's or a public address's network is public,
            // unless the options say how far it reaches.
            (Some((selector, protocol, ports)), false) => format!(
                "a network and an endpoint with the options: `listen = {selector}{}` and `listen.{protocol} = {protocol}:{ports}{}`",
                spaced(
                    (network.iter().all(|o| !o.starts_with("expose="))
                        && reaches_public(&selector))
                    .then_some("expose=public")
                    .into_iter()
                    .chain(network.iter().map(String::as_str))
                ),
                spaced(here.iter().map(String::as_str))
            ),
            (_, true) if haproxy_any => match super::shorthand::foreign(address) {
                // A range: its network and endpoint lines.
                Some(form) => form.instead(),
                None => format!(
                    "{address} for every IPv4 address, as HAProxy's bind {} is ({} for both families)",
                    &address[7..],
                    &address[7..]
                ),
            },
            (_, true) => match (super::shorthand::foreign(address), &form) {
                (_, Some(ForeignForm::PortOnly { port })) => format!(
                    "{address} for every IPv4 address, as nginx's listen {port} is (:{port} for both families)"
                ),
                (Some(form), _) => form.instead(),
                (None, _) => format!("the address alone, {address}"),
            },
            (None, false) => match super::shorthand::foreign(address) {
                Some(form) => {
                    let instead = form.instead();
                    // Those its own endpoint's line does not have already.
                    let written = |o: &&String| {
                        instead
                            .split(|c: char| c.is_ascii_whitespace() || c == '`')
                            .any(|w| w == o.as_str())
                    };
                    let missing: Vec<&str> = here
                        .iter()
                        .filter(|o| !written(o))
                        .map(String::as_str)
                        .collect();
                    let mut instead = match missing.is_empty() {
                        true => instead,
                        false => format!(
                            "{instead}; and {} on the endpoint's line",
                            missing.join(" ")
                        ),
                    };
                    if !network.is_empty() {
                        instead.push_str(&format!(
                            "; and {} on the network's line",
                            network.join(" ")
                        ));
                    }
                    instead
                }
                None => format!("the address alone, {address}"),
            },
        }
    };
    if !theirs.is_empty() {
        let (list, verb) = match theirs.len() {
            1 => (theirs[0].clone(), "is"),
            _ => (theirs.join(", "), "are"),
        };
        out.push_str(&format!(
            "; {list} {verb} the server's own, not the listening socket's"
        ));
    }
    if !unset.is_empty() {
        let (list, verb, it) = match unset.len() {
            1 => (unset[0].clone(), "is a socket option", "it"),
            _ => (unset.join(", "), "are socket options", "them"),
        };
        out.push_str(&format!(
            "; {list} {verb} listenspec does not set: set {it} on the socket taken from the endpoint, or leave {it} out"
        ));
    }
    if let Some(word) = moot {
        out.push_str(&format!(
            "; {word} is an IPv6 socket's, which an IPv4 address has no use for"
        ));
    }
    out
}

/// What to write for tokio-listener's option `flag`: this grammar's
/// `option` on an endpoint's line, or why none is needed.
fn tokio_listener(flag: &str, option: Option<&str>) -> String {
    let unix = flag.starts_with("--unix");
    match option {
        // Its `owner` sets mode 006 (everyone but the owner and group),
        // where its docs say `u+rw`, which is what was meant.
        Some(option) => format!(
            "{option} on the endpoint's line, as in {}{}",
            if unix {
                format!("`NET.sock = unix:/run/app.sock {option}` (on a network `NET = unix`)")
            } else {
                format!("`NET.tcp = tcp:PORT {option}`")
            },
            if option == "mode=600" {
                ": the owner alone, as its docs say (tokio-listener itself sets 006, which lets every other user in and not the owner)"
            } else {
                ""
            }
        ),
        None => match flag {
            "--unix-listen-unlink" => "nothing: a stale socket file (one no process accepts on) is replaced by default (`stale=replace`), and a live one is an error, never removed".to_owned(),
            "--sd-accept-ignore-environment" => PASSED_BY_NAME.to_owned(),
            "--tcp-keepalive" => "nothing here: keepalive is each accepted connection's, set by the server (socket2's `set_tcp_keepalive` on the stream)".to_owned(),
            _ => "nothing: listenspec sets no buffer size, so the kernel's default applies; set it on the socket taken from the endpoint".to_owned(),
        },
    }
}

/// nginx's and HAProxy's listening-socket options that this grammar has
/// no word for (`freebind`, `reuseport`, `backlog`, `v6only` and `device`
/// it has).
fn is_unset_socket_option(option: &str) -> bool {
    let word = option.split([' ', '=']).next().unwrap_or_default();
    matches!(
        word,
        "transparent"
            | "tfo"
            | "defer-accept"
            | "mss"
            | "namespace"
            | "tcp-ut"
            | "noreuseport"
            | "fastopen"
            | "deferred"
            | "so_keepalive"
            | "setfib"
            | "accept_filter"
            | "rcvbuf"
            | "sndbuf"
    )
}

/// Whether `option` is one of a socket file's own, in this grammar's
/// spelling: its mode, owner or group.
fn is_socket_file_option(option: &str) -> bool {
    ["mode=", "owner=", "group="]
        .iter()
        .any(|p| option.starts_with(p))
}

/// What to write for HAProxy's `unix@PATH` (or a path) with the options
/// `here` in this grammar's spelling: a socket file's on its endpoint line,
/// the IP ones said to be no Unix socket's.
fn unix_with_options(
    protocol: crate::spec::Protocol,
    path: &str,
    network: &[String],
    here: &[String],
) -> String {
    // An abstract socket (`@NAME`) has no file to own.
    let abstract_name = path.starts_with('@');
    let (file, ip): (Vec<&String>, Vec<&String>) = here
        .iter()
        .partition(|o| o.starts_with("backlog=") || (!abstract_name && is_socket_file_option(o)));
    // The endpoint is named as the path alone names it, so that the
    // server takes it by the same name.
    let mut out = if file.is_empty() && network.is_empty() {
        format!("the path alone, {path}")
    } else {
        format!(
            "a unix network and an endpoint with the options: `listen = unix{}` and `listen.{protocol} = {protocol}:{path}{}`",
            spaced(network.iter().map(String::as_str)),
            spaced(file.iter().map(|o| o.as_str()))
        )
    };
    let (owned, ip): (Vec<&str>, Vec<&str>) = ip
        .iter()
        .map(|o| o.as_str())
        .partition(|o| is_socket_file_option(o));
    if !ip.is_empty() {
        out.push_str(&format!(
            "; {} {} an IP socket's, not a Unix socket's",
            ip.join(", "),
            if ip.len() == 1 { "is" } else { "are" }
        ));
    }
    if !owned.is_empty() {
        out.push_str(&format!(
            "; {} {} a socket file's, which an abstract socket has none of",
            owned.join(", "),
            if owned.len() == 1 { "is" } else { "are" }
        ));
    }
    out
}

/// Whether a one-address value's selector needs a public network: a
/// wildcard, a globally reachable address, or a name that may resolve to
/// one.
fn reaches_public(selector: &crate::spec::Selector) -> bool {
    match selector {
        crate::spec::Selector::Addr { ip, .. } => crate::class::is_globally_reachable(*ip),
        crate::spec::Selector::Dns(name) => name != "localhost",
        other => other.is_wildcard(),
    }
}

/// `expose=public` for selectors that take public addresses as the other
/// program did (`global`, or an interface's, whatever it holds), which a
/// network not named public refuses without it.
fn may_be_public(selectors: &str) -> &'static str {
    if selectors.contains("global") || selectors.contains("if:") {
        " expose=public"
    } else {
        ""
    }
}

/// Whether an option after an address is one of this grammar's network
/// options (`expose=`, `advertise URL`, `shared`), which no other
/// program's listen line has.
pub(crate) fn is_network_option(option: &str) -> bool {
    option.starts_with("expose=") || option.starts_with("advertise") || option == "shared"
}

/// Words, each after a space: what follows a value on its line.
fn spaced<'a>(words: impl Iterator<Item = &'a str>) -> String {
    words.map(|w| format!(" {w}")).collect()
}

/// What to write for HAProxy's `PREFIX@ADDRESS` of an IP family. HAProxy
/// takes the port after the last colon, so `:::80` is `::` and port 80;
/// `tcp@` and `udp@` take the family from the address (IPv4 for `*` and
/// none, as a bare `bind :80` is every IPv4 address).
fn haproxy_ip(prefix: &str, address: &str) -> String {
    // QUIC (HTTP/3) runs over UDP: a UDP socket is what HAProxy binds.
    let scheme = if prefix.starts_with("udp") || prefix.starts_with("quic") {
        "udp"
    } else {
        "tcp"
    };
    let (host, port) = address.rsplit_once(':').unwrap_or((address, "PORT"));
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let family = haproxy_family(prefix, host);
    let address = format!("{}:{port}", bracketed(host));
    let ipv6_wildcard =
        matches!(host, "" | "*") || host.parse() == Ok(std::net::Ipv6Addr::UNSPECIFIED);
    match family {
        // HAProxy binds an IPv6 wildcard as the system does: on both
        // families on Linux (unless net.ipv6.bindv6only), as `[::]` is
        // bound here.
        Some(Family::V6) if ipv6_wildcard && !port.contains('-') => match scheme {
            "udp" => format!("udp://[::]:{port}"),
            _ => format!("the address alone, [::]:{port}"),
        },
        Some(Family::V6) if host.parse::<IpAddr>().is_ok() && !port.contains('-') => match scheme {
            "udp" => format!("udp://{address}"),
            _ => format!("the address alone, {address}"),
        },
        _ => on_family(scheme, family, &address),
    }
}

/// Whose `bind` line a list of addresses is: Redis's marks (`-`, `*`,
/// `::*`) or Caddy's brackets tell, plain addresses do not; `default_bind`
/// is Caddy's alone.
enum Bind {
    Redis,
    Caddy,
    Either,
}

fn bind_of(directive: &str, addresses: &[String]) -> Bind {
    if directive == "default_bind" {
        Bind::Caddy
    } else if addresses
        .iter()
        .any(|a| a.starts_with('-') || matches!(a.as_str(), "*" | "::*"))
    {
        Bind::Redis
    } else if addresses.iter().any(|a| a.starts_with('[')) {
        Bind::Caddy
    } else {
        Bind::Either
    }
}

/// A `bind` line's addresses as a network and an endpoint on the port of
/// the program it is (Redis's 6379, Caddy's site's).
fn redis(directive: &str, addresses: &[String]) -> String {
    let mut selectors: Vec<&str> = Vec::new();
    let mut optional = Vec::new();
    for written in addresses {
        let address = written.strip_prefix('-').unwrap_or(written);
        // A wildcard matches whatever the host has, none included.
        if address.len() < written.len() && !matches!(address, "*" | "::*") {
            optional.push(address);
        }
        // Caddy's `[::1]`.
        let address = address
            .strip_prefix('[')
            .and_then(|a| a.strip_suffix(']'))
            .unwrap_or(address);
        let selector = match address {
            "*" => "0.0.0.0",
            "::*" => "::",
            ip => ip,
        };
        if !selectors.contains(&selector) {
            selectors.push(selector);
        }
    }
    // `bind * -::*`, Redis's default in its image: both wildcards are `*`.
    let wildcard = |s: &&str| matches!(*s, "0.0.0.0" | "::");
    let selectors = match selectors.iter().all(wildcard) {
        true if selectors.len() == 2 => vec!["*"],
        _ => selectors,
    };
    let expose = if selectors
        .iter()
        .any(|s| matches!(*s, "*" | "0.0.0.0" | "::"))
    {
        " expose=public"
    } else {
        ""
    };
    let selectors = selectors.join(", ");
    let mut out = match bind_of(directive, addresses) {
        Bind::Redis => format!(
            "a network of its addresses and an endpoint on Redis's port: `listen = {selectors}{expose}` and `listen.redis = tcp:6379`"
        ),
        // Caddy listens as Go does: `[::]` alone on both families.
        Bind::Caddy => format!(
            "a network of its addresses and an endpoint on the site's port: `listen = {selectors}{expose}` and `listen.https = https:443{}`",
            if selectors == "::" {
                " v6only=false"
            } else {
                ""
            }
        ),
        Bind::Either => format!(
            "a network of its addresses and an endpoint on the port: `listen = {selectors}{expose}` and `listen.tcp = tcp:PORT` (Redis's 6379; for Caddy, the site's port)"
        ),
    };
    if !optional.is_empty() {
        out.push_str(&format!(
            "; an address Redis skips where the host lacks it (`-`: {}) is an error here when no interface has it: leave it out there",
            optional.join(", ")
        ));
    }
    out
}

/// The family HAProxy binds `host` on after `prefix@`: the prefix's, else
/// the address's; `*` and no host are IPv4's wildcard.
fn haproxy_family(prefix: &str, host: &str) -> Option<Family> {
    match prefix {
        "ipv4" | "tcp4" | "udp4" | "quic4" => Some(Family::V4),
        "ipv6" | "tcp6" | "udp6" | "quic6" => Some(Family::V6),
        _ if host.contains(':') => Some(Family::V6),
        _ if host.is_empty() || host == "*" || host.parse::<std::net::Ipv4Addr>().is_ok() => {
            Some(Family::V4)
        }
        _ => None,
    }
}

/// HAProxy's `PREFIX@HOST:PORT` as one address of this grammar, where it
/// is one (an IP socket on one port): `ipv6@:::80` is `[::]:80`,
/// `udp@:53` `udp://0.0.0.0:53`.
fn haproxy_address(prefix: &str, address: &str) -> Option<String> {
    let (host, port) = address.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let udp = prefix.starts_with("udp") || prefix.starts_with("quic");
    if !udp && !matches!(prefix, "ipv4" | "ipv6" | "tcp" | "tcp4" | "tcp6") {
        return None;
    }
    let host = match (haproxy_family(prefix, host)?, host) {
        (Family::V4, "" | "*") => "0.0.0.0",
        (Family::V6, "" | "*") => "::",
        (_, host) => host,
    };
    let address = format!("{}:{port}", bracketed(host));
    Some(if udp {
        format!("udp://{address}")
    } else {
        address
    })
}

/// A Unix socket's path as the grammar takes it: HAProxy's `unix@app.sock`
/// is relative to its working directory, `./app.sock` here.
fn unix_path(path: &str) -> String {
    if path.starts_with(['/', '@']) || path.starts_with("./") || path.starts_with("../") {
        path.to_owned()
    } else {
        format!("./{path}")
    }
}

/// What to write instead of a form that names a socket passed in.
const PASSED_BY_NAME: &str = "nothing: sockets systemd passes are taken by their names. Give the socket an endpoint's name with FileDescriptorName=NETWORK.ENDPOINT in the .socket unit (systemd-socket-activate --fdname=NETWORK.ENDPOINT) and define that endpoint";

/// What a protocol this grammar does not name most likely is here: the
/// one written in capitals, or the transport of an application protocol.
fn protocol_hint(protocol: &str) -> Option<String> {
    let lower = protocol.to_ascii_lowercase();
    if lower != protocol && lower.parse::<crate::spec::Protocol>().is_ok() {
        return Some(format!("a protocol is written in lowercase, {lower}"));
    }
    Some(
        match lower.as_str() {
            "grpc" | "h2c" => "gRPC and h2c are HTTP/2: http (https with TLS)",
            "h2" | "wss" => "https (HTTP/2 and WebSocket over TLS are https)",
            "ws" => "http (WebSocket starts as HTTP)",
            "tls" | "ssl" => {
                "https for HTTP over TLS, or tcp for another protocol's: TLS is the server's own"
            }
            "quic" | "h3" | "http3" => "udp (QUIC runs over UDP), with `advertise https://…`",
            "tcp4" | "tcp6" | "udp4" | "udp6" => {
                "tcp or udp, with the family on the network's line (ipv4 or ipv6)"
            }
            _ => return None,
        }
        .to_owned(),
    )
}

/// A host of a value without its port as a suggestion may write it: an
/// IPv4 address without a zone (it has none), a zone only on a link-local
/// IPv6 address and never empty; or why no listener takes the address at
/// all (a group, a broadcast, an IPv4-mapped one), which no port mends. A
/// wildcard is suggested with its port: `0.0.0.0:8080` is a value.
fn listenable(host: &str) -> Result<String, String> {
    let (addr, zone) = match host.split_once('%') {
        Some((addr, zone)) => (addr, Some(zone)),
        None => (host, None),
    };
    let Ok(ip) = addr.trim_matches(['[', ']']).parse::<IpAddr>() else {
        return Ok(host.to_owned());
    };
    // A wildcard with its port is a one-address value of its own.
    if let Some(why) = crate::plan::Unlistenable::of(ip, AddrClass::of(ip))
        .filter(|&why| why != crate::plan::Unlistenable::Unspecified)
    {
        return Err(format!("{ip} is not one ({why})"));
    }
    Ok(match (ip, zone) {
        (IpAddr::V6(v6), Some(zone)) if v6.is_unicast_link_local() && !zone.is_empty() => {
            format!("{ip}%{zone}")
        }
        // Planned only with its zone, which the form left out.
        (IpAddr::V6(v6), _) if v6.is_unicast_link_local() => format!("{ip}%IFACE"),
        _ => ip.to_string(),
    })
}

/// The host and port Docker's `-H` binds for a TCP value that leaves
/// either out (`:2375`, `0.0.0.0`, `tcp://127.0.0.1:`): localhost and
/// 2375 for what is missing. `None` for a value with both, another
/// scheme's (`unix://`, `fd://`), or a host that is no address.
fn docker_host(value: &str) -> Option<(String, String)> {
    let rest = match value.split_once("://") {
        Some(("tcp", rest)) => rest,
        Some(_) => return None,
        None => value,
    };
    let (host, port) = match rest.strip_prefix('[') {
        Some(bracketed) => {
            let (inside, tail) = bracketed.split_once(']')?;
            let port = match tail {
                "" => "",
                tail => tail.strip_prefix(':')?,
            };
            (format!("[{inside}]"), port)
        }
        None => match rest.split_once(':') {
            Some((host, port)) => (host.to_owned(), port),
            None => (rest.to_owned(), ""),
        },
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let ip = bare.parse::<IpAddr>().ok();
    let known = bare.is_empty() || bare == "localhost" || ip.is_some();
    if !known
        || !(host.is_empty() || port.is_empty())
        || !(port.is_empty() || super::shorthand::is_port(port))
    {
        return None;
    }
    // An IPv4-mapped address is its IPv4 address to Go, as here.
    let mapped = match ip {
        Some(IpAddr::V6(v6)) => v6.to_ipv4_mapped(),
        _ => None,
    };
    let host = match (bare, mapped) {
        (_, Some(v4)) => v4.to_string(),
        ("" | "localhost", None) => "127.0.0.1".to_owned(),
        _ => host,
    };
    let port = if port.is_empty() { "2375" } else { port };
    Some((host, port.to_owned()))
}

/// A list of two or more addresses without ports, as PostgreSQL's
/// `listen_addresses` and Consul's `client_addr` hold them, as a network's
/// selectors; `None` if an item is anything else, or one no server
/// listens on.
fn address_list(value: &str) -> Option<String> {
    let items: Vec<&str> = value
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|item| !item.is_empty())
        .collect();
    // A wildcard beside an address is refused, and alone would listen
    // where the key's program may not (`0.0.0.0` to PostgreSQL is IPv4).
    let each_address = items.iter().all(|item| {
        item.trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_ok_and(|ip| !ip.is_unspecified())
            && listenable(item).is_ok_and(|host| !host.ends_with("%IFACE"))
    });
    (items.len() > 1 && each_address).then(|| {
        items
            .iter()
            .map(|item| item.trim_matches(['[', ']']))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// An IPv6 address in brackets, anything else as it is.
fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// What to write for `SCHEME://ADDRESS`, the authority another scheme
/// had: the URL where it is one here, or what its own form is told. An
/// empty host is every address, as Go and Kafka read it (`tcp://` without
/// a host is Docker's localhost, which no other scheme meant).
fn as_url(scheme: &str, address: &str) -> String {
    if let Some(port) = address.strip_prefix(':')
        && (super::shorthand::is_port(port) || port == "PORT")
    {
        return every_address(scheme, port);
    }
    let url = format!("{scheme}://{address}");
    match super::shorthand::shorthand(&url) {
        Some(Ok(_)) => url,
        _ => super::shorthand::foreign(&url).map_or(url, |form| form.instead()),
    }
}

/// What to write for `SCHEME://*:PORT`: every IPv4 address, as ZeroMQ,
/// nginx and HAProxy read `*`, or every address of both families.
fn star_url(scheme: &str, port: &str) -> String {
    format!(
        "{scheme}://0.0.0.0:{port} for every IPv4 address, or {} for every address of both families",
        every_address(scheme, port)
    )
}

/// What to write for systemd's `ADDRESS:PORT%IFACE` in `scheme`: a
/// link-local address's scope goes inside the brackets; after any other
/// address the scope means nothing (systemd checks the name, then binds
/// every interface), and `device=` is what keeps a socket to one.
fn scope_after_port(addr: &str, port: &str, zone: &str, scheme: &str) -> String {
    let written = |address: String| match scheme {
        "tcp" => address,
        _ => format!("{scheme}://{address}"),
    };
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(ip)) if ip.is_unicast_link_local() => format!(
            "the scope inside the brackets, {}",
            written(format!("[{addr}%{zone}]:{port}"))
        ),
        Ok(std::net::IpAddr::V6(_)) => format!(
            "{}: a scope means nothing to an address that is not link-local; to keep its socket to {zone}, give its endpoint `device={zone}`",
            written(format!("[{addr}]:{port}"))
        ),
        _ => format!(
            "{}: systemd takes no interface from %{zone} after an IPv4 address, and binds it on every one; to keep its socket to {zone}, give its endpoint `device={zone}` (BindToDevice= in a unit)",
            written(format!("{addr}:{port}"))
        ),
    }
}

/// Every address of both families on `port`, in `scheme`: TCP's is `:PORT`,
/// since `tcp://:PORT` is refused (Docker reads it as localhost).
fn every_address(scheme: &str, port: &str) -> String {
    match scheme {
        "tcp" => format!(":{port}"),
        _ => format!("{scheme}://:{port}"),
    }
}

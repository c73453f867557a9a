//! Why a spec was refused, with where and what to write instead.

use std::fmt;

use crate::spec::{Family, Name, Network, Selector};

/// One thing wrong with a spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecErrorKind {
    /// A line is not `NAME = …` or `NETWORK.ENDPOINT = …`.
    #[error("expected `NAME = selectors` or `NETWORK.ENDPOINT = protocol:port`, found {0:?}")]
    BadStatement(String),
    /// A network or endpoint name has characters outside `[A-Za-z0-9_-]`.
    #[error("{0:?} is not a name: use letters, digits, '-' and '_', starting with a letter")]
    BadName(String),
    /// A selector did not parse.
    #[error("selector {text:?}: {why}")]
    BadSelector {
        /// The selector as written.
        text: String,
        /// What is wrong with it.
        why: String,
    },
    /// `expose=` has an unknown level.
    #[error("expose={0:?}: the levels are public, private and local")]
    BadExpose(String),
    /// An advertised URL or host did not parse or cannot be reached.
    #[error("advertise {text:?}: {why}")]
    BadAdvertise {
        /// The URL or host as written.
        text: String,
        /// What is wrong with it.
        why: String,
    },
    /// An endpoint protocol is unknown.
    #[error("protocol {0:?}: use tcp, udp, http or https")]
    BadProtocol(String),
    /// A port or range did not parse.
    #[error(
        "ports {0:?}: use a port (0 for any free port) or a range FIRST-LAST with 0 < FIRST < LAST"
    )]
    BadPorts(String),
    /// An option is unknown or has a bad value.
    #[error("option {text:?}: {why}")]
    BadOption {
        /// The option as written.
        text: String,
        /// What is wrong and what is accepted.
        why: String,
    },
    /// An endpoint's target is a URL (`http://0.0.0.0:8080`), where the
    /// grammar wants `PROTOCOL:PORT` and takes addresses from the network.
    #[error(
        "{url:?} is a URL, but an endpoint is PROTOCOL:PORT and listens on its network's addresses: {instead}"
    )]
    EndpointUrl {
        /// The target as written.
        url: String,
        /// What to write instead.
        instead: String,
    },
    /// An option was given twice.
    #[error("option {0:?} is given twice")]
    RepeatedOption(String),
    /// A network has only excludes and family filters.
    #[error(
        "network {0} includes nothing: add an include such as `*`, a CIDR block or if:NAME before excludes and ipv4/ipv6"
    )]
    NoInclude(Name),
    /// A wildcard is listed beside specific selectors.
    #[error(
        "network {0} mixes a wildcard with specific selectors: a wildcard already takes every address, so list either the wildcard or the addresses"
    )]
    WildcardMixed(Name),
    /// A wildcard network has excludes.
    #[error(
        "network {0} excludes from a wildcard, but a wildcard socket takes every address and cannot skip any: list the addresses to include instead"
    )]
    WildcardExclude(Name),
    /// `!*`, `!0.0.0.0` or `!::`.
    #[error(
        "network {network}: !{selector} excludes everything of a family; use ipv4 or ipv6 to keep one family"
    )]
    ExcludeWildcard {
        /// The network.
        network: Name,
        /// The wildcard excluded.
        selector: Selector,
    },
    /// Both `ipv4` and `ipv6` are given.
    #[error(
        "network {0} lists both ipv4 and ipv6; give one to keep one family, or neither for both"
    )]
    BothFamilies(Name),
    /// A family filter leaves none of the includes.
    #[error("network {network}: {family} removes every selector it includes")]
    FamilyEmpty {
        /// The network.
        network: Name,
        /// The filter.
        family: Family,
    },
    /// A network is defined twice.
    #[error("network {0} is defined twice")]
    DuplicateNetwork(Name),
    /// An endpoint is defined twice.
    #[error("endpoint {0} is defined twice")]
    DuplicateEndpoint(String),
    /// An endpoint names a network that is not defined.
    #[error(
        "endpoint {endpoint} is on a network that is not defined (the defined networks are listed below)"
    )]
    UnknownNetwork {
        /// `network.endpoint`.
        endpoint: String,
    },
    /// `backlog=` on a UDP endpoint.
    #[error("endpoint {0}: UDP sockets do not listen, so backlog does not apply")]
    UdpBacklog(String),
    /// `backlog=0`.
    #[error("endpoint {0}: backlog=0 refuses every connection; leave it out for the OS default")]
    ZeroBacklog(String),
}

/// A [`SpecErrorKind`] with where it was found, when it came from text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// 1-based line number, when the spec came from text.
    pub line: Option<usize>,
    /// The statement as written.
    pub statement: Option<String>,
    /// What is wrong.
    pub kind: SpecErrorKind,
}

/// Every problem found in a spec, not just the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    errors: Vec<Located>,
    /// The networks the spec defines, listed once under the errors when an
    /// endpoint names one that is not defined.
    defined: Option<String>,
}

/// How many network names the listing under the errors shows.
const LISTED_NETWORKS: usize = 32;

impl SpecError {
    pub(crate) fn unlocated(kinds: Vec<SpecErrorKind>, networks: &[Network]) -> SpecError {
        let errors = kinds
            .into_iter()
            .map(|kind| Located {
                line: None,
                statement: None,
                kind,
            })
            .collect();
        SpecError::new(errors, networks)
    }

    pub(crate) fn new(errors: Vec<Located>, networks: &[Network]) -> SpecError {
        let unknown = |e: &Located| matches!(e.kind, SpecErrorKind::UnknownNetwork { .. });
        let defined = errors.iter().any(unknown).then(|| {
            let names: Vec<&str> = networks
                .iter()
                .take(LISTED_NETWORKS)
                .map(|n| n.name().as_str())
                .collect();
            let more = networks.len().saturating_sub(LISTED_NETWORKS);
            match (names.is_empty(), more) {
                (true, _) => "the spec defines no network".to_owned(),
                (false, 0) => format!("defined networks: {}", names.join(", ")),
                (false, n) => format!("defined networks: {} and {n} more", names.join(", ")),
            }
        });
        SpecError { errors, defined }
    }

    /// The problems, in the order found.
    pub fn errors(&self) -> &[Located] {
        &self.errors
    }
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, &self.statement) {
            (Some(l), Some(s)) => write!(f, "line {l}: {}\n    {s}", self.kind),
            (Some(l), None) => write!(f, "line {l}: {}", self.kind),
            _ => write!(f, "{}", self.kind),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::write_list(f, ("the listen spec has ", "error", ""), "  ", &self.errors)?;
        if let Some(defined) = &self.defined {
            write!(f, "\n{defined}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

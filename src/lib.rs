//! listenspec: where a server listens, and what clients type to reach it.
#![deny(missing_docs)]

pub mod class;
pub mod host;
pub mod spec;

pub use class::AddrClass;
pub use host::{DnsAnswer, Host, HostBuilder, HostError, Interface};
pub use spec::{
    Advertise, Endpoint, EndpointOptions, Exposure, Family, ListenSpec, Name, Network, Ports,
    Protocol, Selector, SpecError, SpecErrorKind, Transport,
};

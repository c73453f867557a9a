//! TEMPORARY minimal version; replaced by the IANA-registry-driven module.
use std::net::IpAddr;

/// Address class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AddrClass {
    /// `0.0.0.0`, `::`.
    Unspecified,
    /// Loopback.
    Loopback,
    /// Link-local.
    LinkLocal,
    /// RFC 1918.
    Private,
    /// Unique local.
    UniqueLocal,
    /// Documentation.
    Documentation,
    /// Multicast.
    Multicast,
    /// Global.
    Global,
}

impl AddrClass {
    /// Every class.
    pub const ALL: &'static [AddrClass] = &[
        AddrClass::Unspecified,
        AddrClass::Loopback,
        AddrClass::LinkLocal,
        AddrClass::Private,
        AddrClass::UniqueLocal,
        AddrClass::Documentation,
        AddrClass::Multicast,
        AddrClass::Global,
    ];
    /// Class of an address.
    pub fn of(ip: IpAddr) -> AddrClass {
        match ip {
            IpAddr::V4(a) if a.is_unspecified() => AddrClass::Unspecified,
            IpAddr::V4(a) if a.is_loopback() => AddrClass::Loopback,
            IpAddr::V4(a) if a.is_link_local() => AddrClass::LinkLocal,
            IpAddr::V4(a) if a.is_private() => AddrClass::Private,
            IpAddr::V4(a) if a.is_documentation() => AddrClass::Documentation,
            IpAddr::V4(a) if a.is_multicast() => AddrClass::Multicast,
            IpAddr::V6(a) if a.is_unspecified() => AddrClass::Unspecified,
            IpAddr::V6(a) if a.is_loopback() => AddrClass::Loopback,
            IpAddr::V6(a) if a.is_unicast_link_local() => AddrClass::LinkLocal,
            IpAddr::V6(a) if a.is_unique_local() => AddrClass::UniqueLocal,
            IpAddr::V6(a) if a.segments()[0] == 0x2001 && a.segments()[1] == 0xdb8 => {
                AddrClass::Documentation
            }
            IpAddr::V6(a) if a.is_multicast() => AddrClass::Multicast,
            _ => AddrClass::Global,
        }
    }
    /// Spec-language name.
    pub fn name(self) -> &'static str {
        match self {
            AddrClass::Unspecified => "unspecified",
            AddrClass::Loopback => "loopback",
            AddrClass::LinkLocal => "link-local",
            AddrClass::Private => "private",
            AddrClass::UniqueLocal => "unique-local",
            AddrClass::Documentation => "documentation",
            AddrClass::Multicast => "multicast",
            AddrClass::Global => "global",
        }
    }
    /// Class by its spec-language name.
    pub fn from_name(name: &str) -> Option<AddrClass> {
        AddrClass::ALL.iter().copied().find(|c| c.name() == name)
    }
}

/// Whether the registries call the address globally reachable.
pub fn is_globally_reachable(ip: IpAddr) -> bool {
    AddrClass::of(ip) == AddrClass::Global
}

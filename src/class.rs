//! Address classes, taken from the IANA special-purpose address registries.
//!
//! # Where the table comes from
//!
//! Every row of [`registry()`] is one row of these IANA registries, with the
//! registry's own name, RFC and "Globally Reachable" value:
//!
//! - IANA IPv4 Special-Purpose Address Registry,
//!   `https://www.iana.org/assignments/iana-ipv4-special-registry/`
//! - IANA IPv6 Special-Purpose Address Registry,
//!   `https://www.iana.org/assignments/iana-ipv6-special-registry/`
//!   (transcribed as of its 2025-10-09 update, which added `100:0:0:1::/64`)
//!
//! The two multicast rows (`224.0.0.0/4`, `ff00::/8`) and the deprecated
//! site-local row (`fec0::/10`, RFC 3879) are not in those registries: they
//! come from the address-space registries, which have no "Globally
//! Reachable" column (see [`is_globally_reachable`] for the value used).
//! The site-local row is left blank, so it counts as maybe public (below):
//! RFC 3879 section 4 has new implementations treat the block as global
//! unicast, since nothing keeps it inside a site, and Go and Python's
//! `ipaddress` call it global too:
//!
//! - IANA IPv4 Address Space Registry,
//!   `https://www.iana.org/assignments/ipv4-address-space/` (224/8 to 239/8)
//! - Internet Protocol Version 6 Address Space,
//!   `https://www.iana.org/assignments/ipv6-address-space/` (FEC0::/10, FF00::/8)
//!
//! The registry's combined row "192.0.0.170/32, 192.0.0.171/32" is two rows
//! here. Addresses in no row (ordinary unicast) are [`AddrClass::Global`].
//!
//! # N/A means "maybe public"
//!
//! The registries give "N/A" (Teredo `2001::/32`, 6to4 `2002::/16`) or
//! nothing at all (the terminated rows `192.88.99.0/24` and `2001:10::/28`)
//! instead of True/False for a few rows, and the site-local row comes from a
//! registry without the column; [`SpecialBlock::globally_reachable`]
//! keeps that as `None`. [`is_globally_reachable`] answers `true` for them:
//! this crate uses it to refuse exposing private-only services, so when the
//! registry does not promise "not reachable", we assume reachable.
//!
//! # Why not std or go-sockaddr
//!
//! `Ipv4Addr::is_global` and friends are unstable and have changed meaning
//! between releases, and std has no notion of the registry's N/A rows.
//! Hand-written tables in the wild are wrong in ways that matter here:
//! go-sockaddr lists `2001::/16` where the RFC says `2001::/23` (so
//! `2001:4860::/32`, Google's public DNS, counts as special), and Consul tests
//! only `fc00::/8` for unique-local addresses (so `fd00::/8`, the half that is
//! actually used, counts as public). This module follows the registries
//! row by row, and the tests check it against an independent transcription.
//!
//! # Example
//!
//! ```
//! use listenspec::AddrClass;
//! use listenspec::class::{block_of, is_globally_reachable};
//! use std::net::IpAddr;
//!
//! let ula: IpAddr = "fd12::1".parse()?;
//! assert_eq!(AddrClass::of(ula), AddrClass::UniqueLocal);
//! assert!(!is_globally_reachable(ula));
//!
//! let dns: IpAddr = "2001:4860::8888".parse()?;
//! assert_eq!(AddrClass::of(dns), AddrClass::Global);
//! assert!(is_globally_reachable(dns));
//!
//! let pcp: IpAddr = "192.0.0.9".parse()?;
//! let block = block_of(pcp).expect("192.0.0.9 is in the registry");
//! assert_eq!(block.name, "Port Control Protocol Anycast");
//! assert_eq!(block.net.to_string(), "192.0.0.9/32");
//!
//! assert_eq!("unique-local".parse::<AddrClass>()?, AddrClass::UniqueLocal);
//! assert_eq!(AddrClass::LinkLocal.to_string(), "link-local");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// What an address is for, as the IANA registries say.
///
/// One variant per distinct meaning in the registries (several rows may share
/// one, e.g. the three RFC 1918 blocks are all [`Private`](Self::Private));
/// [`Global`](Self::Global) is every address in no registry row.
///
/// The variant order (and so `Ord`) is a stable but arbitrary listing order,
/// not a preference ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AddrClass {
    /// `unspecified`: `0.0.0.0/32` ("this host on this network"), `::/128`.
    Unspecified,
    /// `this-network`: the rest of `0.0.0.0/8` (RFC 791).
    ThisNetwork,
    /// `loopback`: `127.0.0.0/8`, `::1/128`.
    Loopback,
    /// `link-local`: `169.254.0.0/16`, `fe80::/10`.
    LinkLocal,
    /// `private`: the RFC 1918 blocks `10.0.0.0/8`, `172.16.0.0/12`,
    /// `192.168.0.0/16`.
    Private,
    /// `shared`: `100.64.0.0/10`, the carrier-grade NAT space (RFC 6598).
    Shared,
    /// `unique-local`: `fc00::/7` (RFC 4193), which includes `fd00::/8`.
    UniqueLocal,
    /// `site-local`: `fec0::/10`, deprecated by RFC 3879 (from the IPv6
    /// address-space registry). Maybe globally reachable, as RFC 3879 has
    /// new implementations treat it (global unicast), so a `private` network
    /// may not take it; and ranked below global and unique-local addresses
    /// when choosing what to advertise, as RFC 6724's precedence table has it.
    SiteLocal,
    /// `documentation`: `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`,
    /// `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `benchmarking`: `198.18.0.0/15`, `2001:2::/48`.
    Benchmarking,
    /// `multicast`: `224.0.0.0/4`, `ff00::/8` (from the address-space
    /// registries).
    Multicast,
    /// `broadcast`: `255.255.255.255/32`, the limited broadcast address.
    Broadcast,
    /// `reserved`: `240.0.0.0/4`, reserved for future use (RFC 1112).
    Reserved,
    /// `ipv4-mapped`: `::ffff:0:0/96` (RFC 4291).
    Ipv4Mapped,
    /// `translation`: the IPv4/IPv6 translation prefixes `64:ff9b::/96`
    /// (RFC 6052) and `64:ff9b:1::/48` (RFC 8215).
    Translation,
    /// `discard`: `100::/64`, the discard-only block (RFC 6666).
    Discard,
    /// `dummy`: `192.0.0.8/32` (RFC 7600) and `100:0:0:1::/64` (RFC 9780),
    /// source addresses for hosts that have no other.
    Dummy,
    /// `teredo`: `2001::/32` (RFC 4380).
    Teredo,
    /// `6to4`: `2002::/16` (RFC 3056).
    SixToFour,
    /// `protocol-assignments`: the IETF protocol assignment blocks
    /// `192.0.0.0/24` and `2001::/23`, outside their more specific rows.
    ProtocolAssignments,
    /// `service-continuity`: `192.0.0.0/29`, the IPv4 service continuity
    /// prefix (DS-Lite and friends, RFC 7335).
    ServiceContinuity,
    /// `anycast`: well-known anycast service addresses: Port Control Protocol
    /// (`192.0.0.9`, `2001:1::1`), TURN (`192.0.0.10`, `2001:1::2`), DNS-SD
    /// Service Registration Protocol (`2001:1::3`) and the 6a44 relay
    /// (`192.88.99.2`).
    Anycast,
    /// `nat64-discovery`: `192.0.0.170`, `192.0.0.171` (RFC 7050, RFC 8880).
    Nat64Discovery,
    /// `as112`: the AS112 DNS sink blocks `192.31.196.0/24`, `2001:4:112::/48`
    /// (RFC 7535) and the direct-delegation ones `192.175.48.0/24`,
    /// `2620:4f:8000::/48` (RFC 7534).
    As112,
    /// `amt`: Automatic Multicast Tunneling, `192.52.193.0/24`, `2001:3::/32`
    /// (RFC 7450).
    Amt,
    /// `orchid`: ORCHIDv2 `2001:20::/28` (RFC 7343).
    Orchid,
    /// `dets`: Drone Remote ID Protocol Entity Tags `2001:30::/28`
    /// (RFC 9374).
    Dets,
    /// `srv6`: Segment Routing (SRv6) SIDs `5f00::/16` (RFC 9602).
    Srv6,
    /// `deprecated`: registrations the registries list as terminated: the
    /// 6to4 relay anycast block `192.88.99.0/24` (RFC 7526) and the first
    /// ORCHID block `2001:10::/28` (RFC 4843).
    Deprecated,
    /// `global`: in no registry row; ordinary unicast space.
    Global,
}

impl AddrClass {
    /// Every class, in declaration order.
    pub const ALL: &'static [AddrClass] = &[
        AddrClass::Unspecified,
        AddrClass::ThisNetwork,
        AddrClass::Loopback,
        AddrClass::LinkLocal,
        AddrClass::Private,
        AddrClass::Shared,
        AddrClass::UniqueLocal,
        AddrClass::SiteLocal,
        AddrClass::Documentation,
        AddrClass::Benchmarking,
        AddrClass::Multicast,
        AddrClass::Broadcast,
        AddrClass::Reserved,
        AddrClass::Ipv4Mapped,
        AddrClass::Translation,
        AddrClass::Discard,
        AddrClass::Dummy,
        AddrClass::Teredo,
        AddrClass::SixToFour,
        AddrClass::ProtocolAssignments,
        AddrClass::ServiceContinuity,
        AddrClass::Anycast,
        AddrClass::Nat64Discovery,
        AddrClass::As112,
        AddrClass::Amt,
        AddrClass::Orchid,
        AddrClass::Dets,
        AddrClass::Srv6,
        AddrClass::Deprecated,
        AddrClass::Global,
    ];

    /// The class of the most specific (longest-prefix) registry block that
    /// holds `ip`, or [`Global`](Self::Global) when none does.
    ///
    /// IPv4-mapped IPv6 addresses are [`Ipv4Mapped`](Self::Ipv4Mapped), not
    /// the class of the IPv4 address inside: that is what the registry says,
    /// and such an address never appears on an interface.
    pub fn of(ip: IpAddr) -> AddrClass {
        block_of(ip).map_or(AddrClass::Global, |b| b.class)
    }

    /// The kebab-case name used in the spec language, like `"link-local"`.
    pub fn name(self) -> &'static str {
        match self {
            AddrClass::Unspecified => "unspecified",
            AddrClass::ThisNetwork => "this-network",
            AddrClass::Loopback => "loopback",
            AddrClass::LinkLocal => "link-local",
            AddrClass::Private => "private",
            AddrClass::Shared => "shared",
            AddrClass::UniqueLocal => "unique-local",
            AddrClass::SiteLocal => "site-local",
            AddrClass::Documentation => "documentation",
            AddrClass::Benchmarking => "benchmarking",
            AddrClass::Multicast => "multicast",
            AddrClass::Broadcast => "broadcast",
            AddrClass::Reserved => "reserved",
            AddrClass::Ipv4Mapped => "ipv4-mapped",
            AddrClass::Translation => "translation",
            AddrClass::Discard => "discard",
            AddrClass::Dummy => "dummy",
            AddrClass::Teredo => "teredo",
            AddrClass::SixToFour => "6to4",
            AddrClass::ProtocolAssignments => "protocol-assignments",
            AddrClass::ServiceContinuity => "service-continuity",
            AddrClass::Anycast => "anycast",
            AddrClass::Nat64Discovery => "nat64-discovery",
            AddrClass::As112 => "as112",
            AddrClass::Amt => "amt",
            AddrClass::Orchid => "orchid",
            AddrClass::Dets => "dets",
            AddrClass::Srv6 => "srv6",
            AddrClass::Deprecated => "deprecated",
            AddrClass::Global => "global",
        }
    }

    /// The class with this [`name`](Self::name) (exact, case-sensitive).
    pub fn from_name(name: &str) -> Option<AddrClass> {
        AddrClass::ALL.iter().copied().find(|c| c.name() == name)
    }
}

impl fmt::Display for AddrClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AddrClass {
    type Err = UnknownAddrClass;

    fn from_str(s: &str) -> Result<AddrClass, UnknownAddrClass> {
        AddrClass::from_name(s).ok_or_else(|| UnknownAddrClass { name: s.to_owned() })
    }
}

/// The error of parsing an [`AddrClass`] from a name that is none of its
/// names; its message lists the valid ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAddrClass {
    name: String,
}

impl UnknownAddrClass {
    /// The text that was not a class name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for UnknownAddrClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown address class {:?}; valid classes are ",
            self.name
        )?;
        for (i, c) in AddrClass::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(c.name())?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownAddrClass {}

/// One row of the IANA special-purpose (or address-space) registries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpecialBlock {
    /// The address block.
    pub net: IpNet,
    /// The registry's name for the block, like `"Private-Use"`.
    pub name: &'static str,
    /// The registry's RFC column, like `"RFC 1122, section 3.2.1.3"`.
    pub rfc: &'static str,
    /// The class this crate gives the block.
    pub class: AddrClass,
    /// The registry's "Globally Reachable" column; `None` where it says N/A
    /// or, for terminated rows, nothing, and for the site-local row, which
    /// comes from the address-space registry that has no such column.
    pub globally_reachable: Option<bool>,
}

/// Every registry row this crate knows: IPv4 rows first, then IPv6, each
/// family ordered from the longest prefix to the shortest, so the first row
/// holding an address is the most specific one.
pub fn registry() -> &'static [SpecialBlock] {
    &REGISTRY
}

/// The most specific registry row holding `ip`, if any.
pub fn block_of(ip: IpAddr) -> Option<&'static SpecialBlock> {
    // The key arrays are built from TABLE in TABLE's order, so key index i is
    // row i of its family's part of REGISTRY; rows are most specific first.
    // The planner asks this for every host address, so rather than trying all
    // rows of the family, try only those the first byte allows: lowest bit
    // first keeps the table order, so the first hit is still the most specific.
    let i = match ip {
        IpAddr::V4(a) => {
            let x = a.to_bits();
            let rows = V4_BY_FIRST_BYTE[usize::from(a.octets()[0])];
            first_row(rows, |r| {
                let (net, mask) = V4_KEYS[r];
                x & mask == net
            })?
        }
        IpAddr::V6(a) => {
            let x = a.to_bits();
            let rows = V6_BY_FIRST_BYTE[usize::from(a.octets()[0])];
            V4_LEN
                + first_row(rows, |r| {
                    let (net, mask) = V6_KEYS[r];
                    x & mask == net
                })?
        }
    };
    REGISTRY.get(i)
}

/// The lowest row in the bit set `rows` that holds the address.
fn first_row(mut rows: u64, holds: impl Fn(usize) -> bool) -> Option<usize> {
    while rows != 0 {
        let r = rows.trailing_zeros() as usize;
        if holds(r) {
            return Some(r);
        }
        rows &= rows - 1;
    }
    None
}

/// Whether the registries call `ip` globally reachable: the "Globally
/// Reachable" column of the most specific row holding it.
///
/// - N/A (Teredo, 6to4) and blank (terminated rows, deprecated site-local
///   `fec0::/10`) count as reachable: the crate uses this answer to keep
///   private services off public addresses, so "unknown" must not pass for
///   "private".
/// - Addresses in no row are reachable.
/// - Multicast has no registry column. IPv6 multicast with global scope
///   (`ffXe::/16`, scope nibble `e`, any flags) is reachable; every other
///   multicast address, and all of IPv4 multicast (which has no scope field
///   and in practice is not routed between networks), is not. Listeners never
///   bind multicast groups, so this only matters to callers classifying
///   arbitrary addresses.
pub fn is_globally_reachable(ip: IpAddr) -> bool {
    classify(ip).1
}

/// [`AddrClass::of`] and [`is_globally_reachable`] together, from one
/// registry lookup, for callers that need both of many addresses.
pub(crate) fn classify(ip: IpAddr) -> (AddrClass, bool) {
    let block = block_of(ip);
    let class = block.map_or(AddrClass::Global, |b| b.class);
    let global_multicast = matches!(ip, IpAddr::V6(a) if a.segments()[0] & 0xff0f == 0xff0e);
    let reachable = global_multicast || block.is_none_or(|b| b.globally_reachable.unwrap_or(true));
    (class, reachable)
}

// ---------------------------------------------------------------------------
// The table.

const YES: Option<bool> = Some(true);
const NO: Option<bool> = Some(false);
const NA: Option<bool> = None;

const fn v4(o: [u8; 4], len: u8) -> IpNet {
    IpNet::V4(Ipv4Net::new_assert(
        Ipv4Addr::new(o[0], o[1], o[2], o[3]),
        len,
    ))
}

const fn v6(s: [u16; 8], len: u8) -> IpNet {
    IpNet::V6(Ipv6Net::new_assert(
        Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
        len,
    ))
}

const fn row(
    net: IpNet,
    name: &'static str,
    rfc: &'static str,
    class: AddrClass,
    globally_reachable: Option<bool>,
) -> SpecialBlock {
    SpecialBlock {
        net,
        name,
        rfc,
        class,
        globally_reachable,
    }
}

// Ordered by family, then prefix length descending, so that the first match is
// the most specific; `check_table` enforces it at compile time.
#[rustfmt::skip]
const TABLE: [SpecialBlock; 54] = {
    use AddrClass as C;
    [
        // IANA IPv4 Special-Purpose Address Registry, plus multicast from the
        // IPv4 Address Space registry.
        row(v4([0, 0, 0, 0], 32),         "\"This host on this network\"", "RFC 1122, section 3.2.1.3", C::Unspecified, NO),
        row(v4([192, 0, 0, 8], 32),       "IPv4 dummy address", "RFC 7600", C::Dummy, NO),
        row(v4([192, 0, 0, 9], 32),       "Port Control Protocol Anycast", "RFC 7723", C::Anycast, YES),
        row(v4([192, 0, 0, 10], 32),      "Traversal Using Relays around NAT Anycast", "RFC 8155", C::Anycast, YES),
        row(v4([192, 0, 0, 170], 32),     "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050, section 2.2", C::Nat64Discovery, NO),
        row(v4([192, 0, 0, 171], 32),     "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050, section 2.2", C::Nat64Discovery, NO),
        row(v4([192, 88, 99, 2], 32),     "6a44-relay anycast address", "RFC 6751", C::Anycast, NO),
        row(v4([255, 255, 255, 255], 32), "Limited Broadcast", "RFC 8190, RFC 919, section 7", C::Broadcast, NO),
        row(v4([192, 0, 0, 0], 29),       "IPv4 Service Continuity Prefix", "RFC 7335", C::ServiceContinuity, NO),
        row(v4([192, 0, 0, 0], 24),       "IETF Protocol Assignments", "RFC 6890, section 2.1", C::ProtocolAssignments, NO),
        row(v4([192, 0, 2, 0], 24),       "Documentation (TEST-NET-1)", "RFC 5737", C::Documentation, NO),
        row(v4([192, 31, 196, 0], 24),    "AS112-v4", "RFC 7535", C::As112, YES),
        row(v4([192, 52, 193, 0], 24),    "AMT", "RFC 7450", C::Amt, YES),
        row(v4([192, 88, 99, 0], 24),     "Deprecated (6to4 Relay Anycast)", "RFC 7526", C::Deprecated, NA),
        row(v4([192, 175, 48, 0], 24),    "Direct Delegation AS112 Service", "RFC 7534", C::As112, YES),
        row(v4([198, 51, 100, 0], 24),    "Documentation (TEST-NET-2)", "RFC 5737", C::Documentation, NO),
        row(v4([203, 0, 113, 0], 24),     "Documentation (TEST-NET-3)", "RFC 5737", C::Documentation, NO),
        row(v4([169, 254, 0, 0], 16),     "Link Local", "RFC 3927", C::LinkLocal, NO),
        row(v4([192, 168, 0, 0], 16),     "Private-Use", "RFC 1918", C::Private, NO),
        row(v4([198, 18, 0, 0], 15),      "Benchmarking", "RFC 2544", C::Benchmarking, NO),
        row(v4([172, 16, 0, 0], 12),      "Private-Use", "RFC 1918", C::Private, NO),
        row(v4([100, 64, 0, 0], 10),      "Shared Address Space", "RFC 6598", C::Shared, NO),
        row(v4([0, 0, 0, 0], 8),          "\"This network\"", "RFC 791, section 3.2", C::ThisNetwork, NO),
        row(v4([10, 0, 0, 0], 8),         "Private-Use", "RFC 1918", C::Private, NO),
        row(v4([127, 0, 0, 0], 8),        "Loopback", "RFC 1122, section 3.2.1.3", C::Loopback, NO),
        row(v4([224, 0, 0, 0], 4),        "Multicast", "RFC 5771", C::Multicast, NO),
        row(v4([240, 0, 0, 0], 4),        "Reserved", "RFC 1112, section 4", C::Reserved, NO),

        // IANA IPv6 Special-Purpose Address Registry, plus multicast from the
        // IPv6 Address Space registry.
        row(v6([0, 0, 0, 0, 0, 0, 0, 0], 128),                "Unspecified Address", "RFC 4291", C::Unspecified, NO),
        row(v6([0, 0, 0, 0, 0, 0, 0, 1], 128),                "Loopback Address", "RFC 4291", C::Loopback, NO),
        row(v6([0x2001, 1, 0, 0, 0, 0, 0, 1], 128),           "Port Control Protocol Anycast", "RFC 7723", C::Anycast, YES),
        row(v6([0x2001, 1, 0, 0, 0, 0, 0, 2], 128),           "Traversal Using Relays around NAT Anycast", "RFC 8155", C::Anycast, YES),
        row(v6([0x2001, 1, 0, 0, 0, 0, 0, 3], 128),           "DNS-SD Service Registration Protocol Anycast", "RFC 9665", C::Anycast, YES),
        row(v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96),            "IPv4-mapped Address", "RFC 4291", C::Ipv4Mapped, NO),
        row(v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96),         "IPv4-IPv6 Translat.", "RFC 6052", C::Translation, YES),
        row(v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64),             "Discard-Only Address Block", "RFC 6666", C::Discard, NO),
        row(v6([0x100, 0, 0, 1, 0, 0, 0, 0], 64),             "Dummy IPv6 Prefix", "RFC 9780", C::Dummy, NO),
        row(v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),         "IPv4-IPv6 Translat.", "RFC 8215", C::Translation, NO),
        row(v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48),            "Benchmarking", "RFC 5180, RFC Errata 1752", C::Benchmarking, NO),
        row(v6([0x2001, 4, 0x112, 0, 0, 0, 0, 0], 48),        "AS112-v6", "RFC 7535", C::As112, YES),
        row(v6([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0], 48),    "Direct Delegation AS112 Service", "RFC 7534", C::As112, YES),
        row(v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32),            "TEREDO", "RFC 4380, RFC 8190", C::Teredo, NA),
        row(v6([0x2001, 3, 0, 0, 0, 0, 0, 0], 32),            "AMT", "RFC 7450", C::Amt, YES),
        row(v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),        "Documentation", "RFC 3849", C::Documentation, NO),
        row(v6([0x2001, 0x10, 0, 0, 0, 0, 0, 0], 28),         "Deprecated (previously ORCHID)", "RFC 4843", C::Deprecated, NA),
        row(v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28),         "ORCHIDv2", "RFC 7343", C::Orchid, YES),
        row(v6([0x2001, 0x30, 0, 0, 0, 0, 0, 0], 28),         "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374", C::Dets, YES),
        row(v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),            "IETF Protocol Assignments", "RFC 2928", C::ProtocolAssignments, NO),
        row(v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),            "Documentation", "RFC 9637", C::Documentation, NO),
        row(v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16),            "6to4", "RFC 3056", C::SixToFour, NA),
        row(v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16),            "Segment Routing (SRv6) SIDs", "RFC 9602", C::Srv6, NO),
        row(v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),            "Link-Local Unicast", "RFC 4291", C::LinkLocal, NO),
        row(v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),            "Site-Local (deprecated)", "RFC 3879", C::SiteLocal, NA),
        row(v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8),             "Multicast", "RFC 4291", C::Multicast, NO),
        row(v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),             "Unique-Local", "RFC 4193, RFC 8190", C::UniqueLocal, NO),
    ]
};

static REGISTRY: [SpecialBlock; TABLE.len()] = TABLE;

const V4_LEN: usize = check_table(&TABLE);
static V4_KEYS: [(u32, u32); V4_LEN] = v4_keys(&TABLE);
static V6_KEYS: [(u128, u128); TABLE.len() - V4_LEN] = v6_keys(&TABLE, V4_LEN);
/// For each value of an address's first byte, the rows of its family (bit i
/// for key index i) whose block can hold such an address.
static V4_BY_FIRST_BYTE: [u64; 256] = by_first_byte(&TABLE, 0, V4_LEN);
static V6_BY_FIRST_BYTE: [u64; 256] = by_first_byte(&TABLE, V4_LEN, TABLE.len());

const fn mask4(len: u8) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - len) }
}

const fn mask6(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    }
}

/// Proves at compile time what `block_of` relies on: IPv4 rows come first,
/// each family runs from the longest prefix to the shortest, no row has host
/// bits set, and no block is listed twice. Returns the number of IPv4 rows.
const fn check_table(t: &[SpecialBlock]) -> usize {
    let mut v4_len = 0;
    let mut i = 0;
    while i < t.len() {
        let (is_v4, len) = match t[i].net {
            IpNet::V4(n) => {
                assert!(
                    n.addr().to_bits() & !mask4(n.prefix_len()) == 0,
                    "IPv4 row has host bits set"
                );
                (true, n.prefix_len())
            }
            IpNet::V6(n) => {
                assert!(
                    n.addr().to_bits() & !mask6(n.prefix_len()) == 0,
                    "IPv6 row has host bits set"
                );
                (false, n.prefix_len())
            }
        };
        if is_v4 {
            assert!(v4_len == i, "IPv4 rows must all come before IPv6 rows");
            v4_len += 1;
        }
        if i > 0 {
            let prev_len = match t[i - 1].net {
                IpNet::V4(n) => n.prefix_len(),
                IpNet::V6(n) => n.prefix_len(),
            };
            let same_family = matches!(
                (t[i - 1].net, t[i].net),
                (IpNet::V4(_), IpNet::V4(_)) | (IpNet::V6(_), IpNet::V6(_))
            );
            assert!(
                !same_family || prev_len >= len,
                "rows must run from the longest prefix to the shortest"
            );
        }
        let mut j = 0;
        while j < i {
            let same = match (t[i].net, t[j].net) {
                (IpNet::V4(a), IpNet::V4(b)) => {
                    a.addr().to_bits() == b.addr().to_bits() && a.prefix_len() == b.prefix_len()
                }
                (IpNet::V6(a), IpNet::V6(b)) => {
                    a.addr().to_bits() == b.addr().to_bits() && a.prefix_len() == b.prefix_len()
                }
                _ => false,
            };
            assert!(!same, "a block is listed twice");
            j += 1;
        }
        i += 1;
    }
    v4_len
}

const fn v4_keys<const L: usize>(t: &[SpecialBlock]) -> [(u32, u32); L] {
    let mut out = [(0, 0); L];
    let mut i = 0;
    while i < L {
        match t[i].net {
            IpNet::V4(n) => out[i] = (n.addr().to_bits(), mask4(n.prefix_len())),
            IpNet::V6(_) => panic!("IPv6 row among the IPv4 rows"),
        }
        i += 1;
    }
    out
}

const fn v6_keys<const L: usize>(t: &[SpecialBlock], start: usize) -> [(u128, u128); L] {
    let mut out = [(0, 0); L];
    let mut i = 0;
    while i < L {
        match t[start + i].net {
            IpNet::V6(n) => out[i] = (n.addr().to_bits(), mask6(n.prefix_len())),
            IpNet::V4(_) => panic!("IPv4 row among the IPv6 rows"),
        }
        i += 1;
    }
    out
}

/// Row sets by first byte for `t[start..end]`, one family's rows; bit i
/// stands for row `start + i`. A row admits a first byte when the byte agrees
/// with the row's network on the bits its prefix fixes (all 8 from /8 on).
const fn by_first_byte(t: &[SpecialBlock], start: usize, end: usize) -> [u64; 256] {
    assert!(
        end - start <= 64,
        "a family has more rows than a u64 has bits"
    );
    let mut out = [0u64; 256];
    let mut i = start;
    while i < end {
        let (first, len) = match t[i].net {
            IpNet::V4(n) => (n.addr().octets()[0], n.prefix_len()),
            IpNet::V6(n) => (n.addr().octets()[0], n.prefix_len()),
        };
        let fixed: u8 = if len >= 8 {
            0xff
        } else if len == 0 {
            0
        } else {
            0xff << (8 - len)
        };
        let mut b = 0;
        while b < 256 {
            if (b as u8) & fixed == first & fixed {
                out[b] |= 1 << (i - start);
            }
            b += 1;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `block_of` answered before it dispatched on the first byte: the
    /// first row, in table order, whose block holds the address.
    fn scan(ip: IpAddr) -> Option<&'static SpecialBlock> {
        REGISTRY.iter().find(|b| b.net.contains(&ip))
    }

    /// The first-byte tables leave out no row that could hold an address:
    /// every first byte with low bits all clear, all set and mixed, and
    /// every row's first and last address.
    #[test]
    fn dispatch_agrees_with_a_full_scan() {
        let mut ips: Vec<IpAddr> = Vec::new();
        for first in 0..=255u8 {
            for rest in [0u128, u128::MAX, 0x5555_5555_5555_5555_5555_5555_5555_5555] {
                let v4 = (u32::from(first) << 24) | (rest as u32 >> 8);
                let v6 = (u128::from(first) << 120) | (rest >> 8);
                ips.push(IpAddr::V4(Ipv4Addr::from(v4)));
                ips.push(IpAddr::V6(Ipv6Addr::from(v6)));
            }
        }
        for b in registry() {
            ips.push(b.net.network());
            ips.push(b.net.broadcast());
        }
        for ip in ips {
            assert_eq!(block_of(ip), scan(ip), "{ip}");
        }
    }

    /// Each first byte's row set holds exactly the rows whose block has an
    /// address that starts with the byte: none missing, which would answer
    /// wrongly, and none extra, which would only be slower.
    #[test]
    fn first_byte_sets_hold_exactly_the_rows_that_can_match() {
        let has = |set: u64, i: usize| set >> i & 1 == 1;
        for b in 0..=255u8 {
            for (i, row) in REGISTRY[..V4_LEN].iter().enumerate() {
                let IpNet::V4(n) = row.net else {
                    panic!("{} among the IPv4 rows", row.net)
                };
                let probe = (u32::from(b) << 24) | (n.network().to_bits() & 0x00ff_ffff);
                let admitted = has(V4_BY_FIRST_BYTE[usize::from(b)], i);
                assert_eq!(admitted, n.contains(&Ipv4Addr::from(probe)), "{n}, {b}");
            }
            for (i, row) in REGISTRY[V4_LEN..].iter().enumerate() {
                let IpNet::V6(n) = row.net else {
                    panic!("{} among the IPv6 rows", row.net)
                };
                let probe = (u128::from(b) << 120) | (n.network().to_bits() & (u128::MAX >> 8));
                let admitted = has(V6_BY_FIRST_BYTE[usize::from(b)], i);
                assert_eq!(admitted, n.contains(&Ipv6Addr::from(probe)), "{n}, {b:x}");
            }
        }
    }

    /// `check_table` refuses each table `block_of` would answer wrongly
    /// from, so an edit of the registry that breaks its order fails the
    /// build, and says which rule it broke.
    #[test]
    fn check_table_refuses_each_kind_of_bad_table() {
        let row = |net: &str| SpecialBlock {
            net: net.parse().unwrap(),
            name: "",
            rfc: "",
            class: AddrClass::Global,
            globally_reachable: None,
        };
        for (rows, why) in [
            (
                &["fd00::/8", "10.0.0.0/8"][..],
                "IPv4 rows must all come before IPv6 rows",
            ),
            (
                &["10.0.0.0/8", "10.1.0.0/16"],
                "rows must run from the longest prefix to the shortest",
            ),
            (&["10.0.0.1/8"], "IPv4 row has host bits set"),
            (&["fd00::1/8"], "IPv6 row has host bits set"),
            (&["10.0.0.0/8", "10.0.0.0/8"], "a block is listed twice"),
            (&["fd00::/8", "fd00::/8"], "a block is listed twice"),
        ] {
            let table: Vec<SpecialBlock> = rows.iter().map(|r| row(r)).collect();
            let panic = std::panic::catch_unwind(|| check_table(&table))
                .expect_err(&format!("{rows:?} passed"));
            assert_eq!(panic.downcast_ref::<&str>(), Some(&why), "{rows:?}");
        }
    }
}

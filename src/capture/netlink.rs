//! rtnetlink(7) as bytes: the two dump requests capture sends, and the
//! kernel's replies read back into links and addresses. Pure and safe: the
//! socket is `crate::sys`'s, and every length here comes from the kernel, so
//! every read is bounds-checked and a reply that does not parse is a
//! [`BadReply`], never a panic.
//!
//! The numbers are the kernel's stable ABI, from the uapi headers
//! `linux/netlink.h`, `linux/rtnetlink.h`, `linux/if_addr.h` and
//! `linux/if.h` (<https://man7.org/linux/man-pages/man7/rtnetlink.7.html>).
//! Netlink is in the host's byte order.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_OVERRUN: u16 = 4;
pub(crate) const RTM_NEWLINK: u16 = 16;
pub(crate) const RTM_GETLINK: u16 = 18;
pub(crate) const RTM_NEWADDR: u16 = 20;
pub(crate) const RTM_GETADDR: u16 = 22;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP_INTR: u16 = 0x10;
const NLM_F_DUMP: u16 = 0x300;
/// What a dump request asks: a request, for every object of its kind.
const DUMP_FLAGS: u16 = NLM_F_REQUEST | NLM_F_DUMP;

const IFLA_IFNAME: u16 = 3;
const IFLA_EXT_MASK: u16 = 29;
/// `RTEXT_FILTER_SKIP_STATS`: leave the per-protocol counters (IPv6's
/// `IFLA_INET6_STATS`, VF stats) out of the dump; the link's own counters
/// still come. Kernels from before the bit ignore it.
const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;

const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// `ifi_flags` bits of netdevice(7).
pub(crate) const IFF_UP: u32 = 0x1;
pub(crate) const IFF_LOOPBACK: u32 = 0x8;
pub(crate) const IFF_RUNNING: u32 = 0x40;

/// `IFA_F_*` bits of an address.
pub(crate) const IFA_F_OPTIMISTIC: u32 = 0x04;
pub(crate) const IFA_F_DADFAILED: u32 = 0x08;
pub(crate) const IFA_F_DEPRECATED: u32 = 0x20;
pub(crate) const IFA_F_TENTATIVE: u32 = 0x40;

const HEADER: usize = 16;
/// `struct ifinfomsg`.
const IFINFOMSG: usize = 16;
/// `struct ifaddrmsg`.
const IFADDRMSG: usize = 8;

/// Why a kernel reply could not be read. Each names the request it answered
/// and where in the datagram reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BadReply {
    /// A message's header or fixed part is cut short.
    Truncated {
        /// What was being read: `message header`, `ifinfomsg`, `ifaddrmsg`.
        what: &'static str,
        /// Its offset in the datagram.
        at: usize,
        /// The bytes it needs.
        need: usize,
        /// The bytes there are.
        have: usize,
    },
    /// A message says it is shorter than its header or longer than the
    /// datagram.
    BadLength {
        /// Its offset in the datagram.
        at: usize,
        /// The length it gives.
        len: usize,
        /// The bytes left in the datagram.
        have: usize,
    },
    /// An attribute's length runs past its message, or is shorter than its
    /// own header.
    BadAttribute {
        /// The attribute type.
        kind: u16,
        /// The interface the message is about.
        index: u32,
    },
    /// An address attribute has a length its family does not have.
    BadAddress {
        /// The interface.
        index: u32,
        /// The length given.
        len: usize,
        /// 4 for IPv4, 16 for IPv6.
        want: usize,
    },
    /// An address's prefix is longer than the address.
    BadPrefix {
        /// The interface.
        index: u32,
        /// The prefix length given.
        prefix: u8,
    },
    /// A link without its name attribute.
    NoName {
        /// The interface.
        index: u32,
    },
    /// A link or address of interface index 0, which the kernel never assigns.
    ZeroIndex {
        /// `link` or `address`.
        what: &'static str,
    },
    /// The kernel could not queue the whole reply (`NLMSG_OVERRUN`).
    Overrun,
    /// The dump ended without an `NLMSG_DONE`.
    Unfinished,
    /// A datagram filled the whole receive buffer, so it may have been cut.
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// The interfaces changed during every attempt to read them (the kernel
    /// marks such a dump `NLM_F_DUMP_INTR`).
    KeptChanging {
        /// How many dumps were tried.
        attempts: u32,
    },
}

impl fmt::Display for BadReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadReply::Truncated {
                what,
                at,
                need,
                have,
            } => write!(
                f,
                "a {what} at byte {at} needs {need} bytes but the datagram has {have} left (a truncated reply)"
            ),
            BadReply::BadLength { at, len, have } => write!(
                f,
                "a message at byte {at} gives its length as {len}, but {have} bytes are left"
            ),
            BadReply::BadAttribute { kind, index } => {
                write!(f, "attribute {kind} of interface #{index} has a bad length")
            }
            BadReply::BadAddress { index, len, want } => write!(
                f,
                "an address of interface #{index} is {len} bytes long, not {want}"
            ),
            BadReply::BadPrefix { index, prefix } => write!(
                f,
                "an address of interface #{index} has prefix length {prefix}, past its width"
            ),
            BadReply::NoName { index } => write!(f, "interface #{index} came without a name"),
            BadReply::ZeroIndex { what } => write!(f, "a {what} names interface index 0"),
            BadReply::Overrun => {
                f.write_str("the kernel reported an overrun: part of the reply was lost")
            }
            BadReply::Unfinished => f.write_str("the reply ended without its closing NLMSG_DONE"),
            BadReply::TooLarge { len } => write!(
                f,
                "a datagram of {len} bytes filled the receive buffer and may be cut short"
            ),
            BadReply::KeptChanging { attempts } => write!(
                f,
                "the interfaces kept changing during {attempts} attempts to read them"
            ),
        }
    }
}

impl std::error::Error for BadReply {}

/// One interface of a `RTM_GETLINK` dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) index: u32,
    pub(crate) name: String,
    /// `ifi_flags`: `IFF_UP`, `IFF_RUNNING`, `IFF_LOOPBACK`, ...
    pub(crate) flags: u32,
}

/// One address of a `RTM_GETADDR` dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Addr {
    pub(crate) index: u32,
    pub(crate) ip: IpAddr,
    pub(crate) prefix: u8,
    /// `IFA_F_*`: the `IFA_FLAGS` attribute when present (it holds the
    /// bits past 8), else `ifa_flags`.
    pub(crate) flags: u32,
}

/// What a datagram held, besides the records it added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// More datagrams follow.
    More,
    /// `NLMSG_DONE` came: the dump is complete.
    Done,
}

/// What went wrong reading one datagram: a malformed reply, or the kernel
/// refusing the request with an errno (`NLMSG_ERROR`, or a failed dump's
/// `NLMSG_DONE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReplyError {
    Bad(BadReply),
    Errno(i32),
}

impl From<BadReply> for ReplyError {
    fn from(b: BadReply) -> ReplyError {
        ReplyError::Bad(b)
    }
}

/// A dump request: `nlmsghdr` then an all-zero `ifinfomsg` or `ifaddrmsg`,
/// family `AF_UNSPEC`, so every family is listed. The link dump asks to
/// skip the counters the kernel lets it skip (`IFLA_EXT_MASK`): capture
/// reads none, and the IPv6 ones are a sizeable part of each message.
pub(crate) fn dump_request(kind: u16, seq: u32) -> Vec<u8> {
    let body = if kind == RTM_GETLINK {
        IFINFOMSG + 8
    } else {
        IFADDRMSG
    };
    let len = HEADER + body;
    let mut out = Vec::with_capacity(len);
    // Both sizes are small constants, far below u32::MAX.
    out.extend_from_slice(&(len as u32).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&DUMP_FLAGS.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    // Port id 0: the kernel fills in the sender's.
    out.extend_from_slice(&0u32.to_ne_bytes());
    if kind == RTM_GETLINK {
        out.resize(HEADER + IFINFOMSG, 0);
        out.extend_from_slice(&8u16.to_ne_bytes());
        out.extend_from_slice(&IFLA_EXT_MASK.to_ne_bytes());
        out.extend_from_slice(&RTEXT_FILTER_SKIP_STATS.to_ne_bytes());
    }
    out.resize(len, 0);
    out
}

/// The records of one reply datagram to the request numbered `seq`, added
/// to `links` or `addrs`. Messages of another sequence number (left from
/// an earlier request) are skipped. `interrupted` is set when the kernel
/// flags the dump as inconsistent, because the interfaces changed while it
/// was being made.
pub(crate) fn read_datagram(
    buf: &[u8],
    seq: u32,
    links: &mut Vec<Link>,
    addrs: &mut Vec<Addr>,
    interrupted: &mut bool,
) -> Result<Step, ReplyError> {
    let mut at = 0;
    while at < buf.len() {
        let rest = &buf[at..];
        let Some(head) = rest.get(..HEADER) else {
            return Err(BadReply::Truncated {
                what: "message header",
                at,
                need: HEADER,
                have: rest.len(),
            }
            .into());
        };
        let len = u32_at(head, 0) as usize;
        if len < HEADER || len > rest.len() {
            return Err(BadReply::BadLength {
                at,
                len,
                have: rest.len(),
            }
            .into());
        }
        let kind = u16_at(head, 4);
        let flags = u16_at(head, 6);
        let payload = &rest[HEADER..len];
        let start = at;
        at += align(len).min(rest.len());
        if u32_at(head, 8) != seq {
            continue;
        }
        *interrupted |= flags & NLM_F_DUMP_INTR != 0;
        match kind {
            NLMSG_OVERRUN => return Err(BadReply::Overrun.into()),
            NLMSG_DONE | NLMSG_ERROR => {
                // Both carry an int: 0, or a negative errno (a dump that
                // failed part way ends in a DONE holding its error).
                let code = payload.get(..4).map_or(0, |b| i32_at(b, 0));
                if code < 0 {
                    return Err(ReplyError::Errno(-code));
                }
                if kind == NLMSG_DONE {
                    return Ok(Step::Done);
                }
            }
            RTM_NEWLINK => links.push(link(payload, start)?),
            RTM_NEWADDR => addrs.extend(addr(payload, start)?),
            // NLMSG_NOOP, and kinds a dump does not answer with.
            _ => {}
        }
    }
    Ok(Step::More)
}

fn link(payload: &[u8], at: usize) -> Result<Link, BadReply> {
    let fixed = fixed(payload, IFINFOMSG, "ifinfomsg", at)?;
    let index = u32_at(fixed, 4);
    if index == 0 {
        return Err(BadReply::ZeroIndex { what: "link" });
    }
    let flags = u32_at(fixed, 8);
    let mut name = None;
    for attr in attrs(&payload[IFINFOMSG..], index) {
        let (kind, data) = attr?;
        if kind == IFLA_IFNAME {
            let bytes = data.split(|&b| b == 0).next().unwrap_or_default();
            name = Some(String::from_utf8_lossy(bytes).into_owned());
        }
    }
    let name = name.ok_or(BadReply::NoName { index })?;
    Ok(Link { index, name, flags })
}

/// An address, or `None` for a family capture does not list.
fn addr(payload: &[u8], at: usize) -> Result<Option<Addr>, BadReply> {
    let fixed = fixed(payload, IFADDRMSG, "ifaddrmsg", at)?;
    let (family, prefix, short_flags) = (fixed[0], fixed[1], fixed[2]);
    let index = u32_at(fixed, 4);
    let want = match family {
        AF_INET => 4,
        AF_INET6 => 16,
        _ => return Ok(None),
    };
    if index == 0 {
        return Err(BadReply::ZeroIndex { what: "address" });
    }
    if usize::from(prefix) > want * 8 {
        return Err(BadReply::BadPrefix { index, prefix });
    }
    let (mut local, mut address, mut long_flags) = (None, None, None);
    for attr in attrs(&payload[IFADDRMSG..], index) {
        let (kind, data) = attr?;
        match kind {
            IFA_LOCAL => local = Some(data),
            IFA_ADDRESS => address = Some(data),
            IFA_FLAGS if data.len() >= 4 => long_flags = Some(u32_at(data, 0)),
            IFA_FLAGS => return Err(BadReply::BadAttribute { kind, index }),
            _ => {}
        }
    }
    // On a point-to-point link IFA_ADDRESS is the peer and IFA_LOCAL this
    // end; otherwise both are this end, or IFA_LOCAL is absent (IPv6).
    let Some(bytes) = local.or(address) else {
        return Ok(None);
    };
    let ip = match (family, bytes.len()) {
        (AF_INET, 4) => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
        (AF_INET6, 16) => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(bytes);
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        (_, len) => return Err(BadReply::BadAddress { index, len, want }),
    };
    Ok(Some(Addr {
        index,
        ip,
        prefix,
        flags: long_flags.unwrap_or(u32::from(short_flags)),
    }))
}

fn fixed<'a>(
    payload: &'a [u8],
    need: usize,
    what: &'static str,
    at: usize,
) -> Result<&'a [u8], BadReply> {
    payload.get(..need).ok_or(BadReply::Truncated {
        what,
        at: at + HEADER,
        need,
        have: payload.len(),
    })
}

/// The `rtattr`s of a message: type and data, each length checked.
pub(crate) fn attrs(
    mut rest: &[u8],
    index: u32,
) -> impl Iterator<Item = Result<(u16, &[u8]), BadReply>> {
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(head) = rest.get(..4) else {
            rest = &[];
            return Some(Err(BadReply::BadAttribute { kind: 0, index }));
        };
        let len = usize::from(u16_at(head, 0));
        let kind = u16_at(head, 2);
        if len < 4 || len > rest.len() {
            rest = &[];
            return Some(Err(BadReply::BadAttribute { kind, index }));
        }
        let data = &rest[4..len];
        rest = &rest[align(len).min(rest.len())..];
        Some(Ok((kind, data)))
    })
}

fn align(len: usize) -> usize {
    len.saturating_add(3) & !3
}

// Callers slice first, so each of these reads inside bounds; a short slice
// reads as zeroes rather than panicking.
pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    let mut raw = [0u8; 2];
    if let Some(s) = b.get(at..at + 2) {
        raw.copy_from_slice(s);
    }
    u16::from_ne_bytes(raw)
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut raw = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        raw.copy_from_slice(s);
    }
    u32::from_ne_bytes(raw)
}

pub(crate) fn i32_at(b: &[u8], at: usize) -> i32 {
    u32_at(b, at) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    const NLMSG_NOOP: u16 = 1;

    /// A netlink message as the kernel would send it.
    fn message(kind: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
        let len = HEADER + body.len();
        let mut m = Vec::new();
        m.extend_from_slice(&(len as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&4242u32.to_ne_bytes());
        m.extend_from_slice(body);
        m.resize(align(m.len()), 0);
        m
    }

    fn attr(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(data);
        a.resize(align(a.len()), 0);
        a
    }

    fn link_body(index: u32, flags: u32, name: &str) -> Vec<u8> {
        let mut b = vec![0u8; IFINFOMSG];
        b[4..8].copy_from_slice(&index.to_ne_bytes());
        b[8..12].copy_from_slice(&flags.to_ne_bytes());
        let mut n = name.as_bytes().to_vec();
        n.push(0);
        b.extend(attr(IFLA_IFNAME, &n));
        b
    }

    fn addr_body(family: u8, prefix: u8, flags: u8, index: u32, attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut b = vec![family, prefix, flags, 0];
        b.extend_from_slice(&index.to_ne_bytes());
        for a in attrs {
            b.extend_from_slice(a);
        }
        b
    }

    fn read(buf: &[u8], seq: u32) -> Result<(Step, Vec<Link>, Vec<Addr>, bool), ReplyError> {
        let (mut links, mut addrs, mut intr) = (Vec::new(), Vec::new(), false);
        let step = read_datagram(buf, seq, &mut links, &mut addrs, &mut intr)?;
        Ok((step, links, addrs, intr))
    }

    fn done(seq: u32) -> Vec<u8> {
        message(NLMSG_DONE, 2, seq, &0i32.to_ne_bytes())
    }

    #[test]
    fn requests_are_a_header_a_zero_body_and_for_links_the_stats_filter() {
        let r = dump_request(RTM_GETLINK, 7);
        assert_eq!(r.len(), 40);
        assert_eq!(u32_at(&r, 0), 40);
        assert_eq!(u16_at(&r, 4), RTM_GETLINK);
        assert_eq!(u16_at(&r, 6), 0x301);
        assert_eq!(u32_at(&r, 8), 7);
        assert!(r[12..32].iter().all(|&b| b == 0));
        // One attribute: IFLA_EXT_MASK, skip the counters.
        let attrs: Vec<_> = attrs(&r[32..], 0).collect();
        assert_eq!(attrs, [Ok((IFLA_EXT_MASK, &8u32.to_ne_bytes()[..]))]);
        assert_eq!(dump_request(RTM_GETADDR, 8).len(), 24);
    }

    #[test]
    fn links_and_done_in_one_datagram() {
        let mut buf = message(RTM_NEWLINK, 2, 1, &link_body(1, 0x10049, "lo"));
        buf.extend(message(RTM_NEWLINK, 2, 1, &link_body(3, 0x1003, "veth0")));
        buf.extend(done(1));
        let (step, links, addrs, intr) = read(&buf, 1).unwrap();
        assert_eq!(step, Step::Done);
        assert!(addrs.is_empty() && !intr);
        assert_eq!(
            links,
            [
                Link {
                    index: 1,
                    name: "lo".into(),
                    flags: 0x10049
                },
                Link {
                    index: 3,
                    name: "veth0".into(),
                    flags: 0x1003
                }
            ]
        );
    }

    #[test]
    fn a_multipart_reply_without_done_asks_for_more() {
        let buf = message(RTM_NEWLINK, 2, 1, &link_body(2, 1, "eth0"));
        assert_eq!(read(&buf, 1).unwrap().0, Step::More);
    }

    #[test]
    fn ipv4_takes_the_local_end_and_ipv6_its_long_flags() {
        // A point-to-point IPv4 address: IFA_ADDRESS is the peer.
        let v4 = addr_body(
            AF_INET,
            32,
            0x80,
            5,
            &[
                attr(IFA_ADDRESS, &[203, 0, 113, 2]),
                attr(IFA_LOCAL, &[203, 0, 113, 1]),
            ],
        );
        let v6ip: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let v6 = addr_body(
            AF_INET6,
            64,
            // The short field says optimistic; IFA_FLAGS, which wins, says
            // tentative and deprecated.
            IFA_F_OPTIMISTIC as u8,
            5,
            &[
                attr(IFA_ADDRESS, &v6ip.octets()),
                attr(
                    IFA_FLAGS,
                    &(IFA_F_TENTATIVE | IFA_F_DEPRECATED | 0x100).to_ne_bytes(),
                ),
            ],
        );
        let v6short = addr_body(
            AF_INET6,
            64,
            IFA_F_DADFAILED as u8,
            5,
            &[attr(IFA_ADDRESS, &v6ip.octets())],
        );
        let mut buf = message(RTM_NEWADDR, 2, 2, &v4);
        buf.extend(message(RTM_NEWADDR, 2, 2, &v6));
        buf.extend(message(RTM_NEWADDR, 2, 2, &v6short));
        buf.extend(done(2));
        let (step, _, addrs, _) = read(&buf, 2).unwrap();
        assert_eq!(step, Step::Done);
        assert_eq!(addrs[0].ip, IpAddr::from([203, 0, 113, 1]));
        assert_eq!((addrs[0].prefix, addrs[0].flags), (32, 0x80));
        assert_eq!(addrs[1].ip, IpAddr::V6(v6ip));
        assert_eq!(addrs[1].flags, IFA_F_TENTATIVE | IFA_F_DEPRECATED | 0x100);
        assert_eq!(addrs[2].flags, IFA_F_DADFAILED);
    }

    #[test]
    fn other_families_and_other_sequences_are_skipped() {
        let mut buf = message(RTM_NEWADDR, 2, 2, &addr_body(17, 0, 0, 2, &[]));
        // A stale message of an earlier request, even a broken one.
        buf.extend(message(RTM_NEWLINK, 2, 1, &[1, 2, 3]));
        buf.extend(message(NLMSG_NOOP, 0, 2, &[]));
        buf.extend(done(2));
        let (step, links, addrs, _) = read(&buf, 2).unwrap();
        assert_eq!(step, Step::Done);
        assert!(links.is_empty() && addrs.is_empty());
    }

    #[test]
    fn errors_and_failed_dumps_carry_the_errno() {
        let err = message(NLMSG_ERROR, 0, 3, &(-13i32).to_ne_bytes());
        assert_eq!(read(&err, 3), Err(ReplyError::Errno(13)));
        let failed = message(NLMSG_DONE, 2, 3, &(-4i32).to_ne_bytes());
        assert_eq!(read(&failed, 3), Err(ReplyError::Errno(4)));
        // An acknowledgement (error 0) is not a failure.
        let ack = message(NLMSG_ERROR, 0, 3, &0i32.to_ne_bytes());
        assert_eq!(read(&ack, 3).unwrap().0, Step::More);
        let over = message(NLMSG_OVERRUN, 0, 3, &[]);
        assert_eq!(read(&over, 3), Err(BadReply::Overrun.into()));
    }

    #[test]
    fn an_interrupted_dump_is_flagged() {
        let mut buf = message(RTM_NEWLINK, 2 | NLM_F_DUMP_INTR, 1, &link_body(2, 1, "e"));
        buf.extend(done(1));
        assert!(read(&buf, 1).unwrap().3);
    }

    #[test]
    fn malformed_replies_are_named_not_panicked_on() {
        let good = message(RTM_NEWLINK, 2, 1, &link_body(2, 1, "eth0"));
        // Every truncation of a good message is an error or a clean end.
        for cut in 1..good.len() {
            let r = read(&good[..cut], 1);
            assert!(r.is_err(), "cut at {cut}: {r:?}");
        }
        let mut long = good.clone();
        long[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(matches!(
            read(&long, 1),
            Err(ReplyError::Bad(BadReply::BadLength { len: 1000, .. }))
        ));
        let mut short = good.clone();
        short[0..4].copy_from_slice(&3u32.to_ne_bytes());
        assert!(matches!(
            read(&short, 1),
            Err(ReplyError::Bad(BadReply::BadLength { len: 3, .. }))
        ));
        let nameless = message(RTM_NEWLINK, 2, 1, &link_body(2, 1, "")[..IFINFOMSG]);
        assert_eq!(
            read(&nameless, 1),
            Err(BadReply::NoName { index: 2 }.into())
        );
        let zero = message(RTM_NEWLINK, 2, 1, &link_body(0, 1, "x"));
        assert_eq!(
            read(&zero, 1),
            Err(BadReply::ZeroIndex { what: "link" }.into())
        );
        let mut bad_attr = link_body(2, 1, "x");
        bad_attr[IFINFOMSG..IFINFOMSG + 2].copy_from_slice(&200u16.to_ne_bytes());
        assert_eq!(
            read(&message(RTM_NEWLINK, 2, 1, &bad_attr), 1),
            Err(BadReply::BadAttribute {
                kind: IFLA_IFNAME,
                index: 2
            }
            .into())
        );
        let wide = addr_body(AF_INET, 33, 0, 2, &[attr(IFA_LOCAL, &[1, 2, 3, 4])]);
        assert_eq!(
            read(&message(RTM_NEWADDR, 2, 1, &wide), 1),
            Err(BadReply::BadPrefix {
                index: 2,
                prefix: 33
            }
            .into())
        );
        // IFA_FLAGS is a u32: a shorter one is refused, not read as 0.
        let short_flags = addr_body(AF_INET6, 64, 0, 2, &[attr(IFA_FLAGS, &[1, 2])]);
        assert_eq!(
            read(&message(RTM_NEWADDR, 2, 1, &short_flags), 1),
            Err(BadReply::BadAttribute {
                kind: IFA_FLAGS,
                index: 2
            }
            .into())
        );
        // A fixed part cut short is named at its offset in the datagram.
        let mut second = message(RTM_NEWLINK, 2, 1, &link_body(2, 1, "x"));
        let first_len = second.len();
        second.extend(message(RTM_NEWADDR, 2, 1, &[4, 24, 0, 0]));
        assert_eq!(
            read(&second, 1),
            Err(BadReply::Truncated {
                what: "ifaddrmsg",
                at: first_len + HEADER,
                need: IFADDRMSG,
                have: 4
            }
            .into())
        );
        let odd = addr_body(AF_INET6, 64, 0, 2, &[attr(IFA_ADDRESS, &[1, 2, 3, 4])]);
        assert_eq!(
            read(&message(RTM_NEWADDR, 2, 1, &odd), 1),
            Err(BadReply::BadAddress {
                index: 2,
                len: 4,
                want: 16
            }
            .into())
        );
    }

    #[test]
    fn garbage_never_panics() {
        // A cheap deterministic generator: every byte pattern class the
        // length fields can take, at every length up to a few messages.
        let mut state = 0x2545_f491_u32;
        for len in 0..300 {
            for _ in 0..40 {
                let buf: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 17;
                        state ^= state << 5;
                        (state >> 24) as u8
                    })
                    .collect();
                let _ = read(&buf, 0);
                let _ = read(&buf, u32_at(&buf, 8));
            }
        }
    }
}

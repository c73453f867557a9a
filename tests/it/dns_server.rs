//! A tiny authoritative DNS responder on 127.0.0.1, for capture tests.
//!
//! It answers A and AAAA from a fixed table over UDP and TCP on one port,
//! NXDOMAIN for names it does not know, and can be told to fail or stay
//! silent per name, so resolver behaviour is tested against real packets
//! rather than a mock of the resolver. Messages are built and parsed with
//! hickory-proto, the same wire code the resolver uses, so a bug in here is
//! not a second, hand-rolled DNS implementation.

#![allow(dead_code)] // a toolbox: not every test uses every reply

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use hickory_proto::op::{Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{RData, Record, RecordType};

/// What the server says about one name.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// These addresses: A queries get the IPv4 ones, AAAA the IPv6 ones, in
    /// the given order (duplicates included, to test deduplication).
    Addrs(Vec<IpAddr>),
    /// SERVFAIL.
    ServFail,
    /// No answer at all.
    Silent,
    /// Over UDP an empty truncated reply, so the resolver must retry over
    /// TCP, where it gets these addresses.
    TcpOnly(Vec<IpAddr>),
}

/// A running server; stops when dropped.
pub(crate) struct DnsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    queries: Arc<AtomicUsize>,
    threads: Vec<JoinHandle<()>>,
}

/// How long a server thread blocks before looking at the stop flag.
const POLL: Duration = Duration::from_millis(20);

impl DnsServer {
    /// Starts a server on 127.0.0.1 with this table (names without the final
    /// dot, matched case-insensitively).
    pub(crate) fn start<'a>(table: impl IntoIterator<Item = (&'a str, Reply)>) -> DnsServer {
        let (udp, tcp) = bind_pair();
        DnsServer::serve(udp, tcp, table)
    }

    /// Starts a server on 127.0.0.1:53, where the system resolver asks
    /// (`nameserver 127.0.0.1` in `resolv.conf` takes no port): only in a
    /// network namespace of the test's own.
    pub(crate) fn start_on_port_53<'a>(
        table: impl IntoIterator<Item = (&'a str, Reply)>,
    ) -> DnsServer {
        let at = SocketAddr::from((Ipv4Addr::LOCALHOST, 53));
        let udp = UdpSocket::bind(at).expect("bind udp 127.0.0.1:53");
        let tcp = TcpListener::bind(at).expect("bind tcp 127.0.0.1:53");
        DnsServer::serve(udp, tcp, table)
    }

    fn serve<'a>(
        udp: UdpSocket,
        tcp: TcpListener,
        table: impl IntoIterator<Item = (&'a str, Reply)>,
    ) -> DnsServer {
        let table: Arc<HashMap<String, Reply>> = Arc::new(
            table
                .into_iter()
                .map(|(name, reply)| (name.to_ascii_lowercase(), reply))
                .collect(),
        );
        let addr = udp.local_addr().expect("udp local addr");
        udp.set_read_timeout(Some(POLL)).expect("udp timeout");
        tcp.set_nonblocking(true).expect("tcp nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let queries = Arc::new(AtomicUsize::new(0));

        let udp_thread = {
            let (table, stop, queries) = (table.clone(), stop.clone(), queries.clone());
            std::thread::spawn(move || serve_udp(&udp, &table, &stop, &queries))
        };
        let tcp_thread = {
            let (table, stop, queries) = (table, stop.clone(), queries.clone());
            std::thread::spawn(move || serve_tcp(&tcp, &table, &stop, &queries))
        };
        DnsServer {
            addr,
            stop,
            queries,
            threads: vec![udp_thread, tcp_thread],
        }
    }

    /// Where the server listens, UDP and TCP alike.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many queries arrived so far, over either transport.
    pub(crate) fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            // A panic in a server thread already failed whatever test noticed
            // the missing answer; re-raising it from drop could abort.
            let _ = t.join();
        }
    }
}

/// UDP and TCP on the same free port: take a UDP port from the kernel, then
/// hope TCP's is free too, retrying with another port when it is not.
fn bind_pair() -> (UdpSocket, TcpListener) {
    let localhost = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    for _ in 0..50 {
        let udp = UdpSocket::bind(localhost).expect("bind udp 127.0.0.1:0");
        let port = udp.local_addr().expect("udp local addr").port();
        if let Ok(tcp) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
            return (udp, tcp);
        }
    }
    panic!("no port free for both UDP and TCP on 127.0.0.1");
}

fn serve_udp(
    sock: &UdpSocket,
    table: &HashMap<String, Reply>,
    stop: &AtomicBool,
    queries: &AtomicUsize,
) {
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        let (n, peer) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) => panic!("dns server udp recv: {e}"),
        };
        queries.fetch_add(1, Ordering::SeqCst);
        if let Some(reply) = answer(&buf[..n], table, false) {
            // The client may have given up already; that is its business.
            let _ = sock.send_to(&reply, peer);
        }
    }
}

fn serve_tcp(
    listener: &TcpListener,
    table: &HashMap<String, Reply>,
    stop: &AtomicBool,
    queries: &AtomicUsize,
) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((conn, _)) => serve_tcp_conn(conn, table, stop, queries),
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(e) => panic!("dns server tcp accept: {e}"),
        }
    }
}

/// Serves length-prefixed messages (RFC 1035 4.2.2) until the client closes.
fn serve_tcp_conn(
    mut conn: TcpStream,
    table: &HashMap<String, Reply>,
    stop: &AtomicBool,
    queries: &AtomicUsize,
) {
    // Accepted sockets inherit non-blocking mode on some systems.
    if conn.set_nonblocking(false).is_err() || conn.set_read_timeout(Some(POLL)).is_err() {
        return;
    }
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        match conn.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => return,
        }
        while pending.len() >= 2 {
            let len = usize::from(u16::from_be_bytes([pending[0], pending[1]]));
            if pending.len() < 2 + len {
                break;
            }
            let msg: Vec<u8> = pending.drain(..2 + len).skip(2).collect();
            queries.fetch_add(1, Ordering::SeqCst);
            if let Some(reply) = answer(&msg, table, true) {
                let len = u16::try_from(reply.len()).expect("reply fits a TCP frame");
                if conn.write_all(&len.to_be_bytes()).is_err() || conn.write_all(&reply).is_err() {
                    return;
                }
            }
        }
    }
}

/// The wire reply to one query, or `None` to stay silent.
fn answer(request: &[u8], table: &HashMap<String, Reply>, tcp: bool) -> Option<Vec<u8>> {
    let request = Message::from_vec(request).ok()?;
    let query: Query = request.queries.first()?.clone();
    let mut response = Message::response(request.metadata.id, OpCode::Query);
    response.metadata.authoritative = true;
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.add_query(query.clone());

    let name = query.name().to_ascii();
    let key = name.trim_end_matches('.').to_ascii_lowercase();
    let addrs = match table.get(&key) {
        None => {
            response.metadata.response_code = ResponseCode::NXDomain;
            None
        }
        Some(Reply::Silent) => return None,
        Some(Reply::ServFail) => {
            response.metadata.response_code = ResponseCode::ServFail;
            None
        }
        Some(Reply::TcpOnly(_)) if !tcp => {
            response.metadata.truncation = true;
            None
        }
        Some(Reply::Addrs(addrs) | Reply::TcpOnly(addrs)) => Some(addrs),
    };
    for ip in addrs.into_iter().flatten() {
        let rdata = match (ip, query.query_type()) {
            (IpAddr::V4(v4), RecordType::A) => RData::A(A(*v4)),
            (IpAddr::V6(v6), RecordType::AAAA) => RData::AAAA(AAAA(*v6)),
            _ => continue,
        };
        response.add_answer(Record::from_rdata(query.name().clone(), 60, rdata));
    }
    Some(response.to_vec().expect("encode DNS response"))
}

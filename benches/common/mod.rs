//! What the capture and bind benchmarks share: the floor `bind_all` is
//! measured against, and the spec of `n` endpoints it binds.

use std::hint::black_box;
use std::net::SocketAddr;

use listenspec::ListenSpec;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// One getifaddrs and freeifaddrs, nothing read: the floor of capture.
#[allow(unsafe_code)] // the bare libc call is what is measured
pub(crate) fn getifaddrs() {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `head` is live and writable for the call to fill.
    let rc = unsafe { libc::getifaddrs(&mut head) };
    assert_eq!(rc, 0, "getifaddrs: {}", std::io::Error::last_os_error());
    black_box(head);
    // SAFETY: `head` came from the successful call above, freed once.
    unsafe { libc::freeifaddrs(head) };
}

/// `n` TCP endpoints on 127.0.0.1: on ports `first..first + n`, or all on
/// port 0 when `first` is 0.
pub(crate) fn spec(n: usize, first: u16) -> ListenSpec {
    let mut text = String::from("local = 127.0.0.1\n");
    for (i, port) in ports(n, first).enumerate() {
        text.push_str(&format!("local.e{i} = tcp:{port}\n"));
    }
    text.parse().expect("the benchmark spec parses")
}

pub(crate) fn ports(n: usize, first: u16) -> impl Iterator<Item = u16> {
    (0..n).map(move |i| if first == 0 { 0 } else { first + i as u16 })
}

/// The floor of `bind_all`: the host read once, and the sockets a server
/// would open by hand (socket, SO_REUSEADDR, bind, listen), on the same
/// ports. On port 0 a server must then ask which port it got, to tell
/// anyone; `bind_all` does, and so does this.
pub(crate) fn floor(n: usize, first: u16) -> Vec<Socket> {
    getifaddrs();
    ports(n, first)
        .map(|port| {
            let addr = SockAddr::from(SocketAddr::from(([127, 0, 0, 1], port)));
            let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
            s.set_reuse_address(true).unwrap();
            s.bind(&addr).unwrap();
            s.listen(1024).unwrap();
            if port == 0 {
                black_box(s.local_addr().unwrap());
            }
            s
        })
        .collect()
}

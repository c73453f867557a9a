//! What the host's OS lacks, refused while planning, where the spec can
//! still be changed: never a build failure, and never an option skipped at
//! bind time.

use super::{Problem, ProblemKind};
use crate::host::Host;
use crate::spec::ListenSpec;

/// The endpoint options that are socket options only some systems have,
/// each with the systems (as `std::env::consts::OS` names them) that have
/// it. Anything not listed is refused: planning says so, where binding
/// would fail or, worse, quietly do without.
const OPTIONS: [(&str, &[&str]); 4] = [
    // SO_BINDTODEVICE. macOS's IP_BOUND_IF is not the same thing (it picks
    // the outgoing interface, not what is accepted), and FreeBSD has none.
    ("device", &["linux", "android"]),
    // IP_FREEBIND. FreeBSD's IP_BINDANY needs root and is meant for
    // transparent proxies, so it is not offered as the same option.
    ("freebind", &["linux", "android"]),
    // SO_REUSEPORT; Windows has no such option.
    (
        "reuseport",
        &[
            "linux",
            "android",
            "macos",
            "ios",
            "freebsd",
            "netbsd",
            "openbsd",
            "dragonfly",
        ],
    ),
    // IPV6_V6ONLY off: OpenBSD keeps every IPv6 socket to IPv6 alone and
    // refuses to clear the option, so `[::]` there takes IPv6 only.
    (
        "v6only=false",
        &[
            "linux",
            "android",
            "macos",
            "ios",
            "freebsd",
            "netbsd",
            "dragonfly",
            "windows",
        ],
    ),
];

/// One error per endpoint and option its host's OS does not have.
pub(super) fn check(spec: &ListenSpec, host: &Host, problems: &mut Vec<Problem>) {
    let os = host.os();
    for e in spec.endpoints() {
        let o = e.options();
        let asked = [
            o.device.is_some(),
            o.freebind,
            o.reuseport,
            o.v6only == Some(false),
        ];
        for (&(option, supported), asked) in OPTIONS.iter().zip(asked) {
            if asked && !supported.contains(&os) {
                let kind = ProblemKind::Unsupported {
                    option,
                    os: os.to_owned(),
                    supported,
                };
                problems.push(Problem::endpoint(e.network(), e.name(), kind));
            }
        }
    }
}

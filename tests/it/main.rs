//! The one integration-test binary; each module is one area of behaviour.

mod args;
mod bind;
mod capture;
mod class;
mod config;
mod display;
mod dns_server;
mod docs;
mod examples;
mod fleet;
// The upgrade example runs on Unix; the tests read /proc.
#[cfg(target_os = "linux")]
mod handoff;
mod host;
mod hostile;
mod layers;
mod logs;
mod netns;
mod plan;
mod props;
mod reach;
mod realnet;
mod serve;
mod spec;
mod system_dns;
#[cfg(unix)]
mod unix;
mod unix_plan;
#[cfg(unix)]
mod unix_race;
#[cfg(unix)]
mod unnamed;
mod wait;
mod watch;
mod windows;

/// An enum value's variant name, as the data files write it: `NoMatch` from
/// `NoMatch { .. }`, `BadPorts` from `BadPorts("x")`.
pub fn variant_name(value: &impl std::fmt::Debug) -> String {
    let debug = format!("{value:?}");
    debug
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The variant names of a spec error's problems, in order.
pub fn error_kinds(e: &listenspec::SpecError) -> Vec<String> {
    e.errors().iter().map(|l| variant_name(&l.kind)).collect()
}

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

/// Whether std binds `[::]` on both families on the system the tests run
/// on, so that a one-address `[::]:PORT` reads `v6only=false` here.
const STD_BINDS_DUAL: bool = cfg!(any(
    target_os = "linux",
    target_os = "android",
    target_vendor = "apple"
));

/// A made-up host of loopback alone, for plans whose addresses do not
/// matter (a Unix socket's, say).
pub fn loopback_host() -> listenspec::Host {
    listenspec::Host::builder()
        .interface("lo", 1, ["127.0.0.1/8"])
        .build()
        .unwrap()
}

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

/// The variant names of a plan error's errors, in order.
pub fn plan_kinds(e: &listenspec::PlanError) -> Vec<String> {
    e.errors().iter().map(|p| variant_name(p.kind())).collect()
}

/// Makes a named pipe at `path` (mkfifo(1)).
#[cfg(unix)]
pub fn mkfifo(path: &std::path::Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

/// A fresh directory under the system's temporary directory, removed with
/// all it holds when dropped, failed test or not.
#[derive(Debug)]
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// `ls-PID-N-NAME`, emptied if a run before left it.
    pub fn new(name: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ls-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// A path in the directory.
    pub fn join(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }

    /// What is in the directory, by name, sorted.
    #[cfg(unix)]
    pub fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl AsRef<std::path::Path> for TempDir {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

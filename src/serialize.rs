//! The JSON form of what the library reports (feature `serde`): plans,
//! problems, bind results, probe results and spec errors.
//!
//! One file holds the whole format, so a reader sees every field a script
//! may rely on in one place. Addresses, names, URLs and messages are written
//! as the strings their `Display` gives; every message comes with its fix
//! where the library has one, exactly as the text reports print them.
//!
//! ```
//! use listenspec::{Host, ListenSpec};
//!
//! let spec: ListenSpec = "ops = loopback expose=local\nops.metrics = http:9100".parse()?;
//! let host = Host::builder().interface("lo", 1, ["127.0.0.1/8"]).build()?;
//! let json = serde_json::to_value(spec.plan(&host)?)?;
//! let metrics = &json["endpoints"][0];
//! assert_eq!(metrics["bind"][0]["addr"], "127.0.0.1:9100");
//! assert_eq!(metrics["bind"][0]["why"]["kind"], "matched");
//! assert_eq!(metrics["advertise"], "http://127.0.0.1:9100/");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Display;
use std::path::Path;

use serde::ser::{Serialize, SerializeStruct, Serializer};

#[cfg(unix)]
use crate::bind::BoundUnix;
use crate::bind::{BindError, BindFailure, Bound, BoundEndpoint, BoundSocket};
use crate::plan::{
    Advertised, Bind, Chosen, Plan, PlanError, PlannedEndpoint, PlannedNetwork, Problem,
    ProblemKind, Severity, UnixBind, Why,
};
#[cfg(feature = "probe")]
use crate::probe::Reach;
use crate::spec::{Located, Name, SpecError};

/// A value written as its `Display` text.
struct Text<'a, T: ?Sized>(&'a T);

impl<T: Display + ?Sized> Serialize for Text<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

fn text<T: Display + ?Sized>(value: Option<&T>) -> Option<Text<'_, T>> {
    value.map(Text)
}

/// `{"networks": [...], "endpoints": [...], "warnings": [...]}`.
impl Serialize for Plan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Plan", 3)?;
        st.serialize_field("networks", self.networks())?;
        st.serialize_field("endpoints", self.endpoints())?;
        st.serialize_field("warnings", self.warnings())?;
        st.end()
    }
}

/// `{"name", "exposure", "addrs": [Chosen]}`.
impl Serialize for PlannedNetwork {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("PlannedNetwork", 3)?;
        st.serialize_field("name", self.name().as_str())?;
        st.serialize_field("exposure", &Text(&self.exposure()))?;
        st.serialize_field("addrs", self.addrs())?;
        st.end()
    }
}

/// `{"ip", "scope_id", "interface", "why"}`.
impl Serialize for Chosen {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Chosen", 4)?;
        st.serialize_field("ip", &self.ip())?;
        st.serialize_field("scope_id", &self.scope_id())?;
        st.serialize_field("interface", &self.interface())?;
        st.serialize_field("why", self.why())?;
        st.end()
    }
}

/// `{"kind": "wildcard", "selector", "message"}` or `{"kind": "matched",
/// "selector", "interface", "net", "message"}`; the message is the text
/// the doctor's table shows.
impl Serialize for Why {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Why::Wildcard { selector } => {
                let mut st = s.serialize_struct("Why", 3)?;
                st.serialize_field("kind", "wildcard")?;
                st.serialize_field("selector", &Text(selector))?;
                st.serialize_field("message", &Text(self))?;
                st.end()
            }
            Why::Matched {
                selector,
                interface,
                net,
            } => {
                let mut st = s.serialize_struct("Why", 5)?;
                st.serialize_field("kind", "matched")?;
                st.serialize_field("selector", &Text(selector))?;
                st.serialize_field("interface", &**interface)?;
                st.serialize_field("net", &Text(net))?;
                st.serialize_field("message", &Text(self))?;
                st.end()
            }
        }
    }
}

/// `{"addr", "interface", "device", "why"}`.
impl Serialize for Bind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Bind", 4)?;
        st.serialize_field("addr", &Text(&self.addr()))?;
        st.serialize_field("interface", &self.interface())?;
        st.serialize_field("device", &self.device())?;
        st.serialize_field("why", self.why())?;
        st.end()
    }
}

/// `{"network", "name", "protocol", "transport", "ports", "bind": [Bind],
/// "unix": UnixBind, "advertise"}`; `ports` is `"8080"`, `"0"` or
/// `"8000-8009"`, and `null` for a Unix socket; `unix` is `null` on IP.
impl Serialize for PlannedEndpoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("PlannedEndpoint", 8)?;
        st.serialize_field("network", self.network().as_str())?;
        st.serialize_field("name", self.name().as_str())?;
        st.serialize_field("protocol", &Text(&self.protocol()))?;
        st.serialize_field("transport", &Text(&self.transport()))?;
        st.serialize_field("ports", &self.ports().as_ref().map(Text))?;
        st.serialize_field("bind", self.binds())?;
        st.serialize_field("unix", &self.unix())?;
        st.serialize_field("advertise", &self.advertised())?;
        st.end()
    }
}

/// `{"path", "owner", "group", "relative_to"}`: the path bound (absolute,
/// or `@name`), the uid and gid the file is given (`null` when not set),
/// and the working directory a relative path was resolved against (`null`
/// when written absolute).
impl Serialize for UnixBind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("UnixBind", 4)?;
        st.serialize_field("path", &Text(self.path()))?;
        st.serialize_field("owner", &self.owner())?;
        st.serialize_field("group", &self.group())?;
        st.serialize_field(
            "relative_to",
            &self.relative_to().map(Path::to_string_lossy),
        )?;
        st.end()
    }
}

/// The URL as a string, with `<port>` for a port known only once bound
/// (as `Display` writes it): the bound endpoint has the real one.
impl Serialize for Advertised {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `"error"` or `"warning"`.
impl Serialize for Severity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// `{"severity", "message", "fix"}`.
impl Serialize for ProblemKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ProblemKind", 3)?;
        st.serialize_field("severity", &self.severity())?;
        st.serialize_field("message", &Text(self))?;
        st.serialize_field("fix", &self.fix())?;
        st.end()
    }
}

/// `{"network", "endpoint", "written", "severity", "message", "fix"}`;
/// `endpoint` is `null` for a finding about a whole network, `written`
/// (where its statement was written, `--listen #1 line 1`) for a spec not
/// built of named layers. The severity is the finding's own: in strict
/// mode a warning is among the errors yet still says `"warning"`.
impl Serialize for Problem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Problem", 6)?;
        st.serialize_field("network", &self.network_name().map(|n| n.as_str()))?;
        st.serialize_field("endpoint", &self.endpoint_name().map(|n| n.as_str()))?;
        st.serialize_field("written", &self.written())?;
        st.serialize_field("severity", &self.kind().severity())?;
        st.serialize_field("message", &Text(self.kind()))?;
        st.serialize_field("fix", &self.fix())?;
        st.end()
    }
}

/// `{"errors": [Problem], "warnings": [Problem], "host"}`; `host` is the
/// listing of the host's interfaces when an error refers to it, else `null`.
impl Serialize for PlanError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("PlanError", 3)?;
        st.serialize_field("errors", self.errors())?;
        st.serialize_field("warnings", self.warnings())?;
        st.serialize_field("host", &self.host_listing())?;
        st.end()
    }
}

/// `{"endpoints": [BoundEndpoint]}`.
impl Serialize for Bound {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Bound", 1)?;
        st.serialize_field("endpoints", self.endpoints())?;
        st.end()
    }
}

/// `{"network", "name", "protocol", "sockets": [BoundSocket], "unix",
/// "advertise"}`, with the advertised URL complete: its port is the one
/// bound. `sockets` are the IP sockets; `unix` is the Unix socket, as
/// `{"path", "inherited"}`, or `null`.
impl Serialize for BoundEndpoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("BoundEndpoint", 6)?;
        st.serialize_field("network", self.network().as_str())?;
        st.serialize_field("name", self.name().as_str())?;
        st.serialize_field("protocol", &Text(&self.protocol()))?;
        st.serialize_field("sockets", self.sockets())?;
        #[cfg(unix)]
        st.serialize_field("unix", &self.unix())?;
        #[cfg(not(unix))]
        st.serialize_field("unix", &None::<()>)?;
        st.serialize_field(
            "advertise",
            &self.advertised().map(crate::spec::Url::as_str),
        )?;
        st.end()
    }
}

/// `{"addr", "inherited"}`: the real local address, and the
/// `LISTEN_FDNAMES` name when the service manager passed the socket in.
impl Serialize for BoundSocket {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("BoundSocket", 2)?;
        st.serialize_field("addr", &Text(&self.local_addr()))?;
        st.serialize_field("inherited", &self.inherited())?;
        st.end()
    }
}

/// `{"path", "inherited"}`: the path or `@name`, and the
/// `LISTEN_FDNAMES` name when the service manager passed the socket in.
#[cfg(unix)]
impl Serialize for BoundUnix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("BoundUnix", 2)?;
        st.serialize_field("path", &Text(self.path()))?;
        st.serialize_field("inherited", &self.inherited())?;
        st.end()
    }
}

/// `{"errors": [BindFailure]}`.
impl Serialize for BindError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("BindError", 1)?;
        st.serialize_field("errors", self.failures())?;
        st.end()
    }
}

/// `{"network", "endpoint", "transport", "address", "message", "fix"}`;
/// `address` is the IP socket address or the Unix socket's path; the
/// first four are `null` for a failure of no planned socket (an inherited
/// one that matches no endpoint, say).
impl Serialize for BindFailure {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let name = self.endpoint();
        let mut st = s.serialize_struct("BindFailure", 6)?;
        st.serialize_field("network", &name.map(|q| q.network().as_str()))?;
        st.serialize_field("endpoint", &name.map(|q| q.endpoint().as_str()))?;
        st.serialize_field("transport", &text(self.transport().as_ref()))?;
        st.serialize_field("address", &text(self.target()))?;
        st.serialize_field("message", &Text(self.cause()))?;
        st.serialize_field("fix", &self.hint())?;
        st.end()
    }
}

/// `{"endpoint", "url", "target", "reached", "message"}`: `endpoint` is
/// `network.name`, `target` the address the URL resolved to and was
/// probed, or the Unix socket's path.
#[cfg(feature = "probe")]
impl Serialize for Reach {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Reach", 5)?;
        st.serialize_field("endpoint", &Text(self.endpoint()))?;
        st.serialize_field("url", &self.url().map(crate::spec::Url::as_str))?;
        match self.unix_target() {
            Some(path) => st.serialize_field("target", &Text(path))?,
            None => st.serialize_field("target", &text(self.target().as_ref()))?,
        }
        st.serialize_field("reached", &self.reached())?;
        st.serialize_field("message", &Text(self))?;
        st.end()
    }
}

/// `{"errors": [Located], "networks": [name] or null, "did_you_mean":
/// [[written, meant]]}`: `networks` is every network the spec defines, in
/// the order written, when an endpoint names one that is not defined, and
/// `null` otherwise; `did_you_mean` the text's guesses for names that are
/// not defined (`[["opps.a", "ops.a"]]`), often none.
///
/// The field is always there, so a script reads one shape. `null` is not
/// `[]`: `[]` says the spec defines no network, `null` that no error needed
/// the list, which is then not always known (a `--listen` line is checked
/// alone before the layers are put together). Unlike the text, which shows
/// the first 32 names to a reader, the list is whole, so a script can tell
/// whether a name is defined; it is written once, whatever the number of
/// errors.
impl Serialize for SpecError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("SpecError", 3)?;
        st.serialize_field("errors", self.errors())?;
        let networks = self
            .defined_networks()
            .map(|names| names.iter().map(Name::as_str).collect::<Vec<_>>());
        st.serialize_field("networks", &networks)?;
        let meant: Vec<[&str; 2]> = self
            .meant()
            .iter()
            .map(|(written, meant)| [written.as_str(), meant.as_str()])
            .collect();
        st.serialize_field("did_you_mean", &meant)?;
        st.end()
    }
}

/// `{"layer", "line", "statement", "message"}`, each place `null` when
/// the spec did not come from one.
impl Serialize for Located {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Located", 4)?;
        st.serialize_field("layer", &self.layer)?;
        st.serialize_field("line", &self.line)?;
        st.serialize_field(
            "statement",
            &self.statement.as_deref().map(crate::spec::hide_userinfo),
        )?;
        st.serialize_field(
            "message",
            &crate::spec::hide_userinfo(&self.kind.to_string()),
        )?;
        st.end()
    }
}

/// `{"hosts", "clean", "with_warnings", "failed", "unreadable", "causes":
/// [Cause], "results": [{"file", "outcome", "error"}]}`: the counts, the
/// causes as `listenspec fleet` prints them, and each host's outcome
/// (`clean`, `warnings`, `failed` or `unreadable`; `error` only for the
/// last).
#[cfg(feature = "fleet")]
impl Serialize for crate::fleet::Fleet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let counts = self.counts();
        let mut st = s.serialize_struct("Fleet", 7)?;
        st.serialize_field("hosts", &self.hosts().len())?;
        st.serialize_field("clean", &counts.clean)?;
        st.serialize_field("with_warnings", &counts.warned)?;
        st.serialize_field("failed", &counts.failed)?;
        st.serialize_field("unreadable", &counts.unreadable)?;
        st.serialize_field("causes", &self.causes())?;
        st.serialize_field("results", self.hosts())?;
        st.end()
    }
}

/// A [`Problem`]'s fields, from the first host it was found on, and
/// `"hosts"`: every host's file.
#[cfg(feature = "fleet")]
impl Serialize for crate::fleet::Cause<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.example();
        let mut st = s.serialize_struct("Cause", 6)?;
        st.serialize_field("network", &p.network_name().map(|n| n.as_str()))?;
        st.serialize_field("endpoint", &p.endpoint_name().map(|n| n.as_str()))?;
        st.serialize_field("severity", &self.severity())?;
        st.serialize_field("message", &Text(p.kind()))?;
        st.serialize_field("fix", &p.fix())?;
        let hosts: Vec<_> = self.hosts().iter().map(|h| file_name(h)).collect();
        st.serialize_field("hosts", &hosts)?;
        st.end()
    }
}

/// A snapshot's file name in the JSON: exact when it is UTF-8, which a
/// JSON string can hold; otherwise as the text report writes it, quoted
/// with each byte that is not UTF-8 as `\xNN`, so that two such names
/// stay two (a lossy conversion wrote both as `\u{FFFD}`).
#[cfg(feature = "fleet")]
fn file_name(path: &std::path::Path) -> String {
    match path.to_str() {
        Some(name) => name.to_owned(),
        None => format!("{:?}", path.as_os_str()),
    }
}

#[cfg(feature = "fleet")]
impl Serialize for crate::fleet::HostOutcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use crate::fleet::Outcome;
        let (outcome, error) = match self.outcome() {
            Outcome::Planned { warnings } if warnings.is_empty() => ("clean", None),
            Outcome::Planned { .. } => ("warnings", None),
            Outcome::Failed(_) => ("failed", None),
            Outcome::Unreadable(error) => ("unreadable", Some(error.to_string())),
        };
        let mut st = s.serialize_struct("HostOutcome", 3)?;
        st.serialize_field("file", &file_name(self.file()))?;
        st.serialize_field("outcome", outcome)?;
        st.serialize_field("error", &error)?;
        st.end()
    }
}

//! A plan, or what was bound from it, as a table a person reads: one row
//! per socket under ENDPOINT, PROTO, BIND (or BOUND), ADVERTISE and WHY,
//! then the warnings. It is `Display` for [`Plan`] and [`Bound`](crate::Bound),
//! so a server logs its plan with one `println!` or `info!`.

use std::fmt;

use crate::plan::{Bind, Plan, PlannedEndpoint, Problem, UnixBind};
use crate::spec::{Account, Ports, Protocol, QualifiedName};

/// Rows of five cells, the header first; columns are as wide as their
/// widest cell.
pub(crate) struct Table {
    rows: Vec<[String; 5]>,
}

impl Table {
    /// A table whose address column is headed `addresses`.
    pub(crate) fn new(addresses: &str) -> Table {
        Table {
            rows: vec![["ENDPOINT", "PROTO", addresses, "ADVERTISE", "WHY"].map(str::to_owned)],
        }
    }

    /// One endpoint: a row per socket as (address, why), the name,
    /// protocol and advertised URL on the first only. An endpoint without
    /// sockets still gets its row, so no endpoint goes unseen.
    pub(crate) fn endpoint<A: fmt::Display>(
        &mut self,
        name: QualifiedName,
        protocol: Protocol,
        advertised: Option<A>,
        mut sockets: impl Iterator<Item = (String, String)>,
    ) {
        let mut first = [
            name.to_string(),
            protocol.to_string(),
            "-".to_owned(),
            advertised.map_or("-".to_owned(), |a| a.to_string()),
            String::new(),
        ];
        if let Some((addr, why)) = sockets.next() {
            first[2] = addr;
            first[4] = why;
        }
        self.rows.push(first);
        for (addr, why) in sockets {
            self.rows
                .push([String::new(), String::new(), addr, String::new(), why]);
        }
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths: Vec<usize> = (0..5)
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for (n, row) in self.rows.iter().enumerate() {
            if n > 0 {
                f.write_str("\n")?;
            }
            let mut line = String::new();
            for (c, (cell, &width)) in row.iter().zip(&widths).enumerate() {
                if c > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                // By hand, not `{cell:width$}`: format widths stop at
                // 65,535 and panic past it, and a name may be longer.
                line.extend(std::iter::repeat_n(
                    ' ',
                    width.saturating_sub(cell.chars().count()),
                ));
            }
            f.write_str(line.trim_end())?;
        }
        Ok(())
    }
}

/// Why a planned socket has its address, with the device it is pinned to.
pub(crate) fn why(bind: &Bind) -> String {
    let mut why = bind.why().to_string();
    if bind.is_dual_stack() {
        why.push_str(", dual-stack (IPv4 too)");
    }
    if let Some(d) = bind.device() {
        why.push_str(&format!(", device {d}"));
    }
    why
}

/// What a Unix socket is, as the WHY column says it: the kind, where a
/// relative path was resolved from, and the file's mode and owners:
/// `unix socket, relative to /srv/app, mode 660, owner www-data (33)`.
pub(crate) fn unix_why(ep: &PlannedEndpoint, u: &UnixBind) -> String {
    let mut out = if u.path().is_abstract() {
        "abstract unix socket".to_owned()
    } else {
        "unix socket".to_owned()
    };
    if let Some(cwd) = u.relative_to() {
        out.push_str(&format!(", relative to {}", cwd.display()));
    }
    let o = ep.options();
    if let Some(mode) = o.mode {
        out.push_str(&format!(", mode {mode:03o}"));
    }
    for (what, account, id) in [
        ("owner", &o.owner, u.owner()),
        ("group", &o.group, u.group()),
    ] {
        match (account, id) {
            (Some(Account::Name(name)), Some(id)) => {
                out.push_str(&format!(", {what} {name} ({id})"))
            }
            (Some(a), _) => out.push_str(&format!(", {what} {a}")),
            (None, _) => {}
        }
    }
    out
}

/// After a blank line, each warning as `warning: ...` with its fix: the
/// first [`LISTED_ITEMS`](crate::LISTED_ITEMS), then how many more, as an
/// error's list is cut (a snapshot of 100,000 tentative addresses is as
/// many warnings; `Plan::warnings` has them all).
pub(crate) fn write_warnings(f: &mut fmt::Formatter<'_>, warnings: &[Problem]) -> fmt::Result {
    if !warnings.is_empty() {
        f.write_str("\n")?;
    }
    crate::write_items(f, "warning", "warning: ", warnings)
}

/// A planned address with the last port of its range, as binding will try
/// it: `10.0.0.1:9000-9010`.
fn bind_text(bind: &Bind, ports: Ports) -> String {
    if ports.first() == ports.last() {
        bind.addr().to_string()
    } else {
        format!("{}-{}", bind.addr(), ports.last())
    }
}

impl fmt::Display for Plan {
    /// The doctor's table (endpoint, protocol, bind address, advertised
    /// URL, why), then the warnings. Port 0 shows as `:0` and in the URL as
    /// `<port>`; [`Bound`](crate::Bound)'s table has the real ones.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut t = Table::new("BIND");
        for ep in self.endpoints() {
            let sockets: Vec<(String, String)> = match (ep.unix(), ep.ports()) {
                (Some(u), _) => vec![(u.path().to_string(), unix_why(ep, u))],
                (None, Some(ports)) => ep
                    .binds()
                    .iter()
                    .map(|b| (bind_text(b, ports), why(b)))
                    .collect(),
                (None, None) => Vec::new(),
            };
            t.endpoint(
                ep.qualified(),
                ep.protocol(),
                ep.advertised(),
                sockets.into_iter(),
            );
        }
        write!(f, "{t}")?;
        write_warnings(f, self.warnings())
    }
}

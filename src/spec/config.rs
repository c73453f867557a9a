//! A [`ListenSpec`] or [`SpecText`] inside a user's own config file
//! (feature `serde`): the forms are documented on `ListenSpec`'s
//! `Deserialize` impl, where docs.rs shows them.

use std::fmt::{self, Write as _};

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::spec::error::Escaped;
use crate::spec::{ListenSpec, UnixPath};

impl Serialize for ListenSpec {
    /// As its canonical text, one statement a line.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A spec as a config file wrote it, in one of the three forms.
enum Written {
    /// One string of spec lines.
    Text(String),
    /// A list of lines, joined: line N is entry N.
    List(String),
    /// A table of networks, as lines that know their keys.
    Table(Lines),
}

struct WrittenVisitor;

impl<'de> Visitor<'de> for WrittenVisitor {
    type Value = Written;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a listen spec: a string of spec lines, a list of lines, or a table of networks",
        )
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Written, E> {
        Ok(Written::Text(text.to_owned()))
    }

    // A number, as a `port = 8080` field held one, is read as its text, so
    // the error says which forms of it a spec takes.
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Written, E> {
        Ok(Written::Text(n.to_string()))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Written, E> {
        // A negative number would read as `-NAME`, a removal.
        if n < 0 {
            return Err(de::Error::invalid_value(de::Unexpected::Signed(n), &self));
        }
        Ok(Written::Text(n.to_string()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Written, A::Error> {
        // One statement per entry, so an error's line is the entry's number.
        let mut text = String::new();
        while let Some(line) = seq.next_element::<String>()? {
            if line.contains('\n') {
                return Err(de::Error::custom(
                    "each entry of a listen list is one line; use a string for several",
                ));
            }
            text.push_str(&line);
            text.push('\n');
        }
        Ok(Written::List(text))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Written, A::Error> {
        let mut lines = Lines::default();
        while let Some((name, net)) = map.next_entry::<String, NetworkTable>()? {
            net.write(&name, &mut lines).map_err(de::Error::custom)?;
        }
        Ok(Written::Table(lines))
    }
}

/// A spec inside a user's own config file (feature `serde`), in
/// whichever of three forms reads best there:
///
/// - one string of spec lines (or one address, `"0.0.0.0:8080"`);
/// - a list of lines, each a statement;
/// - a table of networks, each with its selectors, options and endpoints.
///
/// ```toml
/// [listen.public]
/// select = ["*"]
/// advertise = "https://my-awesome-service"
/// endpoints.http = { protocol = "http", port = 8080 }
///
/// [listen.ops]
/// select = ["if:eth2", "!link-local"]
/// endpoints.metrics = { protocol = "http", port = 9100, device = true }
///
/// [listen.local]
/// select = "unix"
/// endpoints.api = { protocol = "http", path = "/run/app/api.sock", mode = "660", group = "www-data" }
/// endpoints.ctl = { protocol = "unix", path = "@app-ctl" }
/// ```
///
/// A network's keys are `select` (a string or a list: selectors, `!`
/// excludes, `ipv4` or `ipv6`, as the grammar writes them), `expose`
/// (`"public"`, `"private"` or `"local"`), `advertise`, `shared` (`true`
/// or `false`) and `endpoints`. An endpoint's are `protocol`, then `port`
/// (also `ports`: a number, 0 for any free one, or `"FIRST-LAST"`) or
/// `path`, and `backlog`, `reuseport`, `v6only`, `device` (`true` for the
/// address's own interface, or an interface's name), `freebind` and
/// `advertise`; each means what the option of that name does in the
/// grammar, and an unknown key is an error listing the known ones.
///
/// An endpoint has a `port` (on IP addresses) or a `path` (a Unix socket,
/// on a network whose `select` is `"unix"`), and the file options of one:
/// `mode` as a string of octal digits (`"660"`, `"0660"`), `owner` and
/// `group` as a name or a numeric id, `stale` (`"replace"` or `"refuse"`)
/// and `keep-file`. A number is refused as a mode: TOML's `0o660` and a
/// plain `660` reach serde as the numbers 432 and 660, so the crate could
/// not tell which was meant.
///
/// In the table form a network's and an endpoint's name are keys, and as
/// in the grammar a name has no `.` in it: `[listen."ops.metrics"]` is an
/// error naming the key, never the endpoint statement it would spell.
///
/// Every form is read by the spec parser, so it is checked alike and its
/// errors, all at once, say where they are: the line of a string, the entry
/// of a list, or the network and endpoint key of a table. A spec is written
/// back as its canonical string, which every form reads again as the same
/// spec.
///
/// A table is read in the order the format hands its keys over: networks and
/// endpoints are planned and listed in that order (the `toml` crate sorts
/// keys unless its `preserve_order` feature is on).
///
/// There is no environment here: text holding `${PORT}` is an error. For
/// a field whose text may hold variables, use [`SpecText`] and lay it with
/// [`Layers`](crate::spec::Layers).
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Config {
///     listen: listenspec::ListenSpec,
/// }
///
/// let config: Config = toml::from_str(r#"
///     listen = ["public = 127.0.0.1", "public.http = http:8080"]
/// "#)?;
/// assert_eq!(config.listen.to_string(), "public = 127.0.0.1\npublic.http = http:8080\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<'de> Deserialize<'de> for ListenSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ListenSpec, D::Error> {
        match deserializer.deserialize_any(WrittenVisitor)? {
            Written::Text(text) => text.parse().map_err(de::Error::custom),
            Written::List(text) => text
                .parse::<ListenSpec>()
                .map_err(|e| de::Error::custom(format!("{e}\n(a line is an entry of the list)"))),
            Written::Table(lines) => lines.parse().map_err(de::Error::custom),
        }
    }
}

/// Spec text from a config file, in any of the forms a [`ListenSpec`]
/// field takes (a string, a list of lines, a table of networks), kept as
/// text so that its `${NAME}` variables are expanded when it is laid with
/// [`Layers`](crate::spec::Layers) and their environment, not refused when
/// the file is read (feature `serde`).
///
/// ```
/// use listenspec::spec::{Layers, SpecText};
///
/// #[derive(serde::Deserialize)]
/// struct Config {
///     listen: SpecText,
/// }
///
/// let config: Config = toml::from_str(r#"
///     [listen.public]
///     select = "127.0.0.1"
///     endpoints.http = { protocol = "http", port = "${PORT:-8080}" }
/// "#)?;
/// let spec = Layers::new()
///     .text("config.toml [listen]", config.listen)
///     .env(|name| (name == "PORT").then(|| "3000".to_owned())) // in a server: .env_vars()
///     .build()?;
/// assert_eq!(spec.to_string(), "public = 127.0.0.1\npublic.http = http:3000\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A table's shape (its keys, one word a value) is checked when the file
/// is read; the statements, when the layers are built, where an error
/// names the layer and the line of the statement, and quotes it: a table
/// becomes a statement per network, then one per endpoint, so its lines
/// are not the file's. Its networks and endpoints come in the order the
/// format hands the keys over (the `toml` crate sorts them unless its
/// `preserve_order` feature is on), and are planned and listed so; the
/// string and list forms keep the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecText(String);

impl SpecText {
    /// The spec lines.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<SpecText> for String {
    fn from(text: SpecText) -> String {
        text.0
    }
}

impl<'de> Deserialize<'de> for SpecText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SpecText, D::Error> {
        Ok(SpecText(
            match deserializer.deserialize_any(WrittenVisitor)? {
                Written::Text(text) | Written::List(text) => text,
                Written::Table(lines) => lines.text,
            },
        ))
    }
}

/// One network in the table form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkTable {
    /// Selectors, excludes (`!…`) and family filters, as the grammar writes them.
    select: OneOrMany,
    expose: Option<String>,
    advertise: Option<String>,
    #[serde(default)]
    shared: bool,
    #[serde(default)]
    endpoints: Ordered<EndpointTable>,
}

/// One endpoint in the table form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointTable {
    protocol: String,
    /// A port, 0 for any free one, or `"FIRST-LAST"`.
    #[serde(alias = "ports")]
    port: Option<PortValue>,
    /// A Unix socket's path or `@name`, instead of a port.
    path: Option<String>,
    backlog: Option<u32>,
    #[serde(default)]
    reuseport: bool,
    v6only: Option<bool>,
    /// `true` for the address's own interface, or an interface name.
    device: Option<DeviceValue>,
    #[serde(default)]
    freebind: bool,
    /// Octal digits, as a string.
    mode: Option<ModeValue>,
    owner: Option<AccountValue>,
    group: Option<AccountValue>,
    stale: Option<String>,
    #[serde(default, rename = "keep-file", alias = "keep_file")]
    keep_file: bool,
    advertise: Option<String>,
}

/// A mode: a string of octal digits; a number is kept only to be refused
/// by name, since TOML's `0o660` and `660` are both plain numbers by then.
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "not a mode: write it as a string of octal digits, like \"660\""
)]
enum ModeValue {
    Text(String),
    Number(i64),
}

/// A user or group: a name, or a numeric id as a number or a string.
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "not a user or group: give a name or a numeric id"
)]
enum AccountValue {
    Id(u64),
    Name(String),
}

impl AccountValue {
    fn text(self) -> String {
        match self {
            AccountValue::Id(id) => id.to_string(),
            AccountValue::Name(n) => n,
        }
    }
}

#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "not selectors: give a selector or a list of selectors"
)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "not a port: give a number from 0 (any free one) to 65535, or \"FIRST-LAST\""
)]
enum PortValue {
    Number(u64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "not a device: give true for the address's own interface, or an interface's name"
)]
enum DeviceValue {
    Own(bool),
    Named(String),
}

/// A map kept in the order it was written: networks and endpoints are
/// planned, and listed, in spec order.
struct Ordered<T>(Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for OrderedVisitor<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of endpoints by name")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(OrderedVisitor(std::marker::PhantomData))
    }
}

/// Spec text made from a table, with the key each line came from.
#[derive(Default)]
struct Lines {
    text: String,
    keys: Vec<String>,
}

impl Lines {
    fn push(&mut self, key: String, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
        self.keys.push(key);
    }

    /// Parses the lines; an error names the table key of its line.
    fn parse(self) -> Result<ListenSpec, String> {
        self.text.parse::<ListenSpec>().map_err(|e| {
            let mut out = format!("the listen table has {} error(s):", e.errors().len());
            for err in e.errors() {
                let key = err
                    .line
                    .and_then(|l| self.keys.get(l - 1))
                    .map_or("", String::as_str);
                let _ = write!(out, "\n  {}: {}", Escaped(key), Escaped(&err.kind));
            }
            out
        })
    }
}

/// A table value is one word of the grammar: whitespace, `;`, `#` or `=`
/// in it would make it other words or statements, which the key it stands
/// under does not say. A control character is no part of any word: it is
/// refused here, so that the messages naming the key never echo it raw (an
/// escape sequence would rewrite the reader's terminal).
fn one_word(key: &str, value: &str) -> Result<(), String> {
    // An advertised URL may have a query; `advertise` takes its next word
    // whole, `=` included.
    let reserved = if key.ends_with(".advertise") {
        ";#"
    } else {
        ";#="
    };
    let bad = |c: char| c.is_whitespace() || c.is_control() || reserved.contains(c);
    if value.is_empty() || value.contains(bad) {
        return Err(format!(
            "{}: {} must be one word, without spaces, control characters, ';' or '#' (or '=' but in a URL)",
            Escaped(key),
            Escaped(format_args!("{value:?}"))
        ));
    }
    Ok(())
}

/// A network's or endpoint's name as a table key: one word, and without a
/// `.`, which on the statement the table becomes would split the name into
/// a network and an endpoint (`ops.metrics = ...` is an endpoint), so a
/// network would silently become an endpoint statement.
fn name_key(key: &str, name: &str) -> Result<(), String> {
    one_word(key, name)?;
    if name.contains('.') {
        return Err(format!(
            "{key}: {name:?} holds a '.', which in a spec separates a network from its endpoint; a name is letters, digits, '-' and '_' (\"{}\", say)",
            name.replace('.', "-")
        ));
    }
    Ok(())
}

impl NetworkTable {
    fn write(self, name: &str, lines: &mut Lines) -> Result<(), String> {
        name_key("network name", name)?;
        let selectors = match self.select {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(list) => list,
        };
        for s in &selectors {
            one_word(&format!("{name}.select"), s)?;
        }
        for (field, value) in [("expose", &self.expose), ("advertise", &self.advertise)] {
            if let Some(v) = value {
                one_word(&format!("{name}.{field}"), v)?;
            }
        }
        let selectors = selectors.join(", ");
        let mut line = format!("{name} = {selectors}");
        if let Some(e) = &self.expose {
            let _ = write!(line, " expose={e}");
        }
        if self.shared {
            line.push_str(" shared");
        }
        if let Some(a) = &self.advertise {
            let _ = write!(line, " advertise {a}");
        }
        lines.push(name.to_owned(), &line);
        for (ep, e) in self.endpoints.0 {
            name_key(&format!("{name}.endpoints name"), &ep)?;
            let key = format!("{name}.endpoints.{ep}");
            let port = match e.port {
                Some(PortValue::Number(n)) => Some(n.to_string()),
                Some(PortValue::Text(t)) => Some(t),
                None => None,
            };
            let (address_field, address) = match (port, e.path) {
                (Some(port), None) => ("port", port),
                (None, Some(path)) => ("path", path),
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "{key}: give a port (on IP addresses) or a path (a Unix socket), not both"
                    ));
                }
                (None, None) => {
                    return Err(format!(
                        "{key}: give a port (port = 8080) or, on a network whose select is \"unix\", a Unix socket's path (path = \"/run/app.sock\")"
                    ));
                }
            };
            // Text that is no path would read as ports on the line; say
            // what it is as a path, under its own key.
            if address_field == "path" && !UnixPath::looks_like(&address) {
                let why = address.parse::<UnixPath>().err().map(|e| e.to_string());
                return Err(format!("{key}.path: {}", why.unwrap_or_default()));
            }
            let mode = match e.mode {
                Some(ModeValue::Text(m)) => Some(m),
                Some(ModeValue::Number(n)) => {
                    return Err(format!(
                        "{key}.mode: write the mode as a string of octal digits, like mode = \"660\"; the number {n} could be TOML's 0o{n:o} or a plain {n}, which mean different modes"
                    ));
                }
                None => None,
            };
            let owner = e.owner.map(AccountValue::text);
            let group = e.group.map(AccountValue::text);
            let device = match &e.device {
                Some(DeviceValue::Named(d)) => Some(d),
                _ => None,
            };
            for (field, value) in [
                ("protocol", Some(&e.protocol)),
                (address_field, Some(&address)),
                ("device", device),
                ("mode", mode.as_ref()),
                ("owner", owner.as_ref()),
                ("group", group.as_ref()),
                ("stale", e.stale.as_ref()),
                ("advertise", e.advertise.as_ref()),
            ] {
                if let Some(v) = value {
                    one_word(&format!("{key}.{field}"), v)?;
                }
            }
            let mut line = format!("{name}.{ep} = {}:{address}", e.protocol);
            if let Some(b) = e.backlog {
                let _ = write!(line, " backlog={b}");
            }
            if e.reuseport {
                line.push_str(" reuseport");
            }
            if let Some(v) = e.v6only {
                let _ = write!(line, " v6only={v}");
            }
            match e.device {
                Some(DeviceValue::Own(true)) => line.push_str(" device"),
                Some(DeviceValue::Named(d)) => {
                    let _ = write!(line, " device={d}");
                }
                Some(DeviceValue::Own(false)) | None => {}
            }
            if e.freebind {
                line.push_str(" freebind");
            }
            for (option, value) in [
                ("mode", &mode),
                ("owner", &owner),
                ("group", &group),
                ("stale", &e.stale),
            ] {
                if let Some(v) = value {
                    let _ = write!(line, " {option}={v}");
                }
            }
            if e.keep_file {
                line.push_str(" keep-file");
            }
            if let Some(a) = &e.advertise {
                let _ = write!(line, " advertise {a}");
            }
            lines.push(key, &line);
        }
        Ok(())
    }
}

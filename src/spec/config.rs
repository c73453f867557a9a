//! A [`ListenSpec`] or [`SpecText`] inside a user's own config file
//! (feature `serde`): the forms are documented on `ListenSpec`'s
//! `Deserialize` impl, where docs.rs shows them.
//!
//! Every form is read by one small visitor (`Seed`) into a `Value` and
//! checked here, key by key, outside serde's generics: a server's build
//! then instantiates that visitor once per deserializer, where derived
//! ones for each table and value kind cost it more than the rest of
//! reading its config (issue #23). Each network's and endpoint's table is
//! checked as soon as it is read, so that the format's own location
//! points at it; the errors name the key path, as the parser's name the
//! line.

use std::fmt::{self, Write as _};

use foldhash::HashSet;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::spec::error::{Escaped, Quoted};
use crate::spec::suggest::closest;
use crate::spec::{ListenSpec, Name, UnixPath};

impl Serialize for ListenSpec {
    /// As its canonical text, one statement a line.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

const A_SPEC: &str =
    "a listen spec: a string of spec lines, a list of lines, or a table of networks";

/// A spec as a config file wrote it, in one of the three forms.
enum Written {
    /// One string of spec lines.
    Text(String),
    /// A list of lines, joined: line N is entry N.
    List(String),
    /// A table of networks, as lines that know their keys.
    Table(Lines),
}

impl Written {
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Written, D::Error> {
        let value = deserializer.deserialize_any(Seed::SPEC)?;
        Written::from_value(value).map_err(de::Error::custom)
    }

    fn from_value(value: Value) -> Result<Written, String> {
        match value {
            Value::Text(text) => Ok(Written::Text(text)),
            // A number, as a `port = 8080` field held one, is read as its
            // text, so the error says which forms of it a spec takes; a
            // negative one would read as `-NAME`, a removal.
            Value::Unsigned(n) => Ok(Written::Text(n.to_string())),
            Value::Signed(n) if n >= 0 => Ok(Written::Text(n.to_string())),
            Value::Signed(n) => Err(format!(
                "invalid value: {}, expected {A_SPEC}",
                Unexpected::Signed(n)
            )),
            Value::List(entries) => {
                // One statement per entry, so an error's line is the entry's number.
                let mut text = String::new();
                for (i, entry) in entries.into_iter().enumerate() {
                    let Value::Text(line) = entry else {
                        let entry_key = format!("entry {} of the listen list", i + 1);
                        return Err(entry.invalid_type(&entry_key, "a spec line as a string"));
                    };
                    if line.contains('\n') {
                        return Err(
                            "each entry of a listen list is one line; use a string for several"
                                .to_owned(),
                        );
                    }
                    // Most often a template's value that came out empty:
                    // a listener left out without a word.
                    if line.trim_ascii().is_empty() {
                        return Err(format!(
                            "entry {} of the listen list is empty; give it a spec line, or remove it",
                            i + 1
                        ));
                    }
                    text.push_str(&line);
                    text.push('\n');
                }
                Ok(Written::List(text))
            }
            Value::Table(networks) => {
                let mut lines = Lines::default();
                for (name, network) in networks {
                    write_network(&name, network, &mut lines)?;
                }
                Ok(Written::Table(lines))
            }
            other => Err(format!(
                "invalid type: {}, expected {A_SPEC}",
                other.unexpected()
            )),
        }
    }

    fn parse(self) -> Result<ListenSpec, String> {
        match self {
            Written::Text(text) => text.parse().map_err(|e: crate::SpecError| e.to_string()),
            Written::List(text) => text
                .parse::<ListenSpec>()
                .map_err(|e| format!("{e}\n(a line is an entry of the list)")),
            Written::Table(lines) => lines.parse(),
        }
    }
}

/// A value of a config file as a self-describing format hands it over.
#[derive(Clone)]
enum Value {
    Text(String),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Bool(bool),
    Null,
    List(Vec<Value>),
    Table(Vec<(String, Value)>),
    /// A TOML date and time.
    Datetime,
}

impl Value {
    fn unexpected(&self) -> Unexpected<'_> {
        match self {
            Value::Text(t) => Unexpected::Str(t),
            Value::Unsigned(n) => Unexpected::Unsigned(*n),
            Value::Signed(n) => Unexpected::Signed(*n),
            Value::Float(n) => Unexpected::Float(*n),
            Value::Bool(b) => Unexpected::Bool(*b),
            Value::Null => Unexpected::Unit,
            Value::List(_) => Unexpected::Seq,
            Value::Table(_) => Unexpected::Map,
            Value::Datetime => Unexpected::Other("a date and time"),
        }
    }

    /// What was found, for a message: a long string by its length only, so
    /// that the message stays short.
    fn found(&self) -> String {
        match self {
            Value::Text(t) if t.len() > 64 => format!("a string of {} bytes", t.len()),
            other => other.unexpected().to_string(),
        }
    }

    /// This value, found under `key` where a value of another kind
    /// belongs, in serde's words: `KEY: invalid type: FOUND, expected WHAT`.
    fn invalid_type(&self, key: &str, expected: &str) -> String {
        format!(
            "{}: invalid type: {}, expected {expected}",
            Escaped(key),
            Escaped(self.found())
        )
    }

    /// This value, found under `key` where it is none of what `refusal`
    /// says the key takes.
    fn wrong(&self, key: &str, refusal: &str) -> String {
        format!(
            "{}: {refusal} (found {})",
            Escaped(key),
            Escaped(self.found())
        )
    }

    /// A table's key: a name, or a scalar some formats (YAML) hand over
    /// as what it looks like (`80:`, `true:`), read as its text.
    fn into_key(self) -> Result<String, String> {
        match self {
            Value::Text(key) => Ok(key),
            Value::Unsigned(n) => Ok(n.to_string()),
            Value::Signed(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(other.invalid_type("a key", "a name")),
        }
    }

    /// A number that is no negative one, as its text.
    fn natural(&self) -> Option<u64> {
        match *self {
            Value::Unsigned(n) => Some(n),
            Value::Signed(n) => u64::try_from(n).ok(),
            _ => None,
        }
    }
}

/// Where in a spec a value is read. The table form's networks and
/// endpoints are checked as each is read, inside the format's reading of
/// it, so that the format's error points at the table that is wrong.
#[derive(Clone, Copy)]
enum At<'a> {
    /// The spec itself, in any form.
    Spec,
    /// One network's table, by its name.
    Network(&'a str),
    /// A network's `endpoints`.
    Endpoints(&'a str),
    /// One endpoint's table: its network's name and its own.
    Endpoint(&'a str, &'a str),
    /// Anything inside those.
    Inside,
}

/// Reads a value of any shape, at most `MAX_DEPTH` tables and lists deep:
/// a spec's deepest value is an endpoint's, four tables down, and deeper
/// input is refused where it starts, never recursed into.
#[derive(Clone, Copy)]
struct Seed<'a> {
    depth: u8,
    at: At<'a>,
}

const MAX_DEPTH: u8 = 8;

/// The key under which the `toml` crate hands a date and time over.
const TOML_DATETIME: &str = "$__toml_private_datetime";

impl Seed<'_> {
    const SPEC: Seed<'static> = Seed {
        depth: 0,
        at: At::Spec,
    };

    fn deeper<E: de::Error>(self) -> Result<u8, E> {
        if self.depth >= MAX_DEPTH {
            return Err(de::Error::custom(format!(
                "the listen spec is nested more than {MAX_DEPTH} tables or lists deep; a spec's deepest value is an endpoint's key, four tables down"
            )));
        }
        Ok(self.depth + 1)
    }

    /// A network's or an endpoint's table, checked as it will be written.
    fn check(self, value: &Value) -> Result<(), String> {
        match self.at {
            At::Network(name) => write_network(name, value.clone(), &mut Lines::default()),
            At::Endpoint(network, ep) => endpoint_line(network, ep, value.clone()).map(drop),
            At::Spec | At::Endpoints(_) | At::Inside => Ok(()),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        let value = deserializer.deserialize_any(self)?;
        self.check(&value).map_err(de::Error::custom)?;
        Ok(value)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.at {
            At::Spec => A_SPEC,
            _ => "a string, a number, true or false, a list or a table",
        })
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Signed(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Unsigned(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Text(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = Seed {
            depth: self.deeper()?,
            at: At::Inside,
        };
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let depth = self.deeper()?;
        let mut entries: Vec<(String, Value)> = Vec::new();
        let mut names = Names::default();
        while let Some(key) = map.next_key_seed(Seed {
            depth,
            at: At::Inside,
        })? {
            let key = key.into_key().map_err(de::Error::custom)?;
            if key == TOML_DATETIME {
                map.next_value_seed(Seed {
                    depth,
                    at: At::Inside,
                })?;
                return Ok(Value::Datetime);
            }
            let at = match self.at {
                At::Spec => At::Network(&key),
                At::Network(name) if key == "endpoints" => At::Endpoints(name),
                At::Endpoints(name) => At::Endpoint(name, &key),
                _ => At::Inside,
            };
            names.read(at).map_err(de::Error::custom)?;
            let value = map.next_value_seed(Seed { depth, at })?;
            entries.push((key, value));
        }
        Ok(Value::Table(entries))
    }
}

/// The networks or endpoints of one table read so far: a name given twice
/// (JSON allows it) is refused, as a key given twice is. Outside the
/// visitor, so that a server's build compiles it once.
#[derive(Default)]
struct Names(HashSet<String>);

impl Names {
    fn read(&mut self, at: At<'_>) -> Result<(), String> {
        let (name, twice) = match at {
            At::Network(name) => (name, "the network is given twice"),
            At::Endpoint(_, ep) => (ep, "the endpoint is given twice"),
            At::Spec | At::Endpoints(_) | At::Inside => return Ok(()),
        };
        if self.0.insert(name.to_owned()) {
            return Ok(());
        }
        Err(match at {
            At::Endpoint(network, ep) => {
                format!("{}.endpoints.{}: {twice}", Escaped(network), Escaped(ep))
            }
            _ => format!("{}: {twice}", Escaped(name)),
        })
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
/// excludes, `ipv4` or `ipv6`, as the grammar writes them; a string may
/// hold several, separated by commas, as after `NAME =`), `expose`
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
/// of a list (in a `SpecText` laid with `Layers`, as its line: `line 2` is
/// entry 2), or the network and endpoint key of a table. A spec is written
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
        Written::read(deserializer)?
            .parse()
            .map_err(de::Error::custom)
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
/// Its forms, and the keys of the table form, are those of a
/// [`ListenSpec`] field: see `ListenSpec`'s `Deserialize` impl.
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
        Ok(SpecText(match Written::read(deserializer)? {
            Written::Text(text) | Written::List(text) => text,
            Written::Table(lines) => lines.text,
        }))
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
            let errors: Vec<String> = e
                .errors()
                .iter()
                .map(|err| {
                    let key = err
                        .line
                        .and_then(|l| self.keys.get(l - 1))
                        .map_or("", String::as_str);
                    format!("{}: {}", Escaped(key), Escaped(&err.kind))
                })
                .collect();
            TableErrors(errors).to_string()
        })
    }
}

/// A table's errors, listed as every error of a spec is.
struct TableErrors(Vec<String>);

impl fmt::Display for TableErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::write_list(f, ("the listen table has ", "error", ""), "  ", &self.0)
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
            Quoted(value)
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
    // As the grammar's names are; refused here, before any message that
    // names its key echoes it.
    if name.len() > Name::MAX {
        return Err(format!(
            "{key}: {} is {} bytes long; a name is at most {} bytes",
            Quoted(name),
            name.len(),
            Name::MAX
        ));
    }
    if name.contains('.') {
        return Err(format!(
            "{key}: {name:?} holds a '.', which in a spec separates a network from its endpoint; a name is letters, digits, '-' and '_' (\"{}\", say)",
            name.replace('.', "-")
        ));
    }
    Ok(())
}

const NETWORK_KEYS: &[&str] = &["select", "expose", "advertise", "shared", "endpoints"];
const ENDPOINT_KEYS: &[&str] = &[
    "protocol",
    "port",
    "path",
    "backlog",
    "reuseport",
    "v6only",
    "device",
    "freebind",
    "mode",
    "owner",
    "group",
    "stale",
    "keep-file",
    "advertise",
];

/// The entries of a network's or an endpoint's table, under the key path
/// its errors name; each key is one of those known, given once.
struct Table {
    path: String,
    entries: Vec<(&'static str, Value)>,
}

impl Table {
    fn new(
        path: String,
        value: Value,
        known: &'static [&'static str],
        what: &str,
    ) -> Result<Table, String> {
        let Value::Table(written) = value else {
            return Err(value.invalid_type(&path, what));
        };
        let mut entries: Vec<(&'static str, Value)> = Vec::with_capacity(written.len());
        for (key, value) in written {
            // The spellings other formats and older configs use.
            let canonical = match key.as_str() {
                "ports" => "port",
                "keep_file" => "keep-file",
                k => k,
            };
            let Some(&known_key) = known.iter().find(|k| **k == canonical) else {
                let hint = closest(&key, known.iter().copied())
                    .map(|k| format!(" (did you mean {k}?)"))
                    .unwrap_or_default();
                return Err(format!(
                    "{}: unknown field `{}`, expected one of `{}`{hint}",
                    Escaped(&path),
                    Escaped(&key),
                    known.join("`, `")
                ));
            };
            // `key: null`, and YAML's `key:` with no value, is the key left out.
            if matches!(value, Value::Null) {
                continue;
            }
            if entries.iter().any(|(k, _)| *k == known_key) {
                return Err(format!("{}: duplicate field `{known_key}`", Escaped(&path)));
            }
            entries.push((known_key, value));
        }
        Ok(Table { path, entries })
    }

    fn key(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        let i = self.entries.iter().position(|(k, _)| *k == key)?;
        Some(self.entries.swap_remove(i).1)
    }

    fn text(&mut self, key: &str, example: &str) -> Result<Option<String>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Text(text)) => Ok(Some(text)),
            Some(other) => {
                Err(other
                    .invalid_type(&self.key(key), &format!("a string, like {key} = {example}")))
            }
        }
    }

    fn flag(&mut self, key: &str) -> Result<Option<bool>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(other.invalid_type(&self.key(key), "true or false")),
        }
    }

    /// A number or a string, as the text a statement holds; `refusal`
    /// says what the key takes.
    fn number_or_text(&mut self, key: &str, refusal: &str) -> Result<Option<String>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Text(text)) => Ok(Some(text)),
            Some(other) => match other.natural() {
                Some(n) => Ok(Some(n.to_string())),
                None => Err(other.wrong(&self.key(key), refusal)),
            },
        }
    }
}

fn write_network(name: &str, value: Value, lines: &mut Lines) -> Result<(), String> {
    name_key("network name", name)?;
    let mut net = Table::new(
        name.to_owned(),
        value,
        NETWORK_KEYS,
        "a network: a table of select, expose, advertise, shared and endpoints",
    )?;
    let selectors = match net.take("select") {
        Some(Value::Text(s)) => vec![s],
        Some(Value::List(list)) => {
            let mut selectors = Vec::with_capacity(list.len());
            for (i, s) in list.into_iter().enumerate() {
                let Value::Text(s) = s else {
                    return Err(s.invalid_type(
                        &format!("{name}.select entry {}", i + 1),
                        "a selector as a string",
                    ));
                };
                selectors.push(s);
            }
            selectors
        }
        Some(other) => {
            return Err(other.wrong(
                &net.key("select"),
                "not selectors: give a selector or a list of selectors",
            ));
        }
        None => {
            return Err(format!(
                "{}: missing field `select`: give the network's selectors, like select = \"127.0.0.1\" or select = [\"if:eth1\", \"ipv4\"]",
                Escaped(name)
            ));
        }
    };
    if selectors.is_empty() {
        return Err(format!(
            "{}: the list is empty; give at least one selector, like select = [\"127.0.0.1\"]",
            Escaped(net.key("select"))
        ));
    }
    for s in &selectors {
        // An empty piece between commas would make the word after the
        // selectors (`shared`, `advertise`) read as one more selector.
        if s.split(',').any(|piece| piece.trim().is_empty()) {
            return Err(format!(
                "{}: {} has an empty selector before or after a comma; give each selector as an entry of the list (select = [\"10.0.0.1\", \"if:eth0\"])",
                Escaped(net.key("select")),
                Quoted(s)
            ));
        }
    }
    // `select = "127.0.0.1, ::1"` is the text grammar's list, as written
    // after `NAME =`: each selector a word of its own.
    let selectors: Vec<String> = selectors
        .iter()
        .flat_map(|s| s.split(','))
        .map(|piece| piece.trim().to_owned())
        .collect();
    let expose = net.text("expose", "\"private\"")?;
    let advertise = net.text("advertise", "\"https://api.example.com\"")?;
    let shared = net.flag("shared")?.unwrap_or(false);
    for s in &selectors {
        one_word(&format!("{name}.select"), s)?;
    }
    for (field, value) in [("expose", &expose), ("advertise", &advertise)] {
        if let Some(v) = value {
            one_word(&format!("{name}.{field}"), v)?;
        }
    }
    let mut line = format!("{name} = {}", selectors.join(", "));
    if let Some(e) = &expose {
        let _ = write!(line, " expose={e}");
    }
    if shared {
        line.push_str(" shared");
    }
    if let Some(a) = &advertise {
        let _ = write!(line, " advertise {a}");
    }
    lines.push(name.to_owned(), &line);
    let endpoints = match net.take("endpoints") {
        None => Vec::new(),
        Some(Value::Table(endpoints)) => endpoints,
        Some(other) => {
            return Err(other.invalid_type(&net.key("endpoints"), "a table of endpoints by name"));
        }
    };
    for (ep, value) in endpoints {
        let (key, line) = endpoint_line(name, &ep, value)?;
        lines.push(key, &line);
    }
    Ok(())
}

/// One endpoint's table as its statement, with the key it came from.
fn endpoint_line(network: &str, ep: &str, value: Value) -> Result<(String, String), String> {
    name_key(&format!("{network}.endpoints name"), ep)?;
    let endpoint = Table::new(
        format!("{network}.endpoints.{ep}"),
        value,
        ENDPOINT_KEYS,
        "an endpoint: a table of its keys, like { protocol = \"http\", port = 8080 }",
    )?;
    write_endpoint(network, ep, endpoint)
}

fn write_endpoint(network: &str, ep: &str, mut e: Table) -> Result<(String, String), String> {
    let key = e.path.clone();
    let protocol = e.text("protocol", "\"http\"")?.ok_or_else(|| {
        format!(
            "{key}: missing field `protocol`: give one, like protocol = \"http\" (tcp, udp, http, https, unix or unixgram)"
        )
    })?;
    let port = e.number_or_text(
        "port",
        "not a port: give a number from 0 (any free one) to 65535, or \"FIRST-LAST\"",
    )?;
    let path = e.text("path", "\"/run/app.sock\"")?;
    let (address_field, address) = match (port, path) {
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
    // Text that is no path would read as ports on the line; say what it is
    // as a path, under its own key.
    if address_field == "path" && !UnixPath::looks_like(&address) {
        let why = address.parse::<UnixPath>().err().map(|e| e.to_string());
        return Err(format!("{key}.path: {}", Escaped(why.unwrap_or_default())));
    }
    let backlog = match e.take("backlog") {
        None => None,
        Some(v) => match v.natural().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Some(n),
            None => {
                return Err(v.wrong(
                    &e.key("backlog"),
                    "not a backlog: give the number of connections the kernel queues, like backlog = 1024",
                ));
            }
        },
    };
    let reuseport = e.flag("reuseport")?.unwrap_or(false);
    let v6only = e.flag("v6only")?;
    let device = match e.take("device") {
        None | Some(Value::Bool(false)) => None,
        Some(Value::Bool(true)) => Some(None),
        Some(Value::Text(d)) => Some(Some(d)),
        Some(other) => {
            return Err(other.wrong(
                &e.key("device"),
                "not a device: give true for the address's own interface, or an interface's name",
            ));
        }
    };
    let freebind = e.flag("freebind")?.unwrap_or(false);
    let mode = match e.take("mode") {
        None => None,
        Some(Value::Text(m)) => Some(m),
        Some(other) => {
            return Err(match other.natural().filter(|&n| n <= 0o7777) {
                Some(n) => format!(
                    "{key}.mode: write the mode in quotes, a string of octal digits (\"660\"): the number {n} is what the file's parser gave for 0o{n:o} and for {n} alike, and those are different modes"
                ),
                None => other.wrong(
                    &e.key("mode"),
                    "not a mode: write it as a string of octal digits, like \"660\"",
                ),
            });
        }
    };
    let account = "not a user or group: give a name or a numeric id";
    let owner = e.number_or_text("owner", account)?;
    let group = e.number_or_text("group", account)?;
    let stale = e.text("stale", "\"replace\"")?;
    let keep_file = e.flag("keep-file")?.unwrap_or(false);
    let advertise = e.text("advertise", "\"https://api.example.com\"")?;
    for (field, value) in [
        ("protocol", Some(&protocol)),
        (address_field, Some(&address)),
        ("device", device.as_ref().and_then(Option::as_ref)),
        ("mode", mode.as_ref()),
        ("owner", owner.as_ref()),
        ("group", group.as_ref()),
        ("stale", stale.as_ref()),
        ("advertise", advertise.as_ref()),
    ] {
        if let Some(v) = value {
            one_word(&format!("{key}.{field}"), v)?;
        }
    }
    let mut line = format!("{network}.{ep} = {protocol}:{address}");
    if let Some(b) = backlog {
        let _ = write!(line, " backlog={b}");
    }
    if reuseport {
        line.push_str(" reuseport");
    }
    if let Some(v) = v6only {
        let _ = write!(line, " v6only={v}");
    }
    match &device {
        Some(None) => line.push_str(" device"),
        Some(Some(d)) => {
            let _ = write!(line, " device={d}");
        }
        None => {}
    }
    if freebind {
        line.push_str(" freebind");
    }
    for (option, value) in [
        ("mode", &mode),
        ("owner", &owner),
        ("group", &group),
        ("stale", &stale),
    ] {
        if let Some(v) = value {
            let _ = write!(line, " {option}={v}");
        }
    }
    if keep_file {
        line.push_str(" keep-file");
    }
    if let Some(a) = &advertise {
        let _ = write!(line, " advertise {a}");
    }
    Ok((key, line))
}

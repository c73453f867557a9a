//! One spec from several places: [`Layers`].

use std::fmt;

use foldhash::HashSet;

use crate::spec::error::Located;
use crate::spec::parse::Read;
use crate::spec::{ListenSpec, SpecError, SpecErrorKind};

/// Looks a variable up: the process environment, or a test's own table;
/// `Err` holds, shown lossily, the value of one set but not to UTF-8 text.
/// `Send` and `Sync`, so layers can cross into a spawned task.
type Lookup<'e> = Box<LookupFn<'e>>;
type LookupFn<'e> = dyn Fn(&str) -> Option<Result<String, String>> + Send + Sync + 'e;

/// One spec from several places: a config file, then `--listen` flags,
/// then the environment, each a layer over the ones before.
///
/// ```
/// use listenspec::spec::Layers;
///
/// let from_file = "
///     public      = *
///     ops         = loopback
///     public.http = http:8080
///     ops.metrics = http:9100
/// ";
/// let spec = Layers::new()
///     .env(|name| (name == "PORT").then(|| "3000".to_owned()))
///     .text("config.toml [listen]", from_file)
///     .text("--listen #1", "public.http = http:${PORT:-8080}")
///     .text("--listen #2", "-ops.metrics")
///     .build()?;
/// assert_eq!(spec.to_string(), "public = *\nops = loopback\npublic.http = http:3000\n");
/// # Ok::<(), listenspec::SpecError>(())
/// ```
///
/// A later statement for a network or endpoint replaces the earlier one in
/// its place; `-NAME` removes a network with its endpoints, `-NETWORK.NAME`
/// one endpoint. The rules that span statements (every endpoint's network
/// is defined, ...) are checked once, on the result, and every error names
/// its layer and line: `config.toml [listen] line 3: ...`. So does a plan
/// error of the spec built, beside the network or endpoint it is about:
/// `network ops (--listen #1 line 1): expose=local forbids a wildcard…`
/// names the layer whose statement to change (and its JSON, `written`).
///
/// With [`Layers::env`] (only then), `${NAME}` and `${NAME:-DEFAULT}` in a
/// layer's text stand for a variable's value: the `PORT` that cloud
/// platforms set (`public.http = http:${PORT:-8080}`), or a Kubernetes pod's
/// own address from the downward API as what it advertises
/// (`cluster = * advertise ${POD_IP}`). The default is taken when the
/// variable is not set or is empty, as a shell's `${NAME:-DEFAULT}` is. A
/// variable that is not set or empty and has no default is an error naming
/// it, never an empty address, and a value
/// stands for one word: one holding a space, `;`, `#` or `=` is refused, so
/// the environment cannot add statements or options the text does not have.
/// Where a statement takes a list (a network's selectors), commas in a
/// value separate its items as written ones do: `ops = ${OPS_ADDRS}` with
/// `10.0.0.1,10.0.0.2` selects both. A comment (from `#` to the end of its
/// line) is left as written, references and all. A default is text, not
/// another reference: `${A:-${B}}` is refused.
///
/// The environment is only ever read through [`Layers::env`] or
/// [`Layers::env_vars`]: without one, text holding `${NAME}` is an error
/// that says to add one, and [`ListenArgs`](crate::spec::ListenArgs)'
/// `$LISTEN` layer is left out, so a unit test sees no variable it did
/// not give.
#[derive(Default)]
pub struct Layers<'e> {
    layers: Vec<(String, Layer)>,
    env: Option<Lookup<'e>>,
}

enum Layer {
    Text(String),
    /// The text of an environment variable, when there is an environment
    /// (`$LISTEN`); nothing otherwise.
    Variable(String),
    Spec(ListenSpec),
    /// A file that could not be read, with why.
    Unreadable(std::io::Error),
}

impl fmt::Debug for Layers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.layers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Layers")
            .field("layers", &names)
            .field("env", &self.env.is_some())
            .finish()
    }
}

impl<'e> Layers<'e> {
    /// No layers yet.
    pub fn new() -> Layers<'e> {
        Layers::default()
    }

    /// Adds spec text, named in errors by `name` (`config.toml [listen]`).
    pub fn text(mut self, name: impl Into<String>, text: impl Into<String>) -> Layers<'e> {
        self.layers.push((name.into(), Layer::Text(text.into())));
        self
    }

    /// Adds a spec read elsewhere (from a config file through serde, say).
    pub fn spec(mut self, name: impl Into<String>, spec: ListenSpec) -> Layers<'e> {
        self.layers.push((name.into(), Layer::Spec(spec)));
        self
    }

    /// Adds a layer that could not be read: building fails with `error`,
    /// named like the layer, beside every other error.
    pub fn unreadable(mut self, name: impl Into<String>, error: std::io::Error) -> Layers<'e> {
        self.layers.push((name.into(), Layer::Unreadable(error)));
        self
    }

    /// Expands `${NAME}` and `${NAME:-DEFAULT}` in text layers with
    /// `lookup`, which [`Layers::env_vars`] sets to the process environment.
    pub fn env(mut self, lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'e) -> Layers<'e> {
        self.env = Some(Box::new(move |name| lookup(name).map(Ok)));
        self
    }

    /// Expands variables from the process environment. One set, but not
    /// to UTF-8 text, is an error naming it: read as not set, its default
    /// or the layers under it would take its place.
    pub fn env_vars(mut self) -> Layers<'e> {
        self.env = Some(Box::new(|name| match std::env::var(name) {
            Ok(value) => Some(Ok(value)),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(value)) => {
                Some(Err(value.to_string_lossy().into_owned()))
            }
        }));
        self
    }

    /// Adds the text of the environment variable `name` as a layer (spec
    /// lines, `;` between them), read when the layers are built and only
    /// if they have an environment; unset or empty, it adds nothing (a
    /// compose file or a unit's `Environment=LISTEN=` sets a variable to
    /// empty to mean none), where `--listen ''` is refused. Errors name it
    /// `$NAME`. [`ListenArgs`](crate::spec::ListenArgs) adds `$LISTEN` so.
    ///
    /// ```
    /// use listenspec::spec::Layers;
    ///
    /// let layers = || Layers::new().text("defaults", "public = 127.0.0.1; public.http = http:80").variable("LISTEN");
    /// let env = |name: &str| (name == "LISTEN").then(|| "public.http = http:8080".to_owned());
    /// assert_eq!(layers().env(env).build()?.to_string(), "public = 127.0.0.1\npublic.http = http:8080\n");
    /// assert_eq!(layers().build()?.to_string(), "public = 127.0.0.1\npublic.http = http:80\n");
    /// let empty = |name: &str| (name == "LISTEN").then(String::new);
    /// assert_eq!(layers().env(empty).build()?.to_string(), "public = 127.0.0.1\npublic.http = http:80\n");
    /// # Ok::<(), listenspec::SpecError>(())
    /// ```
    pub fn variable(mut self, name: &str) -> Layers<'e> {
        self.layers
            .push((format!("${name}"), Layer::Variable(name.to_owned())));
        self
    }

    /// The spec the layers make, or every error of every layer.
    pub fn build(self) -> Result<ListenSpec, SpecError> {
        let mut read = Read::default();
        let env = self.env.as_deref();
        for (name, layer) in self.layers {
            match layer {
                Layer::Spec(spec) => read.spec(Some(name), None, spec),
                Layer::Unreadable(error) => read.error(Located {
                    line: None,
                    statement: None,
                    layer: Some(name),
                    kind: SpecErrorKind::Unreadable {
                        error: error.to_string(),
                    },
                }),
                Layer::Text(text) => read_text(&mut read, env, name, &text),
                // Read only with an environment; unset, it adds nothing.
                Layer::Variable(var) => match env.and_then(|lookup| lookup(&var)) {
                    Some(Ok(text)) => read_text(&mut read, env, name, &text),
                    Some(Err(value)) => read.error(Located {
                        line: None,
                        statement: None,
                        layer: Some(name),
                        kind: SpecErrorKind::NotUnicodeVariable { name: var, value },
                    }),
                    None => {}
                },
            }
        }
        read.assemble()
    }
}

/// Reads one text layer, its variables expanded first when there is an
/// environment.
fn read_text(read: &mut Read, env: Option<&LookupFn<'_>>, name: String, text: &str) {
    let Some(lookup) = env else {
        return read.layer(Some(&name), text);
    };
    match expand(text, lookup) {
        Ok(expanded) => {
            let from = read.error_count();
            read.layer(Some(&name), &expanded);
            read.quote_as_written(from, text);
        }
        Err(errors) => {
            read.unread_layer(&name);
            // Each line quoted with its first error, as the parser quotes a
            // statement: a config's table becomes lines of its own, whose
            // numbers alone would not say which key is meant.
            // The errors come in line order: the lines are walked once.
            let mut lines = (1..).zip(text.split('\n'));
            let mut quoted = None;
            for (line, kind) in errors {
                let statement = (quoted != Some(line)).then(|| {
                    quoted = Some(line);
                    lines
                        .find(|&(n, _)| n == line)
                        .map_or_else(String::new, |(_, l)| l.trim().to_owned())
                });
                read.error(Located {
                    line: Some(line),
                    statement,
                    layer: Some(name.clone()),
                    kind,
                });
            }
        }
    }
}

impl ListenSpec {
    /// This spec with `text` laid over it, as a later layer: a statement for
    /// an existing network or endpoint replaces it, a new one is added,
    /// `-NAME` removes.
    ///
    /// ```
    /// use listenspec::ListenSpec;
    ///
    /// let spec: ListenSpec = "public = *; public.http = http:8080".parse()?;
    /// let spec = spec.with("public.http = http:9090 backlog=4096; public.grpc = tcp:9000")?;
    /// assert_eq!(
    ///     spec.to_string(),
    ///     "public = *\npublic.http = http:9090 backlog=4096\npublic.grpc = tcp:9000\n"
    /// );
    /// # Ok::<(), listenspec::SpecError>(())
    /// ```
    pub fn with(self, text: &str) -> Result<ListenSpec, SpecError> {
        let mut read = Read::default();
        read.spec(None, None, self);
        read.layer(None, text);
        read.assemble()
    }
}

/// `text` with its variables expanded, line by line so that errors keep
/// their lines; or every bad reference, with its line.
fn expand(text: &str, lookup: &LookupFn<'_>) -> Result<String, Vec<(usize, SpecErrorKind)>> {
    let mut out = String::with_capacity(text.len());
    let mut errors = Vec::new();
    // Variables whose value was refused: told once, however many
    // references repeat them (each error holds the value).
    let mut refused: HashSet<&str> = HashSet::default();
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        // A comment is no part of the spec: a reference there is left as
        // it is, so commenting a line out disables it.
        let (code, comment) = line.split_at(line.find('#').unwrap_or(line.len()));
        let mut rest = code;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(mut end) = after.find('}') else {
                errors.push((n + 1, SpecErrorKind::BadReference(rest[start..].to_owned())));
                rest = "";
                break;
            };
            let (name, default) = match after[..end].split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (&after[..end], None),
            };
            // `${A:-${B}}` ends at the `}` that closes its own `{`: quoted
            // whole, with no `}` left over. What is looked through is
            // passed by, so a line costs its length.
            if default.is_some_and(|d| d.contains("${")) {
                let mut depth = 1;
                let close = after.bytes().position(|b| {
                    depth += i32::from(b == b'{') - i32::from(b == b'}');
                    depth == 0
                });
                let Some(close) = close else {
                    errors.push((n + 1, SpecErrorKind::BadReference(rest[start..].to_owned())));
                    rest = "";
                    break;
                };
                end = close;
            }
            // A default is text: `${A:-${B}}` would take `${B` for it.
            let valid_name = !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !default.is_some_and(|d| d.is_empty() || d.contains("${"));
            // As a shell's `:-`, the default stands for an empty value too
            // (a `PORT=` left in a unit file or a compose file).
            let value = match lookup(name) {
                Some(Err(value)) if valid_name => {
                    if refused.insert(name) {
                        let name = name.to_owned();
                        errors.push((n + 1, SpecErrorKind::NotUnicodeVariable { name, value }));
                    }
                    rest = &after[end + 1..];
                    continue;
                }
                Some(Ok(v)) if v.is_empty() && default.is_some() => default.map(str::to_owned),
                v => v.and_then(Result::ok).or(default.map(str::to_owned)),
            };
            match (valid_name, value, default) {
                (false, ..) => errors.push((
                    n + 1,
                    SpecErrorKind::BadReference(rest[start..start + end + 3].to_owned()),
                )),
                (true, Some(value), _) => {
                    // A value is not expanded again: `${` in it would
                    // reach the parser as if nothing had expanded it.
                    if value.is_empty()
                        || value.contains(|c: char| c.is_whitespace() || ";#=".contains(c))
                        || value.contains("${")
                    {
                        if refused.insert(name) {
                            errors.push((
                                n + 1,
                                SpecErrorKind::BadVariable {
                                    name: name.to_owned(),
                                    value,
                                },
                            ));
                        }
                    } else {
                        out.push_str(&value);
                    }
                }
                (true, None, _) => {
                    errors.push((n + 1, SpecErrorKind::UnsetVariable(name.to_owned())));
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out.push_str(comment);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

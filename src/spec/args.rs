//! The listen spec on a clap command line (feature `clap`).
//!
//! ```
//! use clap::Parser;
//! use listenspec::spec::ListenArgs;
//!
//! /// A server's own arguments, with the listen spec flattened in.
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     listen: ListenArgs,
//!     #[arg(long)]
//!     verbose: bool,
//! }
//!
//! let cli = Cli::try_parse_from([
//!     "server",
//!     "--listen", "public = *",
//!     "--listen", "public.http = http:8080",
//! ])?;
//! let spec = cli.listen.layers().build()?;
//! assert_eq!(spec.to_string(), "public = *\npublic.http = http:8080\n");
//!
//! // A line that is not one of the grammar's fails when the arguments are
//! // parsed, with the grammar's own message.
//! let err = Cli::try_parse_from(["server", "--listen", "public.http = http://0.0.0.0:8080"])
//!     .err()
//!     .unwrap();
//! assert!(err.to_string().contains("write `public = 0.0.0.0` and `public.http = http:8080`"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod text_file;

use std::path::PathBuf;

use crate::spec::Layers;
use crate::spec::parse::Read;

/// What `--listen` takes, in brief; `ListenSpec`'s docs have the grammar.
const GRAMMAR: &str = "\
A spec line, over the lines of --listen-file (repeat it for more), under
$LISTEN (spec lines, ';' between them):
  NAME = SELECTORS [expose=public|private|local] [shared] [advertise URL]
  NETWORK.NAME = tcp|udp|http|https:PORT[-LAST] [backlog=N] [reuseport]
                 [v6only[=false]] [device[=IFNAME]] [freebind] [advertise URL]
  NAME = unix [advertise URL]         a network of Unix sockets
  NAME.NAME = unix|unixgram|http|https:PATH [mode=660] [owner=USER]
              [group=GROUP] [stale=replace|refuse] [keep-file] [backlog=N]
              PATH is /abs/path, ./rel/path or @abstract-name
  A NAME or NETWORK.NAME line replaces an earlier one whole, options and
  advertise included: repeat those you keep.
  -NAME, -NETWORK.NAME   remove what an earlier layer defined
  ADDRESS:PORT, SCHEME://HOST:PORT   one address: alone, the whole spec;
              over a config, a network of its own, 'listen' (listen.tcp)
  /run/app.sock, unix:PATH, http+unix://%2Frun%2Fapp.sock   one Unix socket
Selectors: *, 0.0.0.0, ::, addresses, CIDR blocks, if:NAME (globs), classes
(loopback, private, global, ...), dns:NAME, !SELECTOR to exclude, ipv4, ipv6.";

/// `--listen LINE` (repeatable) and `--listen-file FILE`, to
/// `#[command(flatten)]` into a server's own clap arguments, and the
/// `$LISTEN` variable.
///
/// [`ListenArgs::layers_over`] lays them over a server's own spec (from
/// its config file, say) in this order: the file, then each `--listen`
/// line, then `$LISTEN` (spec lines, `;` between them). A network's or
/// endpoint's line replaces the earlier one whole, options and `advertise`
/// included: `--listen 'public = 127.0.0.1'` over a config's `public = *
/// advertise https://svc` advertises 127.0.0.1, not `https://svc`.
/// `$LISTEN` is read when the layers are built, and only if they have an
/// environment ([`Layers::env_vars`], which also expands `${NAME}` in every
/// layer): parsing the arguments reads no variable, so a unit test that
/// parses a command line sees only what it gave.
///
/// ```
/// use clap::Parser;
/// use listenspec::spec::{Layers, ListenArgs};
///
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     listen: ListenArgs,
/// }
///
/// let cli = Cli::try_parse_from(["server", "--listen", "public.http = http:${PORT:-8080}"])?;
/// let defaults = Layers::new().text("defaults", "public = 127.0.0.1; public.http = http:80");
/// // In a server: .env_vars(), the process environment. Here, a test's own.
/// let env = |name: &str| match name {
///     "PORT" => Some("3000".to_owned()),
///     "LISTEN" => Some("public.admin = http:9000".to_owned()),
///     _ => None,
/// };
/// let spec = cli.listen.layers_over(defaults).env(env).build()?;
/// assert_eq!(
///     spec.to_string(),
///     "public = 127.0.0.1\npublic.http = http:3000\npublic.admin = http:9000\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, clap::Args)]
// These docs are for rustdoc: clap would otherwise show them as the
// description of a server's command that has none of its own.
#[command(about = None, long_about = None)]
pub struct ListenArgs {
    /// A listen spec line (statements separated by `;` too, as in
    /// `--listen 'web = unix; web.http = http:/run/web.sock'`), or a
    /// one-address value (`127.0.0.1:8080`), laid over the lines of
    /// `--listen-file`; repeatable.
    #[arg(long = "listen", value_name = "LINE", value_parser = statement, help = "A listen spec line (statements separated by ';'), or an address like 127.0.0.1:8080, laid over the lines of --listen-file; repeatable", long_help = GRAMMAR, allow_hyphen_values = true)]
    pub listen: Vec<String>,
    /// A file of listen spec lines.
    #[arg(long = "listen-file", value_name = "FILE")]
    pub listen_file: Option<PathBuf>,
}

impl ListenArgs {
    /// The layers these arguments give, named as a person would find them
    /// (`--listen-file ./listen.spec`, `--listen #2`, `$LISTEN`). Lay them
    /// over a spec from a config file with [`ListenArgs::layers_over`];
    /// add [`Layers::env_vars`] for `$LISTEN` and `${NAME}`.
    ///
    /// A file that cannot be read is a layer with that one error.
    pub fn layers(&self) -> Layers<'static> {
        self.layers_over(Layers::new())
    }

    /// These arguments' layers over `base`.
    pub fn layers_over<'e>(&self, mut base: Layers<'e>) -> Layers<'e> {
        if let Some(path) = &self.listen_file {
            let name = format!("--listen-file {}", path.display());
            base = match text_file::read_capped(path) {
                Ok(text) => base.text(name, text),
                Err(e) => base.unreadable(name, e),
            };
        }
        for (i, line) in self.listen.iter().enumerate() {
            base = base.text(format!("--listen #{}", i + 1), line.clone());
        }
        base.variable("LISTEN")
    }
}

/// Checks one `--listen` value as the parser reads it, so a typo fails when
/// the arguments are parsed; rules that span statements wait for the whole,
/// and a line with a `${NAME}` waits for its environment.
fn statement(line: &str) -> Result<String, String> {
    // `--listen "$ADDR"` with `ADDR` unset: the listener meant would be
    // left out without a word. So would one of only `;` and comments.
    let no_statement = line.split(['\n', ';']).all(|piece| {
        piece
            .split('#')
            .next()
            .unwrap_or_default()
            .trim_ascii()
            .is_empty()
    });
    if no_statement {
        return Err(
            "the value is empty (an unset shell variable?) or holds only `;` and comments; give a spec line, or leave the flag out"
                .to_owned(),
        );
    }
    if line.contains("${") {
        return Ok(line.to_owned());
    }
    let mut read = Read::default();
    read.layer(None, line);
    read.syntax()
        .map(|()| line.to_owned())
        .map_err(|e| e.to_string())
}

//! Unix domain sockets in a spec: the paths and abstract names endpoints
//! listen on, and the options of the file a path socket makes.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::spec::SpecErrorKind;
use crate::spec::error::UnixPathError;

/// Where a Unix domain socket lives: a filesystem path, or (Linux only) a
/// name in the abstract namespace, which has no file.
///
/// | text | meaning |
/// |---|---|
/// | `/run/app/api.sock` | a socket file at this absolute path |
/// | `./dev.sock`, `../run/app.sock` | relative to the working directory, resolved when planning |
/// | `@app-admin` | the abstract name `app-admin` (Linux), no file |
///
/// Paths are text: they hold no whitespace, `;`, `#` or control characters
/// (NUL among them), do not end in `/`, `/.` or `/..` (a directory, not a
/// socket file in it), and are at most [`UnixPath::MAX_LEN`] bytes. Whether
/// the path fits the OS's `sun_path` (108 bytes on Linux, 104 on macOS and
/// the BSDs) is checked when planning, for the host's OS.
///
/// ```
/// use listenspec::spec::UnixPath;
///
/// let path: UnixPath = "/run/app/api.sock".parse()?;
/// assert_eq!(path.file().unwrap().to_str(), Some("/run/app/api.sock"));
/// assert!("@app-admin".parse::<UnixPath>()?.is_abstract());
/// assert!("/run/app/".parse::<UnixPath>().is_err());
/// assert!("app.sock".parse::<UnixPath>().is_err()); // ./app.sock
/// # Ok::<(), listenspec::spec::SpecErrorKind>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum UnixPath {
    /// A socket file.
    File(PathBuf),
    /// A name in Linux's abstract namespace (written `@name`).
    Abstract(String),
}

impl UnixPath {
    /// The longest path or abstract name a spec takes, in bytes: Linux's
    /// `PATH_MAX`. Far past any `sun_path`, so a real path is never refused
    /// here; it bounds what hostile input makes the parser keep.
    pub const MAX_LEN: usize = 4096;

    /// The file's path; `None` for an abstract name.
    pub fn file(&self) -> Option<&Path> {
        match self {
            UnixPath::File(p) => Some(p),
            UnixPath::Abstract(_) => None,
        }
    }

    /// Whether this is a name in the abstract namespace.
    pub fn is_abstract(&self) -> bool {
        matches!(self, UnixPath::Abstract(_))
    }

    /// How many bytes of `sun_path` it takes: the path and its closing NUL,
    /// or the leading NUL and the name of an abstract socket.
    pub fn sun_path_len(&self) -> usize {
        match self {
            UnixPath::File(p) => p.as_os_str().len() + 1,
            UnixPath::Abstract(name) => name.len() + 1,
        }
    }

    /// Whether the text could only be meant as a Unix socket: it starts
    /// with `/`, `./`, `../` or `@`.
    pub(crate) fn looks_like(text: &str) -> bool {
        text.starts_with(['/', '@']) || text.starts_with("./") || text.starts_with("../")
    }
}

impl fmt::Display for UnixPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnixPath::File(p) => write!(f, "{}", p.display()),
            UnixPath::Abstract(name) => write!(f, "@{name}"),
        }
    }
}

impl FromStr for UnixPath {
    type Err = SpecErrorKind;
    fn from_str(s: &str) -> Result<UnixPath, SpecErrorKind> {
        let bad = |reason| SpecErrorKind::BadUnixPath {
            text: s.to_owned(),
            reason,
        };
        if s.len() > UnixPath::MAX_LEN {
            return Err(bad(UnixPathError::TooLong { len: s.len() }));
        }
        // An invisible or bidirectional character would show another path
        // than the one bound (`./x\u{202e}gpj.sock` reads `./xkcos.jpg`).
        let separator =
            |c: char| c.is_whitespace() || crate::is_unprintable(c) || c == ';' || c == '#';
        if s.contains(separator) {
            return Err(bad(UnixPathError::Separator));
        }
        if let Some(name) = s.strip_prefix('@') {
            if name.is_empty() {
                return Err(bad(UnixPathError::EmptyName));
            }
            return Ok(UnixPath::Abstract(name.to_owned()));
        }
        if !UnixPath::looks_like(s) {
            return Err(bad(UnixPathError::NotAPath));
        }
        if s.starts_with("//") {
            return Err(bad(UnixPathError::DoubleSlash));
        }
        if s.ends_with('/') || s.ends_with("/.") || s.ends_with("/..") {
            return Err(bad(UnixPathError::Directory));
        }
        Ok(UnixPath::File(PathBuf::from(s)))
    }
}

/// How a Unix socket's URL holds its path: as the path of `unix:PATH`
/// (`slash` kept), or as the host of `http+unix://HOST/` (every `/`
/// encoded too). RFC 3986's unreserved characters stay as they are and
/// every other byte is percent-encoded, `%` among them, so a path holding
/// `?`, `#`, `%`, a space or bytes that are not UTF-8 names itself and no
/// other path. An abstract name is `@` (`%40` in a host) and its encoded
/// name.
///
/// In a `unix:` path a `.` or `..` segment, and the empty one that would
/// begin `//`, keeps the `/` before it encoded as `%2F`: a URL parser
/// removes dot segments (WHATWG's even when the dots are encoded) and reads
/// `unix://` as the start of a host, and either would name another path.
pub(crate) fn url_text(path: &UnixPath, slash: bool) -> String {
    let (prefix, bytes) = match path {
        UnixPath::File(p) => ("", p.as_os_str().as_encoded_bytes()),
        // In an authority `@` ends the user info: a host encodes it.
        UnixPath::Abstract(name) => (if slash { "@" } else { "%40" }, name.as_bytes()),
    };
    let mut out = String::with_capacity(prefix.len() + bytes.len());
    out.push_str(prefix);
    for (i, segment) in bytes.split(|&b| b == b'/').enumerate() {
        if i > 0 {
            // `unix:@…` is an opaque path, which no parser rewrites.
            let lost = !path.is_abstract()
                && (matches!(segment, b"." | b"..") || (i == 1 && segment.is_empty()));
            out.push_str(if slash && !lost { "/" } else { "%2F" });
        }
        for &b in segment {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// The Unix socket a URL's path or host names, percent-decoded: `@name` is
/// an abstract name (which must be UTF-8, as every spec's is), anything
/// else a path, byte for byte. `None` for a `%` without two hex digits.
#[cfg(any(feature = "probe", test))]
pub(crate) fn from_url_text(text: &str) -> Option<UnixPath> {
    let bytes = percent_decode(text)?;
    if let Some(name) = bytes.strip_prefix(b"@") {
        return String::from_utf8(name.to_vec())
            .ok()
            .map(UnixPath::Abstract);
    }
    Some(UnixPath::File(path_from_bytes(bytes)?))
}

/// `%2F` and the like to their bytes; `None` for a `%` without two hex
/// digits after it.
pub(crate) fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            let hex = std::str::from_utf8(&hex).ok()?;
            // from_str_radix takes a sign too; `%+1` is no escape.
            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

/// A path from its bytes: any bytes on Unix, where a path is bytes; UTF-8
/// elsewhere.
#[cfg(all(unix, any(feature = "probe", test)))]
fn path_from_bytes(bytes: Vec<u8>) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    Some(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
}

#[cfg(all(not(unix), any(feature = "probe", test)))]
fn path_from_bytes(bytes: Vec<u8>) -> Option<PathBuf> {
    String::from_utf8(bytes).ok().map(PathBuf::from)
}

/// Who owns a socket file (`owner=`) or which group it belongs to
/// (`group=`): a name the host resolves, or a numeric id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Account {
    /// `owner=www-data`: looked up when the host is captured.
    Name(String),
    /// `owner=33`.
    Id(u32),
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::Name(n) => f.write_str(n),
            Account::Id(id) => write!(f, "{id}"),
        }
    }
}

impl Account {
    /// `(uid_t)-1` and `(gid_t)-1`, which chown(2) takes as "leave this
    /// one as it is": never an id a file can be given.
    pub(crate) const UNCHANGED: u32 = u32::MAX;

    /// A user or group name as POSIX's portable set spells one (letters,
    /// digits, `.`, `_`, `-`, not starting with `-`; at most 32 bytes), or
    /// a decimal id.
    pub(crate) fn parse(s: &str) -> Option<Account> {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            // `(uid_t)-1` is not an id: chown(2) reads it as "leave as is".
            return s
                .parse()
                .ok()
                .filter(|&id| id != Account::UNCHANGED)
                .map(Account::Id);
        }
        let portable = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
        let ok = !s.is_empty() && s.len() <= 32 && !s.starts_with('-') && s.bytes().all(portable);
        ok.then(|| Account::Name(s.to_owned()))
    }
}

/// What binding does with a socket file already at the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Stale {
    /// `stale=replace` (the default): a socket file no one accepts on is
    /// removed and bound anew. A live socket, or a file that is not a
    /// socket, is an error either way.
    #[default]
    Replace,
    /// `stale=refuse`: any file at the path is an error, for a person to
    /// look at.
    Refuse,
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stale::Replace => "replace",
            Stale::Refuse => "refuse",
        })
    }
}

impl Stale {
    pub(crate) fn parse(s: &str) -> Option<Stale> {
        match s {
            "replace" => Some(Stale::Replace),
            "refuse" => Some(Stale::Refuse),
            _ => None,
        }
    }
}

/// `mode=660` or `mode=0660`: permission bits in octal, at most `777`
/// (no set-id or sticky bits, which mean nothing on a socket).
pub(crate) fn parse_mode(s: &str) -> Option<u32> {
    let ok = (1..=4).contains(&s.len()) && s.bytes().all(|b| (b'0'..=b'7').contains(&b));
    u32::from_str_radix(s, 8).ok().filter(|&m| ok && m <= 0o777)
}

#[cfg(test)]
mod tests {
    use super::{UnixPath, from_url_text, url_text};

    /// The spellings a URL parser would rewrite (a leading `//` read as a
    /// host, dot segments removed) keep the `/` before them encoded, and
    /// still decode to their own bytes after a parse.
    #[test]
    fn a_path_a_parser_would_rewrite_keeps_its_slash_encoded() {
        let cases = [
            ("//x.sock", "unix:%2F/x.sock"),
            ("/../x.sock", "unix:%2F../x.sock"),
            ("/a/./b/../c.sock", "unix:/a%2F./b%2F../c.sock"),
            ("/a b/%?#.sock", "unix:/a%20b/%25%3F%23.sock"),
            // Every byte but letters, digits, `-._~` and `/`, as README says.
            ("/a:b@c~d_e-f.1.sock", "unix:/a%3Ab%40c~d_e-f.1.sock"),
        ];
        for (path, want) in cases {
            let path = UnixPath::File(path.into());
            let text = format!("unix:{}", url_text(&path, true));
            assert_eq!(text, want);
            let url = url::Url::parse(&text).unwrap();
            assert_eq!(url.as_str(), want);
            assert_eq!(from_url_text(url.path()), Some(path.clone()));
            let host = format!("http+unix://{}/", url_text(&path, false));
            let url = url::Url::parse(&host).unwrap();
            assert_eq!(from_url_text(url.host_str().unwrap()), Some(path));
        }
        let name = UnixPath::Abstract("a/../b".into());
        assert_eq!(url_text(&name, true), "@a/../b");
        assert_eq!(url_text(&name, false), "%40a%2F..%2Fb");
        assert_eq!(from_url_text("%40a%2F..%2Fb"), Some(name));
        // A broken escape names nothing; `%+1` is not hex.
        for bad in ["/a%2", "/a%zz", "/a%+1"] {
            assert_eq!(from_url_text(bad), None, "{bad}");
        }
    }
}

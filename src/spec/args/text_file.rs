//! A spec file's text, read with a cap and without waiting on a named
//! pipe that has no writer. `ListenArgs` reads `--listen-file` with it,
//! and the `listenspec` binary, which cannot reach the crate's private
//! items, includes this file for its `--spec` (`#[path]`): one reader for
//! both. It uses std and libc alone.

/// The most a spec file may hold: a spec is a few lines, and reading
/// `/dev/zero` or a log file by mistake must end in an error, not in memory
/// running out.
const MAX_FILE: u64 = 64 << 20;

/// A spec file's text, refused past [`MAX_FILE`] bytes. The size is
/// checked before the text, so a large binary file is called too large
/// rather than not UTF-8.
///
/// A named pipe is opened without waiting for a writer, then read to its
/// end: one no process writes to (a `--listen-file` left at a FIFO) is an
/// error at once, where the start-up waited for it forever, or read it as
/// empty and went on without its lines; process substitution
/// (`--listen-file <(…)`) has its writer, and is read whole.
pub(crate) fn read_capped(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let mut file = options.open(path)?.take(MAX_FILE + 1);
    let mut bytes = Vec::new();
    // A pipe's writer at work gives nothing for a moment: wait for it.
    while let Err(e) = file.read_to_end(&mut bytes) {
        if e.kind() != std::io::ErrorKind::WouldBlock {
            return Err(e);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    #[cfg(unix)]
    if bytes.is_empty()
        && std::os::unix::fs::FileTypeExt::is_fifo(&file.get_ref().metadata()?.file_type())
    {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "it is a pipe that gave nothing (no process wrote to it): start its writer first, or give a file",
        ));
    }
    if bytes.len() as u64 > MAX_FILE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("it is larger than the limit of {} MiB", MAX_FILE >> 20),
        ));
    }
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

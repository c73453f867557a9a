//! The machine, behind one door: every raw libc call of the crate and every
//! `unsafe` block is here, and nowhere else (`unsafe_code` is denied
//! everywhere but this module).
//!
//! Each function is a safe wrapper around one call, links its man page, and
//! returns `io::Result` (or a value that cannot fail); each `unsafe` block is
//! the call alone, with a `SAFETY:` line naming what the code around it
//! ensures. socket2's calls are safe already and stay where they are used.
//!
//! Only Unix has anything here: on other systems the crate makes no raw call.

#[cfg(unix)]
mod unix;

#[cfg(unix)]
pub(crate) use unix::*;

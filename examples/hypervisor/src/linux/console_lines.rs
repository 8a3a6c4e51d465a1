//! The guest's console output as lines, and the lines of the initramfs's init that the run
//! watches for (`ci/linux/init`, ARCHITECTURE.md "payload contract"). The bytes come from
//! the guest, so everything here is total: any bytes give lines, any line an answer.

use alloc::string::String;
use alloc::vec::Vec;

/// The line the init prints first (also timestamped through /dev/kmsg).
pub const INIT_MARKER: &str = "VMXRS-INIT-MARKER";
/// The start of the init's last line, `VMXRS-INIT-DONE status=<n>`.
pub const INIT_DONE: &str = "VMXRS-INIT-DONE status=";
/// The longest line kept; longer ones are cut (the rest of the line is dropped).
pub const MAX_LINE: usize = 4096;

/// Assembles bytes into lines: `\n` ends a line, `\r` is dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineAssembler {
    line: Vec<u8>,
}

impl LineAssembler {
    /// No bytes yet.
    pub const fn new() -> Self {
        Self { line: Vec::new() }
    }

    /// Takes one byte; returns the line it completes, if any (not UTF-8 bytes are replaced
    /// with U+FFFD).
    pub fn push(&mut self, byte: u8) -> Option<String> {
        match byte {
            b'\n' => Some(self.take()),
            b'\r' => None,
            _ => {
                if self.line.len() < MAX_LINE {
                    self.line.push(byte);
                }
                None
            }
        }
    }

    /// The unfinished last line, if there is one (at the end of a run).
    pub fn take_partial(&mut self) -> Option<String> {
        (!self.line.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.line).into_owned();
        self.line.clear();
        text
    }
}

/// Whether `line` is the init's marker (alone, or after a kernel timestamp).
pub fn is_init_marker(line: &str) -> bool {
    line.trim_end().ends_with(INIT_MARKER)
}

/// The status of an init `VMXRS-INIT-DONE status=<n>` line; `None` for any other line or
/// a status that is not a number.
pub fn init_done_status(line: &str) -> Option<i64> {
    let at = line.find(INIT_DONE)?;
    let rest = &line[at + INIT_DONE.len()..];
    let end = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
        .map_or(rest.len(), |(i, _)| i);
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use proptest::prelude::*;

    #[test]
    fn lines_and_partial_lines() {
        let mut a = LineAssembler::new();
        let mut lines = Vec::new();
        for &b in b"one\r\ntwo\nthr" {
            lines.extend(a.push(b));
        }
        assert_eq!(lines, ["one", "two"]);
        assert_eq!(a.take_partial().as_deref(), Some("thr"));
        assert_eq!(a.take_partial(), None);
        assert_eq!(a.push(0xFF), None);
        assert_eq!(a.push(b'\n').unwrap(), "\u{FFFD}");
    }

    #[test]
    fn long_lines_are_cut() {
        let mut a = LineAssembler::new();
        for _ in 0..MAX_LINE + 10 {
            assert_eq!(a.push(b'x'), None);
        }
        assert_eq!(a.push(b'\n').unwrap().len(), MAX_LINE);
    }

    #[test]
    fn init_lines() {
        assert!(is_init_marker("VMXRS-INIT-MARKER"));
        assert!(is_init_marker("[    1.473887] VMXRS-INIT-MARKER "));
        assert!(!is_init_marker("VMXRS-INIT-MARKER later"));
        assert_eq!(init_done_status("VMXRS-INIT-DONE status=0"), Some(0));
        assert_eq!(init_done_status("x VMXRS-INIT-DONE status=17 y"), Some(17));
        assert_eq!(init_done_status("VMXRS-INIT-DONE status=-1"), Some(-1));
        assert_eq!(init_done_status("VMXRS-INIT-DONE status=1-2"), Some(1));
        assert_eq!(init_done_status("VMXRS-INIT-DONE status="), None);
        assert_eq!(init_done_status("VMXRS-INIT-DONE status=x"), None);
        assert_eq!(
            init_done_status("VMXRS-INIT-DONE status=99999999999999999999"),
            None
        );
        assert_eq!(init_done_status("status=0"), None);
    }

    proptest! {
        /// Total: any bytes, any lines.
        #[test]
        fn any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut a = LineAssembler::new();
            for b in bytes {
                if let Some(line) = a.push(b) {
                    let _ = is_init_marker(&line);
                    let _ = init_done_status(&line);
                    prop_assert!(!line.contains('\n'));
                }
            }
            let _ = a.take_partial().map(|l| l.to_string());
        }

        #[test]
        fn any_done_suffix(s in "\\PC{0,40}") {
            let _ = init_done_status(&alloc::format!("{INIT_DONE}{s}"));
        }
    }
}

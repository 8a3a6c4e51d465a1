//! What `cargo ci` reads from a Linux bzImage and a `vmlinux` (Linux's x86 boot protocol,
//! `Documentation/x86/boot.rst`; the ELF-64 object file format): the setup header, the
//! compressed payload (located by the header's `payload_offset`/`payload_length`, boot
//! protocol 2.08+, and identified by its magic), the `kernel_version` string, and the PVH
//! entry point of an uncompressed `vmlinux` (the `Xen` ELF note of type
//! `XEN_ELFNOTE_PHYS32_ENTRY`).
//!
//! [`extract_vmlinux`] decompresses an XZ payload with the `xz` command on the host, so that
//! the guest starts the kernel at its PVH entry instead of spending most of its boot in the
//! bzImage's own decompressor at emulated speed.

use std::fmt;
use std::io::Write as _;
use std::ops::Range;
use std::path::Path;
use std::process::{Command, Stdio};

use object::Endianness;
use object::elf::{EM_X86_64, FileHeader64, PT_NOTE};
use object::read::elf::{FileHeader as _, ProgramHeader as _};

/// Offset of `setup_sects` in the image.
const SETUP_SECTS: usize = 0x1F1;
/// Offset of the `HdrS` signature.
const HEADER: usize = 0x202;
/// Offset of the boot protocol version.
const VERSION: usize = 0x206;
/// Offset of `kernel_version` (a pointer to a NUL-terminated string, minus 0x200).
const KERNEL_VERSION: usize = 0x20E;
/// Offset of `payload_offset` (from the start of the protected-mode code).
const PAYLOAD_OFFSET: usize = 0x248;
/// Offset of `payload_length`.
const PAYLOAD_LENGTH: usize = 0x24C;

/// The magic of an XZ stream (the XZ file format, section 2.1.1.1).
pub const XZ_MAGIC: [u8; 6] = [0xFD, b'7', b'z', b'X', b'Z', 0x00];
/// `XEN_ELFNOTE_PHYS32_ENTRY`: the note type of the 32-bit PVH entry point (Xen's public
/// `elfnote.h`).
pub const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;

/// What the payload's first bytes say its compression is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// XZ (`CONFIG_KERNEL_XZ`, Debian's choice).
    Xz,
    /// gzip (`CONFIG_KERNEL_GZIP`).
    Gzip,
    /// Zstandard.
    Zstd,
    /// LZMA (alone format).
    Lzma,
    /// bzip2.
    Bzip2,
    /// LZ4 (legacy frame).
    Lz4,
    /// LZO (lzop).
    Lzo,
    /// Anything else.
    Unknown,
}

impl Compression {
    /// Identifies a stream by its first bytes.
    pub fn of(stream: &[u8]) -> Self {
        let starts = |m: &[u8]| stream.starts_with(m);
        if starts(&XZ_MAGIC) {
            Compression::Xz
        } else if starts(&[0x1F, 0x8B]) {
            Compression::Gzip
        } else if starts(&[0x28, 0xB5, 0x2F, 0xFD]) {
            Compression::Zstd
        } else if starts(&[0x5D, 0x00]) {
            Compression::Lzma
        } else if starts(b"BZh") {
            Compression::Bzip2
        } else if starts(&[0x02, 0x21, 0x4C, 0x18]) {
            Compression::Lz4
        } else if starts(&[0x89, b'L', b'Z', b'O']) {
            Compression::Lzo
        } else {
            Compression::Unknown
        }
    }
}

/// Why a bzImage or a `vmlinux` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BzImageError {
    /// The file is shorter than the setup header.
    TooShort(usize),
    /// No `HdrS` at 0x202: not a bzImage.
    NoHeader,
    /// Boot protocol older than 2.08 (no payload fields).
    OldProtocol(u16),
    /// The payload's range lies outside the file.
    PayloadOutOfFile {
        /// Its start in the file.
        start: usize,
        /// Its length.
        len: usize,
    },
    /// The payload is not an XZ stream.
    NotXz(Compression),
    /// `kernel_version` is 0 or points outside the file.
    NoVersion,
    /// The `vmlinux` is not a little-endian x86-64 ELF64 file.
    NotElf(String),
    /// The `vmlinux` has no `Xen` note of type 18.
    NoPvhNote,
    /// The PVH note's descriptor is neither 4 nor 8 bytes.
    BadPvhNote(usize),
}

impl fmt::Display for BzImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BzImageError::TooShort(n) => write!(f, "{n} bytes: too short for a bzImage"),
            BzImageError::NoHeader => write!(f, "no HdrS signature at 0x202: not a bzImage"),
            BzImageError::OldProtocol(v) => {
                write!(f, "boot protocol {}.{:02} (2.08+ needed)", v >> 8, v & 0xFF)
            }
            BzImageError::PayloadOutOfFile { start, len } => {
                write!(f, "payload {start:#x}+{len:#x} outside the file")
            }
            BzImageError::NotXz(c) => write!(f, "the payload is not XZ but {c:?}"),
            BzImageError::NoVersion => write!(f, "no kernel_version string"),
            BzImageError::NotElf(e) => write!(f, "not an x86-64 ELF64 vmlinux: {e}"),
            BzImageError::NoPvhNote => {
                write!(
                    f,
                    "no Xen ELF note of type {XEN_ELFNOTE_PHYS32_ENTRY} (PVH entry)"
                )
            }
            BzImageError::BadPvhNote(n) => write!(f, "PVH entry note of {n} bytes (4 or 8)"),
        }
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Checks the setup header; returns the boot protocol version.
fn header(image: &[u8]) -> Result<u16, BzImageError> {
    if image.len() < 0x264 {
        return Err(BzImageError::TooShort(image.len()));
    }
    if &image[HEADER..HEADER + 4] != b"HdrS" {
        return Err(BzImageError::NoHeader);
    }
    Ok(u16_at(image, VERSION))
}

/// The compressed payload's byte range in `image` (it may end with the 4-byte
/// decompressed size that the kernel's build appends).
pub fn payload(image: &[u8]) -> Result<Range<usize>, BzImageError> {
    let version = header(image)?;
    if version < 0x208 {
        return Err(BzImageError::OldProtocol(version));
    }
    let setup_sects = match image[SETUP_SECTS] {
        0 => 4,
        n => usize::from(n),
    };
    let start = (setup_sects + 1) * 512 + u32_at(image, PAYLOAD_OFFSET) as usize;
    let len = u32_at(image, PAYLOAD_LENGTH) as usize;
    match start.checked_add(len) {
        Some(end) if end <= image.len() => Ok(start..end),
        _ => Err(BzImageError::PayloadOutOfFile { start, len }),
    }
}

/// The XZ stream's range in `image`: the payload, which must start with [`XZ_MAGIC`].
pub fn find_xz_stream(image: &[u8]) -> Result<Range<usize>, BzImageError> {
    let range = payload(image)?;
    match Compression::of(&image[range.clone()]) {
        Compression::Xz => Ok(range),
        other => Err(BzImageError::NotXz(other)),
    }
}

/// The `kernel_version` string (e.g. `6.1.0-57-amd64 (debian-kernel@...) #1 SMP ...`).
pub fn kernel_version(image: &[u8]) -> Result<String, BzImageError> {
    header(image)?;
    let ptr = usize::from(u16_at(image, KERNEL_VERSION));
    if ptr == 0 {
        return Err(BzImageError::NoVersion);
    }
    let s = image.get(ptr + 0x200..).ok_or(BzImageError::NoVersion)?;
    let end = s
        .iter()
        .position(|&b| b == 0)
        .ok_or(BzImageError::NoVersion)?;
    Ok(String::from_utf8_lossy(&s[..end]).into_owned())
}

/// The PVH entry point (a 32-bit physical address) of an uncompressed `vmlinux`.
pub fn pvh_entry(vmlinux: &[u8]) -> Result<u64, BzImageError> {
    let not_elf = |e: object::read::Error| BzImageError::NotElf(e.to_string());
    let header = FileHeader64::<Endianness>::parse(vmlinux).map_err(not_elf)?;
    let endian = header.endian().map_err(not_elf)?;
    if endian != Endianness::Little || header.e_machine(endian) != EM_X86_64 {
        return Err(BzImageError::NotElf("not little-endian x86-64".to_string()));
    }
    for ph in header.program_headers(endian, vmlinux).map_err(not_elf)? {
        if ph.p_type(endian) != PT_NOTE {
            continue;
        }
        let Some(mut notes) = ph.notes(endian, vmlinux).map_err(not_elf)? else {
            continue;
        };
        while let Some(note) = notes.next().map_err(not_elf)? {
            if note.name() == b"Xen" && note.n_type(endian) == XEN_ELFNOTE_PHYS32_ENTRY {
                let d = note.desc();
                return match d.len() {
                    4 => Ok(u64::from(u32_at(d, 0))),
                    8 => Ok(u64::from_le_bytes([
                        d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7],
                    ])),
                    n => Err(BzImageError::BadPvhNote(n)),
                };
            }
        }
    }
    Err(BzImageError::NoPvhNote)
}

/// Decompresses the XZ payload of the bzImage `image` into `out` with `xz -dc
/// --single-stream` (which ignores the size word after the stream) and checks that the
/// result has a PVH entry; returns the entry.
pub fn extract_vmlinux(image: &[u8], out: &Path) -> Result<u64, String> {
    let range = find_xz_stream(image).map_err(|e| e.to_string())?;
    let tmp = super::beside(out, "part");
    let file =
        std::fs::File::create(&tmp).map_err(|e| format!("creating {}: {e}", tmp.display()))?;
    let mut child = Command::new("xz")
        .args(["-dc", "--single-stream"])
        .stdin(Stdio::piped())
        .stdout(file)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running xz (apt-get install -y xz-utils): {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(&image[range])
            .map_err(|e| format!("feeding xz: {e}"))?;
    }
    let result = child
        .wait_with_output()
        .map_err(|e| format!("waiting for xz: {e}"))?;
    if !result.status.success() {
        return Err(format!(
            "xz -dc --single-stream failed ({}): {}",
            result.status,
            String::from_utf8_lossy(&result.stderr).trim()
        ));
    }
    let vmlinux = std::fs::read(&tmp).map_err(|e| format!("reading {}: {e}", tmp.display()))?;
    let entry = pvh_entry(&vmlinux).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, out).map_err(|e| format!("renaming to {}: {e}", out.display()))?;
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A synthetic bzImage: setup_sects 1 (so the protected-mode code starts at 1024), the
    /// payload 16 bytes into it.
    fn image(payload: &[u8], version: u16) -> Vec<u8> {
        let mut b = vec![0u8; 1024 + 16];
        b[SETUP_SECTS] = 1;
        b[HEADER..HEADER + 4].copy_from_slice(b"HdrS");
        b[VERSION..VERSION + 2].copy_from_slice(&version.to_le_bytes());
        b[KERNEL_VERSION..KERNEL_VERSION + 2].copy_from_slice(&0x100u16.to_le_bytes());
        b[0x300..0x306].copy_from_slice(b"6.1.0\0");
        b[PAYLOAD_OFFSET..PAYLOAD_OFFSET + 4].copy_from_slice(&16u32.to_le_bytes());
        let len = payload.len() as u32;
        b[PAYLOAD_LENGTH..PAYLOAD_LENGTH + 4].copy_from_slice(&len.to_le_bytes());
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn finds_the_xz_stream() {
        let mut p = XZ_MAGIC.to_vec();
        p.extend_from_slice(&[1, 2, 3, 4, 9, 9, 9, 9]);
        let b = image(&p, 0x20F);
        assert_eq!(find_xz_stream(&b), Ok(1040..1040 + p.len()));
        assert_eq!(kernel_version(&b).as_deref(), Ok("6.1.0"));
    }

    #[test]
    fn setup_sects_zero_means_four() {
        let mut b = image(&XZ_MAGIC, 0x20F);
        b[SETUP_SECTS] = 0;
        // Now the payload would start at 5 * 512 + 16, past the end.
        assert_eq!(
            find_xz_stream(&b),
            Err(BzImageError::PayloadOutOfFile {
                start: 2576,
                len: 6
            })
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(find_xz_stream(&[0; 10]), Err(BzImageError::TooShort(10)));
        let mut b = image(&XZ_MAGIC, 0x20F);
        b[HEADER] = b'X';
        assert_eq!(find_xz_stream(&b), Err(BzImageError::NoHeader));
        let b = image(&XZ_MAGIC, 0x206);
        assert_eq!(find_xz_stream(&b), Err(BzImageError::OldProtocol(0x206)));
        let b = image(&[0x1F, 0x8B, 8, 0], 0x20F);
        assert_eq!(
            find_xz_stream(&b),
            Err(BzImageError::NotXz(Compression::Gzip))
        );
    }

    #[test]
    fn compression_magics() {
        assert_eq!(
            Compression::of(&[0x28, 0xB5, 0x2F, 0xFD]),
            Compression::Zstd
        );
        assert_eq!(Compression::of(b"BZh9"), Compression::Bzip2);
        assert_eq!(Compression::of(&[0x5D, 0, 0]), Compression::Lzma);
        assert_eq!(Compression::of(&[]), Compression::Unknown);
    }

    /// A minimal ELF64 with one PT_NOTE segment holding `notes`.
    fn elf_with_notes(notes: &[u8]) -> Vec<u8> {
        let mut e = vec![0u8; 64 + 56];
        e[..4].copy_from_slice(b"\x7fELF");
        e[4] = 2; // ELFCLASS64
        e[5] = 1; // little endian
        e[6] = 1;
        e[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        e[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
        e[20..24].copy_from_slice(&1u32.to_le_bytes());
        e[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        e[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        e[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        e[56..58].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        let ph = 64;
        e[ph..ph + 4].copy_from_slice(&PT_NOTE.to_le_bytes());
        e[ph + 8..ph + 16].copy_from_slice(&120u64.to_le_bytes()); // p_offset
        e[ph + 32..ph + 40].copy_from_slice(&(notes.len() as u64).to_le_bytes());
        e[ph + 40..ph + 48].copy_from_slice(&(notes.len() as u64).to_le_bytes());
        e[ph + 48..ph + 56].copy_from_slice(&4u64.to_le_bytes()); // p_align
        e.extend_from_slice(notes);
        e
    }

    fn note(name: &[u8], ty: u32, desc: &[u8]) -> Vec<u8> {
        let mut n = Vec::new();
        n.extend_from_slice(&(name.len() as u32 + 1).to_le_bytes());
        n.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        n.extend_from_slice(&ty.to_le_bytes());
        n.extend_from_slice(name);
        n.push(0);
        while n.len() % 4 != 0 {
            n.push(0);
        }
        n.extend_from_slice(desc);
        while n.len() % 4 != 0 {
            n.push(0);
        }
        n
    }

    #[test]
    fn pvh_note() {
        let mut notes = note(b"GNU", 3, &[1, 2, 3, 4]);
        notes.extend(note(b"Xen", 17, &[0; 8]));
        notes.extend(note(b"Xen", 18, &0x0100_0A40u64.to_le_bytes()));
        assert_eq!(pvh_entry(&elf_with_notes(&notes)), Ok(0x0100_0A40));
        let four = note(b"Xen", 18, &0x0200_0000u32.to_le_bytes());
        assert_eq!(pvh_entry(&elf_with_notes(&four)), Ok(0x0200_0000));
        let odd = note(b"Xen", 18, &[1, 2]);
        assert_eq!(
            pvh_entry(&elf_with_notes(&odd)),
            Err(BzImageError::BadPvhNote(2))
        );
        let none = note(b"Linux", 18, &[0; 8]);
        assert_eq!(
            pvh_entry(&elf_with_notes(&none)),
            Err(BzImageError::NoPvhNote)
        );
        assert!(matches!(pvh_entry(b"MZ"), Err(BzImageError::NotElf(_))));
    }

    proptest! {
        #[test]
        fn never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..0x400)) {
            let _ = find_xz_stream(&bytes);
            let _ = kernel_version(&bytes);
            let _ = pvh_entry(&bytes);
        }

        #[test]
        fn never_panic_with_a_header(
            setup in any::<u8>(), off in any::<u32>(), len in any::<u32>(), kv in any::<u16>()
        ) {
            let mut b = image(&XZ_MAGIC, 0x20F);
            b[SETUP_SECTS] = setup;
            b[PAYLOAD_OFFSET..PAYLOAD_OFFSET + 4].copy_from_slice(&off.to_le_bytes());
            b[PAYLOAD_LENGTH..PAYLOAD_LENGTH + 4].copy_from_slice(&len.to_le_bytes());
            b[KERNEL_VERSION..KERNEL_VERSION + 2].copy_from_slice(&kv.to_le_bytes());
            if let Ok(r) = find_xz_stream(&b) {
                prop_assert!(r.end <= b.len());
            }
            let _ = kernel_version(&b);
        }
    }
}

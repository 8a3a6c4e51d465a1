//! The "new ASCII" (`newc`, magic `070701`) cpio format, the format of Linux's initramfs
//! (Linux's `Documentation/driver-api/early-userspace/buffer-format.rst`): a writer for the
//! archives `cargo ci` builds and a reader used to check them.
//!
//! Each entry is a 110-byte header (the magic, then 13 fields of 8 upper-case hexadecimal
//! digits: ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
//! rdevminor, namesize, check), the NUL-terminated name, padding to a multiple of 4 bytes,
//! the data, padding to a multiple of 4 bytes. The archive ends with an entry named
//! `TRAILER!!!`. Symbolic links keep their target as data; device nodes carry their numbers in
//! rdevmajor/rdevminor.

use std::fmt;

/// The header magic of the newc format (no checksum).
pub const MAGIC: &[u8; 6] = b"070701";
/// Bytes of a header: the magic and 13 eight-digit fields.
pub const HEADER_LEN: usize = 6 + 13 * 8;
/// The name of the last entry.
pub const TRAILER: &str = "TRAILER!!!";

/// File type bits of `mode` (`S_IFMT` and its values).
pub const S_IFMT: u32 = 0o170000;
/// A directory.
pub const S_IFDIR: u32 = 0o040000;
/// A regular file.
pub const S_IFREG: u32 = 0o100000;
/// A symbolic link.
pub const S_IFLNK: u32 = 0o120000;
/// A character device.
pub const S_IFCHR: u32 = 0o020000;

/// One entry as the reader returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The path, without a leading `/`.
    pub name: String,
    /// Inode number.
    pub ino: u32,
    /// File type and permissions.
    pub mode: u32,
    /// Link count.
    pub nlink: u32,
    /// Device numbers of a device node.
    pub rdev: (u32, u32),
    /// The data (a file's contents, a link's target).
    pub data: Vec<u8>,
}

/// Why an archive could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpioError {
    /// A name is empty, starts with `/`, contains a NUL byte, or is the trailer's name.
    BadName(String),
    /// The same name twice.
    Duplicate(String),
    /// A name or data longer than the 32-bit size fields allow.
    TooLarge(String),
    /// The archive ends inside an entry (the byte offset where the entry starts).
    Truncated(usize),
    /// No `070701` magic at this offset.
    BadMagic(usize),
    /// A header field at this offset is not eight hexadecimal digits.
    BadField(usize),
    /// The name at this offset is not NUL-terminated UTF-8.
    BadEntryName(usize),
    /// The archive has no trailer.
    NoTrailer,
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpioError::BadName(n) => write!(f, "cpio: bad entry name {n:?}"),
            CpioError::Duplicate(n) => write!(f, "cpio: entry {n:?} added twice"),
            CpioError::TooLarge(n) => write!(f, "cpio: entry {n:?} is over 4 GiB"),
            CpioError::Truncated(o) => write!(f, "cpio: archive ends inside the entry at {o}"),
            CpioError::BadMagic(o) => write!(f, "cpio: no newc magic at offset {o}"),
            CpioError::BadField(o) => write!(f, "cpio: header field at offset {o} is not hex"),
            CpioError::BadEntryName(o) => write!(f, "cpio: bad name at offset {o}"),
            CpioError::NoTrailer => write!(f, "cpio: no {TRAILER} entry"),
        }
    }
}

/// Builds a newc archive in memory: entries in the order added (parents before their
/// contents, as Linux creates each path when it meets it), mtime 0, uid/gid 0, inodes
/// numbered from 1.
#[derive(Debug, Default)]
pub struct Writer {
    out: Vec<u8>,
    names: std::collections::BTreeSet<String>,
    next_ino: u32,
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

impl Writer {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    fn entry(
        &mut self,
        name: &str,
        mode: u32,
        nlink: u32,
        rdev: (u32, u32),
        data: &[u8],
    ) -> Result<(), CpioError> {
        if name.is_empty() || name.starts_with('/') || name.contains('\0') || name == TRAILER {
            return Err(CpioError::BadName(name.to_string()));
        }
        if !self.names.insert(name.to_string()) {
            return Err(CpioError::Duplicate(name.to_string()));
        }
        self.next_ino += 1;
        let ino = self.next_ino;
        self.raw(name, ino, mode, nlink, rdev, data)
    }

    fn raw(
        &mut self,
        name: &str,
        ino: u32,
        mode: u32,
        nlink: u32,
        rdev: (u32, u32),
        data: &[u8],
    ) -> Result<(), CpioError> {
        let too_large = || CpioError::TooLarge(name.to_string());
        let filesize = u32::try_from(data.len()).map_err(|_| too_large())?;
        let namesize = u32::try_from(name.len() + 1).map_err(|_| too_large())?;
        let fields = [
            ino, mode, 0, 0, nlink, 0, filesize, 0, 0, rdev.0, rdev.1, namesize, 0,
        ];
        self.out.extend_from_slice(MAGIC);
        for v in fields {
            self.out.extend_from_slice(format!("{v:08X}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        pad4(&mut self.out);
        self.out.extend_from_slice(data);
        pad4(&mut self.out);
        Ok(())
    }

    /// A directory (`mode` holds the permissions).
    pub fn dir(&mut self, name: &str, perm: u32) -> Result<(), CpioError> {
        self.entry(name, S_IFDIR | (perm & 0o7777), 2, (0, 0), &[])
    }

    /// A regular file.
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) -> Result<(), CpioError> {
        self.entry(name, S_IFREG | (perm & 0o7777), 1, (0, 0), data)
    }

    /// A symbolic link to `target`.
    pub fn symlink(&mut self, name: &str, target: &str) -> Result<(), CpioError> {
        self.entry(name, S_IFLNK | 0o777, 1, (0, 0), target.as_bytes())
    }

    /// A character device node with numbers `major:minor`.
    pub fn char_dev(
        &mut self,
        name: &str,
        perm: u32,
        major: u32,
        minor: u32,
    ) -> Result<(), CpioError> {
        self.entry(name, S_IFCHR | (perm & 0o7777), 1, (major, minor), &[])
    }

    /// Appends the trailer and returns the archive.
    pub fn finish(mut self) -> Vec<u8> {
        // The trailer's name is fixed and its data empty: `raw` cannot fail on it.
        let _ = self.raw(TRAILER, 0, 0, 1, (0, 0), &[]);
        self.out
    }
}

fn field(archive: &[u8], at: usize) -> Result<u32, CpioError> {
    let digits = archive.get(at..at + 8).ok_or(CpioError::Truncated(at))?;
    let text = std::str::from_utf8(digits).map_err(|_| CpioError::BadField(at))?;
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CpioError::BadField(at));
    }
    u32::from_str_radix(text, 16).map_err(|_| CpioError::BadField(at))
}

fn align4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// Reads a newc archive up to its trailer (total: any input gives entries or an error).
pub fn parse(archive: &[u8]) -> Result<Vec<Entry>, CpioError> {
    let mut entries = Vec::new();
    let mut at = 0usize;
    loop {
        let start = at;
        let header = archive
            .get(at..at + HEADER_LEN)
            .ok_or(CpioError::Truncated(start))?;
        if &header[..6] != MAGIC {
            return Err(CpioError::BadMagic(start));
        }
        let f = |i: usize| field(archive, start + 6 + 8 * i);
        let (ino, mode, nlink) = (f(0)?, f(1)?, f(4)?);
        let filesize = f(6)? as usize;
        let rdev = (f(9)?, f(10)?);
        let namesize = f(11)? as usize;
        let name_at = start + HEADER_LEN;
        let raw_name = archive
            .get(name_at..name_at + namesize)
            .ok_or(CpioError::Truncated(start))?;
        let name = match raw_name.split_last() {
            Some((0, name)) => std::str::from_utf8(name)
                .map_err(|_| CpioError::BadEntryName(name_at))?
                .to_string(),
            _ => return Err(CpioError::BadEntryName(name_at)),
        };
        let data_at = align4(name_at + namesize);
        let data = archive
            .get(data_at..data_at + filesize)
            .ok_or(CpioError::Truncated(start))?
            .to_vec();
        at = align4(data_at + filesize);
        if name == TRAILER {
            return Ok(entries);
        }
        entries.push(Entry {
            name,
            ino,
            mode,
            nlink,
            rdev,
            data,
        });
        if at >= archive.len() {
            return Err(CpioError::NoTrailer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Vec<u8> {
        let mut w = Writer::new();
        w.dir("bin", 0o755).unwrap();
        w.file("bin/busybox", 0o755, b"\x7fELF12345").unwrap();
        w.symlink("bin/sh", "busybox").unwrap();
        w.dir("dev", 0o755).unwrap();
        w.char_dev("dev/console", 0o600, 5, 1).unwrap();
        w.finish()
    }

    #[test]
    fn header_fields_and_alignment() {
        let a = sample();
        // First entry: "bin", a directory, inode 1, nlink 2, namesize 4.
        assert_eq!(&a[..6], b"070701");
        assert_eq!(&a[6..14], b"00000001");
        assert_eq!(&a[14..22], b"000041ED");
        assert_eq!(&a[38..46], b"00000002");
        assert_eq!(&a[6 + 11 * 8..6 + 12 * 8], b"00000004");
        assert_eq!(&a[HEADER_LEN..HEADER_LEN + 4], b"bin\0");
        // 110 + 4 = 114, padded to 116: the next header starts there.
        assert_eq!(&a[114..116], b"\0\0");
        assert_eq!(&a[116..122], b"070701");
        assert_eq!(a.len() % 4, 0);
    }

    #[test]
    fn trailer_ends_the_archive() {
        let a = sample();
        let tail = &a[a.len() - 124..];
        assert_eq!(&tail[..6], MAGIC);
        assert_eq!(&tail[HEADER_LEN..HEADER_LEN + 11], b"TRAILER!!!\0");
        assert_eq!(&tail[HEADER_LEN + 11..], &[0, 0, 0]);
    }

    #[test]
    fn parse_back() {
        let e = parse(&sample()).unwrap();
        let names: Vec<_> = e.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            ["bin", "bin/busybox", "bin/sh", "dev", "dev/console"]
        );
        assert_eq!(e[1].mode, S_IFREG | 0o755);
        assert_eq!(e[1].data, b"\x7fELF12345");
        assert_eq!(e[2].mode & S_IFMT, S_IFLNK);
        assert_eq!(e[2].data, b"busybox");
        assert_eq!(e[4].mode, S_IFCHR | 0o600);
        assert_eq!(e[4].rdev, (5, 1));
        assert_eq!(e.iter().map(|e| e.ino).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn refuses_bad_names() {
        let mut w = Writer::new();
        assert_eq!(w.dir("/abs", 0o755), Err(CpioError::BadName("/abs".into())));
        assert_eq!(w.dir("", 0o755), Err(CpioError::BadName(String::new())));
        assert_eq!(
            w.file(TRAILER, 0o644, b""),
            Err(CpioError::BadName(TRAILER.into()))
        );
        w.dir("x", 0o755).unwrap();
        assert_eq!(w.dir("x", 0o755), Err(CpioError::Duplicate("x".into())));
    }

    #[test]
    fn reader_errors() {
        let a = sample();
        assert_eq!(parse(&a[..50]), Err(CpioError::Truncated(0)));
        let mut bad = a.clone();
        bad[0] = b'1';
        assert_eq!(parse(&bad), Err(CpioError::BadMagic(0)));
        let mut bad = a.clone();
        bad[7] = b'g';
        assert_eq!(parse(&bad), Err(CpioError::BadField(6)));
        assert_eq!(parse(&a[..a.len() - 124]), Err(CpioError::NoTrailer));
        assert_eq!(parse(&[]), Err(CpioError::Truncated(0)));
    }

    proptest! {
        #[test]
        fn files_round_trip(files in proptest::collection::btree_map(
            "[a-z]{1,12}", proptest::collection::vec(any::<u8>(), 0..64), 0..8)) {
            let mut w = Writer::new();
            for (n, d) in &files {
                w.file(n, 0o644, d).unwrap();
            }
            let a = w.finish();
            prop_assert_eq!(a.len() % 4, 0);
            let e = parse(&a).unwrap();
            prop_assert_eq!(e.len(), files.len());
            for (entry, (n, d)) in e.iter().zip(&files) {
                prop_assert_eq!(&entry.name, n);
                prop_assert_eq!(&entry.data, d);
            }
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse(&bytes);
        }
    }
}

//! Kconfig fragments and `.config` files (Linux's `Documentation/kbuild/kconfig.rst`):
//! `CONFIG_NAME=value` sets an option, `# CONFIG_NAME is not set` (or `=n`, or no line at
//! all in a `.config`) leaves it off; other `#` lines are comments. [`check`] says which
//! options of a fragment the final `.config` does not have as the fragment asks (Kconfig
//! drops options whose dependencies are missing, silently).

use std::collections::BTreeMap;
use std::fmt;

/// An option's state: `Some(value)` when set (`y`, a number, a quoted string), `None` when
/// not set.
pub type Setting = Option<String>;

fn is_option(name: &str) -> bool {
    name.starts_with("CONFIG_") && !name.contains(' ')
}

/// Reads `text` into option name -> setting (later lines win, as in Kconfig).
pub fn parse(text: &str) -> BTreeMap<String, Setting> {
    let mut map = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("# ") {
            if let Some(name) = rest.strip_suffix(" is not set")
                && is_option(name)
            {
                map.insert(name.to_string(), None);
            }
        } else if let Some((name, value)) = line.split_once('=')
            && is_option(name)
        {
            let setting = (value != "n").then(|| value.to_string());
            map.insert(name.to_string(), setting);
        }
    }
    map
}

/// An option of the fragment that the `.config` does not have as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The option (`CONFIG_...`).
    pub name: String,
    /// What the fragment asks.
    pub wanted: Setting,
    /// What the `.config` has.
    pub got: Setting,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |s: &Setting| s.clone().unwrap_or_else(|| "not set".to_string());
        write!(
            f,
            "{}: fragment wants {}, .config has {}",
            self.name,
            show(&self.wanted),
            show(&self.got)
        )
    }
}

/// The options of `fragment` whose setting in `config` differs (an option missing from the
/// `.config` counts as not set).
pub fn check(fragment: &str, config: &str) -> Vec<Mismatch> {
    let have = parse(config);
    parse(fragment)
        .into_iter()
        .filter_map(|(name, wanted)| {
            let got = have.get(&name).cloned().flatten();
            (got != wanted).then_some(Mismatch { name, wanted, got })
        })
        .collect()
}

/// A 64-bit FNV-1a hash (Fowler, Noll, Vo), in 16 hexadecimal digits: the cache key of a
/// fragment or a script (stable across Rust versions, unlike `DefaultHasher`).
pub fn fnv1a_hex(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_all_forms() {
        let m = parse(
            "# comment\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=4\nCONFIG_D=\"x y\"\n\
             CONFIG_E=n\nCONFIG_A=m\nnot_config=1\n",
        );
        assert_eq!(m.len(), 5);
        assert_eq!(m["CONFIG_A"].as_deref(), Some("m"));
        assert_eq!(m["CONFIG_B"], None);
        assert_eq!(m["CONFIG_C"].as_deref(), Some("4"));
        assert_eq!(m["CONFIG_D"].as_deref(), Some("\"x y\""));
        assert_eq!(m["CONFIG_E"], None);
    }

    #[test]
    fn check_reports_what_did_not_stick() {
        let fragment = "CONFIG_SMP=y\nCONFIG_NR_CPUS=4\nCONFIG_PVH=y\n# CONFIG_ACPI is not set\n\
                        # CONFIG_X is not set\n";
        let config = "CONFIG_SMP=y\nCONFIG_NR_CPUS=8\nCONFIG_ACPI=y\n# CONFIG_PVH is not set\n";
        let bad = check(fragment, config);
        let names: Vec<_> = bad.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["CONFIG_ACPI", "CONFIG_NR_CPUS", "CONFIG_PVH"]);
        assert_eq!(bad[1].got.as_deref(), Some("8"));
        assert_eq!(
            bad[2].to_string(),
            "CONFIG_PVH: fragment wants y, .config has not set"
        );
        assert!(check(fragment, "CONFIG_SMP=y\nCONFIG_NR_CPUS=4\nCONFIG_PVH=y\n").is_empty());
    }

    #[test]
    fn the_repository_fragment_is_well_formed() {
        let fragment = include_str!("../../linux/small.config");
        let m = parse(fragment);
        for name in [
            "CONFIG_64BIT",
            "CONFIG_SMP",
            "CONFIG_X86_MPPARSE",
            "CONFIG_PVH",
            "CONFIG_SERIAL_8250_CONSOLE",
            "CONFIG_BLK_DEV_INITRD",
            "CONFIG_DEVTMPFS_MOUNT",
            "CONFIG_RELOCATABLE",
        ] {
            assert_eq!(m[name].as_deref(), Some("y"), "{name}");
        }
        assert_eq!(m["CONFIG_NR_CPUS"].as_deref(), Some("4"));
        assert_eq!(m["CONFIG_ACPI"], None);
        // Every option line is preceded by a comment saying why (a comment block or an
        // option line right after one).
        let mut after_comment = false;
        for line in fragment.lines() {
            if line.starts_with("CONFIG_") || line.ends_with(" is not set") {
                assert!(after_comment, "{line} has no comment above it");
            } else {
                after_comment = line.starts_with('#');
            }
        }
    }

    #[test]
    fn fnv_known_values() {
        assert_eq!(fnv1a_hex(b""), "cbf29ce484222325");
        assert_eq!(fnv1a_hex(b"a"), "af63dc4c8601ec8c");
    }

    proptest! {
        #[test]
        fn a_fragment_checks_clean_against_itself(
            opts in proptest::collection::btree_map("[A-Z0-9_]{1,10}", proptest::option::of("[y0-9]{1,3}"), 0..10)
        ) {
            let text: String = opts.iter().map(|(n, v)| match v {
                Some(v) => format!("CONFIG_{n}={v}\n"),
                None => format!("# CONFIG_{n} is not set\n"),
            }).collect();
            prop_assert!(check(&text, &text).is_empty());
            prop_assert_eq!(parse(&text).len(), opts.len());
        }
    }
}

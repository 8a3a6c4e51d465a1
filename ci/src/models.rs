//! The Bochs CPU models `cargo ci` boots (`cpu: model=` in the bochsrc): the Intel models of
//! Bochs 2.7 with VMX, as measured in shared/bochs/models.tsv. A name outside this list is
//! refused before anything is built ([`find`]).

use std::fmt;

/// One Bochs CPU model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    /// The name Bochs knows it by (`cpu: model=NAME`).
    pub name: &'static str,
    /// What sets it apart for VMX code.
    pub about: &'static str,
}

/// Every model `--model` accepts, newest first.
pub const KNOWN: &[Model] = &[
    Model {
        name: "corei7_icelake_u",
        about: "EPT, VPID, unrestricted guest, preemption timer, MTF, PML, APIC virtualization; \
                the strictest entry checks",
    },
    Model {
        name: "tigerlake",
        about: "as corei7_icelake_u, but skips the deliver-error-code consistency check",
    },
    Model {
        name: "corei7_skylake_x",
        about: "EPT, VPID, unrestricted guest, preemption timer; no MTF",
    },
    Model {
        name: "corei3_cnl",
        about: "EPT, VPID, unrestricted guest; no PML, no APIC virtualization",
    },
    Model {
        name: "broadwell_ult",
        about: "EPT, VPID, unrestricted guest; no PML",
    },
    Model {
        name: "corei7_haswell_4770",
        about: "EPT, VPID, unrestricted guest; no PML, no RDSEED exiting",
    },
    Model {
        name: "corei7_sandy_bridge_2600k",
        about: "EPT, VPID; no 1-GiB EPT pages, no EPT A/D bits, no VMCS shadowing",
    },
    Model {
        name: "core2_penryn_t9600",
        about: "VMX without secondary controls: no EPT, no VPID, no preemption timer",
    },
];

/// The models `cargo ci test` runs the suite on: the strictest, an older one with EPT,
/// and one without EPT.
pub const SUITE_MODELS: &[&str] = &[
    "corei7_icelake_u",
    "corei7_sandy_bridge_2600k",
    "core2_penryn_t9600",
];

/// A `--model` name that is not in [`KNOWN`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownModel {
    /// The name given.
    pub name: String,
}

impl fmt::Display for UnknownModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown model {:?}; known models: {}",
            self.name,
            names().join(", ")
        )
    }
}

impl std::error::Error for UnknownModel {}

/// The names of [`KNOWN`], in order.
pub fn names() -> Vec<&'static str> {
    KNOWN.iter().map(|m| m.name).collect()
}

/// The known model called `name` (exact match).
pub fn find(name: &str) -> Result<&'static Model, UnknownModel> {
    KNOWN
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| UnknownModel {
            name: name.to_string(),
        })
}

/// The model list for `--help`: one line per model, name then what sets it apart.
pub fn help_list() -> String {
    let width = KNOWN.iter().map(|m| m.name.len()).max().unwrap_or(0);
    KNOWN
        .iter()
        .map(|m| format!("  {:width$}  {}", m.name, m.about))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_and_default_models_are_known() {
        for m in SUITE_MODELS {
            assert_eq!(find(m).map(|k| k.name), Ok(*m));
        }
        assert!(find(crate::run::DEFAULT_MODEL).is_ok());
    }

    #[test]
    fn names_are_unique_and_fit_the_boot_sector() {
        for (i, m) in KNOWN.iter().enumerate() {
            assert!(m.name.len() < crate::image::PARAM_MODEL_LEN, "{}", m.name);
            assert!(KNOWN[..i].iter().all(|o| o.name != m.name), "{}", m.name);
        }
    }

    #[test]
    fn unknown_model_names_itself_and_every_known_model() {
        let e = find("pentium_mmx").unwrap_err();
        assert_eq!(e.name, "pentium_mmx");
        let text = e.to_string();
        assert!(text.starts_with("unknown model \"pentium_mmx\""), "{text}");
        for m in KNOWN {
            assert!(text.contains(m.name), "{text} lacks {}", m.name);
        }
        // Exact names only: a prefix or a different case is not a model.
        assert!(find("corei7").is_err());
        assert!(find("COREI7_ICELAKE_U").is_err());
    }

    #[test]
    fn help_list_has_a_line_per_model() {
        let list = help_list();
        assert_eq!(list.lines().count(), KNOWN.len());
        for (line, m) in list.lines().zip(KNOWN) {
            assert!(line.trim_start().starts_with(m.name));
            assert!(line.ends_with(m.about));
        }
    }
}

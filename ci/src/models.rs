//! The Bochs CPU models `cargo ci` boots (`cpu: model=` in the bochsrc): the Intel models of
//! Bochs 2.7 with VMX, as measured in shared/bochs/models.tsv ([`KNOWN`]), and the newest
//! Intel models of the Bochs 3.0 that `cargo ci` builds from source ([`KNOWN_BOCHS_3`], see
//! `bochs3.rs`). A name outside these lists is refused before anything is built ([`find`],
//! [`find_for`]).

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

/// The models `--bochs 3.0` accepts: the newest Intel models of Bochs 3.0 (it added
/// `sapphire_rapids` and `arrow_lake`), newest first. Bochs 3.0 processes posted interrupts
/// and raises MTF exits, which Bochs 2.7 does not.
pub const KNOWN_BOCHS_3: &[Model] = &[
    Model {
        name: "arrow_lake",
        about: "the newest Intel model of Bochs 3.0: posted interrupts, MTF, PML, APIC \
                virtualization, IA32_SPEC_CTRL virtualization; IA32_VMX_BASIC bit 56 set",
    },
    Model {
        name: "sapphire_rapids",
        about: "posted interrupts, MTF, PML, APIC virtualization, IA32_SPEC_CTRL \
                virtualization; IA32_VMX_BASIC bit 56 set",
    },
    Model {
        name: "tigerlake",
        about: "posted interrupts, MTF, PML, APIC virtualization; IA32_VMX_BASIC bit 56 set",
    },
    Model {
        name: "corei7_icelake_u",
        about: "posted interrupts, MTF, PML, APIC virtualization; IA32_VMX_BASIC bit 56 clear: \
                the strictest entry checks",
    },
];

/// Which Bochs boots the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Emulator {
    /// Debian 12's `bochs` package (2.7), installed with apt-get.
    #[value(name = "2.7")]
    Bochs27,
    /// Bochs 3.0 built from Debian's source tarball into `~/.cache/vmx-rs/bochs-3.0/`.
    #[value(name = "3.0")]
    Bochs30,
}

impl Emulator {
    /// The models this Bochs accepts.
    pub fn models(self) -> &'static [Model] {
        match self {
            Emulator::Bochs27 => KNOWN,
            Emulator::Bochs30 => KNOWN_BOCHS_3,
        }
    }

    /// The model parameter written into the boot sector (what the test kernel's
    /// `Env::model()` returns): the model name under Bochs 2.7, `bochs3/NAME` under
    /// Bochs 3.0, so that a scenario knows which emulator (and which capability MSRs) it
    /// runs on.
    pub fn boot_model(self, model: &str) -> String {
        match self {
            Emulator::Bochs27 => model.to_string(),
            Emulator::Bochs30 => format!("{BOCHS_3_PREFIX}{model}"),
        }
    }

    /// `2.7` or `3.0`.
    pub fn version(self) -> &'static str {
        match self {
            Emulator::Bochs27 => "2.7",
            Emulator::Bochs30 => "3.0",
        }
    }
}

/// The prefix of the boot-sector model parameter under Bochs 3.0 ([`Emulator::boot_model`]).
pub const BOCHS_3_PREFIX: &str = "bochs3/";

/// The suite runs of `cargo ci test`: on Bochs 2.7 the strictest model, an older one with
/// EPT and one without EPT; on Bochs 3.0 its newest Intel model (posted interrupts).
pub const SUITE_RUNS: &[(Emulator, &str)] = &[
    (Emulator::Bochs27, "corei7_icelake_u"),
    (Emulator::Bochs27, "corei7_sandy_bridge_2600k"),
    (Emulator::Bochs27, "core2_penryn_t9600"),
    (Emulator::Bochs30, "arrow_lake"),
];

/// The names of the runs in [`SUITE_RUNS`] as their boot-sector model parameter
/// (`corei7_icelake_u`, ..., `bochs3/arrow_lake`).
pub fn suite_run_names() -> Vec<String> {
    SUITE_RUNS.iter().map(|(e, m)| e.boot_model(m)).collect()
}

/// A `--model` name that is not in [`KNOWN`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownModel {
    /// The name given.
    pub name: String,
}

impl fmt::Display for UnknownModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bochs_3: Vec<&str> = KNOWN_BOCHS_3.iter().map(|m| m.name).collect();
        write!(
            f,
            "unknown model {:?}; known models: {} (with --bochs 3.0: {})",
            self.name,
            names().join(", "),
            bochs_3.join(", ")
        )
    }
}

impl std::error::Error for UnknownModel {}

/// The names of [`KNOWN`], in order.
pub fn names() -> Vec<&'static str> {
    KNOWN.iter().map(|m| m.name).collect()
}

/// The known Bochs 2.7 model called `name` (exact match).
pub fn find(name: &str) -> Result<&'static Model, UnknownModel> {
    KNOWN
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| UnknownModel {
            name: name.to_string(),
        })
}

/// The model called `name` in [`KNOWN`] or else in [`KNOWN_BOCHS_3`] (what `--model`
/// accepts before `--bochs` is looked at; [`find_for`] then checks the pair).
pub fn find_any(name: &str) -> Result<&'static Model, UnknownModel> {
    find(name).or_else(|e| KNOWN_BOCHS_3.iter().find(|m| m.name == name).ok_or(e))
}

/// The model called `name` that `emulator` accepts (exact match).
pub fn find_for(emulator: Emulator, name: &str) -> Result<&'static Model, UnknownModelFor> {
    emulator
        .models()
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| UnknownModelFor {
            emulator,
            name: name.to_string(),
        })
}

/// A `--model` name that the chosen `--bochs` does not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownModelFor {
    /// The Bochs chosen.
    pub emulator: Emulator,
    /// The name given.
    pub name: String,
}

impl fmt::Display for UnknownModelFor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.emulator.models().iter().map(|m| m.name).collect();
        write!(
            f,
            "unknown model {:?} for Bochs {}; its models: {}",
            self.name,
            self.emulator.version(),
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownModelFor {}

fn list(models: &[Model]) -> String {
    let width = KNOWN
        .iter()
        .chain(KNOWN_BOCHS_3)
        .map(|m| m.name.len())
        .max()
        .unwrap_or(0);
    models
        .iter()
        .map(|m| format!("  {:width$}  {}", m.name, m.about))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The model list for `--help`: one line per model, name then what sets it apart.
pub fn help_list() -> String {
    list(KNOWN)
}

/// The Bochs 3.0 model list for `--help` (`--bochs 3.0`), as [`help_list`].
pub fn help_list_bochs_3() -> String {
    list(KNOWN_BOCHS_3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_and_default_models_are_known() {
        for (e, m) in SUITE_RUNS {
            assert_eq!(find_for(*e, m).map(|k| k.name), Ok(*m));
        }
        assert!(find(crate::run::DEFAULT_MODEL).is_ok());
        // Bochs 3.0's run is on its newest model.
        assert!(SUITE_RUNS.contains(&(Emulator::Bochs30, KNOWN_BOCHS_3[0].name)));
    }

    #[test]
    fn names_are_unique_and_fit_the_boot_sector() {
        for e in [Emulator::Bochs27, Emulator::Bochs30] {
            let models = e.models();
            for (i, m) in models.iter().enumerate() {
                // The boot-sector parameter holds 31 bytes and a NUL.
                let param = e.boot_model(m.name);
                assert!(param.len() < crate::image::PARAM_MODEL_LEN, "{param}");
                assert!(models[..i].iter().all(|o| o.name != m.name), "{}", m.name);
                assert_eq!(find_for(e, m.name), Ok(m));
            }
        }
        assert_eq!(Emulator::Bochs27.boot_model("tigerlake"), "tigerlake");
        assert_eq!(
            Emulator::Bochs30.boot_model("tigerlake"),
            "bochs3/tigerlake"
        );
    }

    #[test]
    fn a_model_of_the_other_bochs_is_refused_naming_this_ones_models() {
        let e = find_for(Emulator::Bochs30, "core2_penryn_t9600").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("for Bochs 3.0"), "{text}");
        for m in KNOWN_BOCHS_3 {
            assert!(text.contains(m.name), "{text} lacks {}", m.name);
        }
        assert!(find_for(Emulator::Bochs27, "arrow_lake").is_err());
        assert!(find_for(Emulator::Bochs30, "arrow_lake").is_ok());
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
        for (list, models) in [(help_list(), KNOWN), (help_list_bochs_3(), KNOWN_BOCHS_3)] {
            assert_eq!(list.lines().count(), models.len());
            for (line, m) in list.lines().zip(models) {
                assert!(line.trim_start().starts_with(m.name));
                assert!(line.ends_with(m.about));
            }
        }
    }
}

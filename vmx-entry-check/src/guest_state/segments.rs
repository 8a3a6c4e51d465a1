//! Checks on the guest segment registers (SDM Vol. 3C §27.3.1.2). A failure: VM-entry
//! failure, exit reason 33, qualification 0.

use vmx_defs::vmcs::fields as f;
use vmx_defs::vmcs::{Field, ReadWrite, W16, W32, WNat};

use crate::bits;
use crate::check_id::CheckId as C;
use crate::checker::Checker;
use crate::diagnosis::FieldValue;

/// A guest segment register (SDM Vol. 3C §25.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Segment {
    /// ES.
    Es,
    /// CS.
    Cs,
    /// SS.
    Ss,
    /// DS.
    Ds,
    /// FS.
    Fs,
    /// GS.
    Gs,
    /// LDTR.
    Ldtr,
    /// TR.
    Tr,
}

/// The code and data segment registers.
const DATA: [Segment; 4] = [Segment::Ds, Segment::Es, Segment::Fs, Segment::Gs];
/// CS, SS, DS, ES, FS, GS.
const SIX: [Segment; 6] = [
    Segment::Cs,
    Segment::Ss,
    Segment::Ds,
    Segment::Es,
    Segment::Fs,
    Segment::Gs,
];

/// One guest segment register as the VMCS holds it.
#[derive(Debug, Clone, Copy)]
struct Seg {
    sel: FieldValue,
    base: FieldValue,
    limit: FieldValue,
    ar: FieldValue,
}

impl Seg {
    fn unusable(&self) -> bool {
        self.ar.value & 1 << 16 != 0
    }
    fn ty(&self) -> u64 {
        self.ar.value & 0xf
    }
    fn s(&self) -> bool {
        self.ar.value & 1 << 4 != 0
    }
    fn dpl(&self) -> u64 {
        (self.ar.value >> 5) & 3
    }
    fn present(&self) -> bool {
        self.ar.value & 1 << 7 != 0
    }
    fn rpl(&self) -> u64 {
        self.sel.value & 3
    }
    fn g(&self) -> bool {
        self.ar.value & 1 << 15 != 0
    }
}

/// The four VMCS fields of one guest segment register (SDM Vol. 3D Appendix B).
struct SegFields {
    sel: Field<W16, ReadWrite>,
    base: Field<WNat, ReadWrite>,
    limit: Field<W32, ReadWrite>,
    ar: Field<W32, ReadWrite>,
}

/// Each segment register's fields, in [`Segment`] declaration order.
const FIELDS: [SegFields; 8] = [
    SegFields {
        sel: f::GUEST_ES_SELECTOR,
        base: f::GUEST_ES_BASE,
        limit: f::GUEST_ES_LIMIT,
        ar: f::GUEST_ES_ACCESS_RIGHTS,
    },
    SegFields {
        sel: f::GUEST_CS_SELECTOR,
        base: f::GUEST_CS_BASE,
        limit: f::GUEST_CS_LIMIT,
        ar: f::GUEST_CS_ACCESS_RIGHTS,
    },
    SegFields {
        sel: f::GUEST_SS_SELECTOR,
        base: f::GUEST_SS_BASE,
        limit: f::GUEST_SS_LIMIT,
        ar: f::GUEST_SS_ACCESS_RIGHTS,
    },
    SegFields {
        sel: f::GUEST_DS_SELECTOR,
        base: f::GUEST_DS_BASE,
        limit: f::GUEST_DS_LIMIT,
        ar: f::GUEST_DS_ACCESS_RIGHTS,
    },
    SegFields {
        sel: f::GUEST_FS_SELECTOR,
        base: f::GUEST_FS_BASE,
        limit: f::GUEST_FS_LIMIT,
        ar: f::GUEST_FS_ACCESS_RIGHTS,
    },
    SegFields {
        sel: f::GUEST_GS_SELECTOR,
        base: f::GUEST_GS_BASE,
        limit: f::GUEST_GS_LIMIT,
        ar: f::GUEST_GS_ACCESS_RIGHTS,
    },
    SegFields {
        sel: f::GUEST_LDTR_SELECTOR,
        base: f::GUEST_LDTR_BASE,
        limit: f::GUEST_LDTR_LIMIT,
        ar: f::GUEST_LDTR_ACCESS_RIGHTS,
    },
    SegFields {
        sel: f::GUEST_TR_SELECTOR,
        base: f::GUEST_TR_BASE,
        limit: f::GUEST_TR_LIMIT,
        ar: f::GUEST_TR_ACCESS_RIGHTS,
    },
];

fn read(c: &mut Checker<'_, '_>, s: Segment) -> Seg {
    let fields = &FIELDS[s as usize];
    Seg {
        sel: c.fv(fields.sel),
        base: c.fv(fields.base),
        limit: c.fv(fields.limit),
        ar: c.fv(fields.ar),
    }
}

/// CS, SS, DS, ES, FS, GS, TR, LDTR: the order in which the access-rights checks of
/// §27.3.1.2 visit the segment registers.
const AR_ORDER: [Segment; 8] = [
    Segment::Cs,
    Segment::Ss,
    Segment::Ds,
    Segment::Es,
    Segment::Fs,
    Segment::Gs,
    Segment::Tr,
    Segment::Ldtr,
];

/// Runs `check` on each segment register to which the access-rights checks of §27.3.1.2
/// apply (see [`ar_checked`]), in [`AR_ORDER`].
fn for_each_ar_checked(
    c: &mut Checker<'_, '_>,
    mut check: impl FnMut(&mut Checker<'_, '_>, Segment, &Seg),
) {
    for s in AR_ORDER {
        let seg = read(c, s);
        if ar_checked(c, s, &seg) {
            check(c, s, &seg);
        }
    }
}

/// Whether the access-rights checks of §27.3.1.2 apply to segment `s`: CS, TR always; the
/// others only when usable; in virtual-8086 mode only TR and LDTR.
fn ar_checked(c: &mut Checker<'_, '_>, s: Segment, seg: &Seg) -> bool {
    match s {
        Segment::Tr => true,
        Segment::Ldtr => !seg.unusable(),
        Segment::Cs => !c.v86(),
        _ => !c.v86() && !seg.unusable(),
    }
}

/// SDM Vol. 3C §27.3.1.2: the TI flag of the guest TR selector is 0.
pub fn guest_tr_selector_ti(c: &mut Checker<'_, '_>) {
    let tr = read(c, Segment::Tr);
    if tr.sel.value & 4 != 0 {
        c.fail(C::GuestTrSelectorTi, &[tr.sel]);
    }
}

/// SDM Vol. 3C §27.3.1.2: if the guest LDTR is usable, its selector's TI flag is 0.
pub fn guest_ldtr_selector_ti(c: &mut Checker<'_, '_>) {
    let ldtr = read(c, Segment::Ldtr);
    if !ldtr.unusable() && ldtr.sel.value & 4 != 0 {
        c.fail(C::GuestLdtrSelectorTi, &[ldtr.sel, ldtr.ar]);
    }
}

/// SDM Vol. 3C §27.3.1.2: outside virtual-8086 mode and without "unrestricted guest", SS
/// RPL equals CS RPL.
pub fn guest_ss_rpl_equals_cs_rpl(c: &mut Checker<'_, '_>) {
    if c.v86() || c.unrestricted() {
        return;
    }
    let cs = read(c, Segment::Cs);
    let ss = read(c, Segment::Ss);
    if cs.rpl() != ss.rpl() {
        c.fail(C::GuestSsRplCsRpl, &[ss.sel, cs.sel]);
    }
}

/// SDM Vol. 3C §27.3.1.2: in virtual-8086 mode, CS, SS, DS, ES, FS, GS have base =
/// selector × 16, limit 0xFFFF and access rights 0xF3 (three checks).
pub fn guest_v86_segments(c: &mut Checker<'_, '_>) {
    if !c.v86() {
        return;
    }
    for s in SIX {
        let seg = read(c, s);
        if seg.base.value != seg.sel.value << 4 {
            c.fail(C::GuestV86Base, &[seg.base, seg.sel]);
        }
        if seg.limit.value != 0xffff {
            c.fail(C::GuestV86Limit, &[seg.limit]);
        }
        if seg.ar.value != 0xf3 {
            c.fail(C::GuestV86AccessRights, &[seg.ar]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.2: the TR, FS, GS bases (and LDTR's if usable) are canonical.
pub fn guest_bases_canonical(c: &mut Checker<'_, '_>) {
    let width = c.ctx().linear_width();
    for s in [Segment::Tr, Segment::Fs, Segment::Gs, Segment::Ldtr] {
        let seg = read(c, s);
        if s == Segment::Ldtr && seg.unusable() {
            continue;
        }
        if !bits::is_canonical(seg.base.value, width) {
            c.fail(C::GuestBaseCanonical, &[seg.base]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.2: bits 63:32 of the CS base are 0, and of the SS, DS, ES bases if
/// usable.
pub fn guest_bases_high(c: &mut Checker<'_, '_>) {
    for s in [Segment::Cs, Segment::Ss, Segment::Ds, Segment::Es] {
        let seg = read(c, s);
        if s != Segment::Cs && seg.unusable() {
            continue;
        }
        if seg.base.value >> 32 != 0 {
            c.fail(C::GuestBaseHigh, &[seg.base]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.2: outside virtual-8086 mode, the CS type is 9, 11, 13 or 15, or 3
/// with "unrestricted guest".
pub fn guest_cs_type(c: &mut Checker<'_, '_>) {
    if c.v86() {
        return;
    }
    let cs = read(c, Segment::Cs);
    let ok = match cs.ty() {
        9 | 11 | 13 | 15 => true,
        3 => c.unrestricted(),
        _ => false,
    };
    if !ok {
        c.fail(C::GuestCsType, &[cs.ar]);
    }
}

/// SDM Vol. 3C §27.3.1.2: outside virtual-8086 mode, a usable SS has type 3 or 7.
pub fn guest_ss_type(c: &mut Checker<'_, '_>) {
    let ss = read(c, Segment::Ss);
    if !c.v86() && !ss.unusable() && !matches!(ss.ty(), 3 | 7) {
        c.fail(C::GuestSsType, &[ss.ar]);
    }
}

/// SDM Vol. 3C §27.3.1.2: outside virtual-8086 mode, usable DS, ES, FS, GS are accessed
/// (type bit 0), and readable (bit 1) if code (bit 3).
pub fn guest_data_segment_types(c: &mut Checker<'_, '_>) {
    if c.v86() {
        return;
    }
    for s in DATA {
        let seg = read(c, s);
        if seg.unusable() {
            continue;
        }
        let ty = seg.ty();
        if ty & 1 == 0 || (ty & 8 != 0 && ty & 2 == 0) {
            c.fail(C::GuestDataSegmentType, &[seg.ar]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.2: S is 1 for CS and usable SS, DS, ES, FS, GS (outside
/// virtual-8086 mode), 0 for TR and a usable LDTR.
pub fn guest_segment_descriptor_type(c: &mut Checker<'_, '_>) {
    for_each_ar_checked(c, |c, s, seg| {
        let want = !matches!(s, Segment::Tr | Segment::Ldtr);
        if seg.s() != want {
            c.fail(C::GuestSegmentDescriptorType, &[seg.ar]);
        }
    });
}

/// SDM Vol. 3C §27.3.1.2: the CS DPL is 0 for type 3, equals SS DPL for types 9 and 11,
/// and does not exceed SS DPL for types 13 and 15 (outside virtual-8086 mode).
pub fn guest_cs_dpl(c: &mut Checker<'_, '_>) {
    if c.v86() {
        return;
    }
    let cs = read(c, Segment::Cs);
    let ss = read(c, Segment::Ss);
    let ok = match cs.ty() {
        3 => cs.dpl() == 0,
        9 | 11 => cs.dpl() == ss.dpl(),
        13 | 15 => cs.dpl() <= ss.dpl(),
        _ => true,
    };
    if !ok {
        c.fail(C::GuestCsDpl, &[cs.ar, ss.ar]);
    }
}

/// SDM Vol. 3C §27.3.1.2: without "unrestricted guest", SS DPL equals the SS selector's RPL;
/// with CS type 3 or CR0.PE 0, SS DPL is 0 (outside virtual-8086 mode).
pub fn guest_ss_dpl(c: &mut Checker<'_, '_>) {
    if c.v86() {
        return;
    }
    let cs = read(c, Segment::Cs);
    let ss = read(c, Segment::Ss);
    let pe = c.get(f::GUEST_CR0) & bits::CR0_PE != 0;
    let rpl_rule = !c.unrestricted() && ss.dpl() != ss.rpl();
    let zero_rule = (cs.ty() == 3 || !pe) && ss.dpl() != 0;
    if rpl_rule || zero_rule {
        c.fail(C::GuestSsDpl, &[ss.ar, ss.sel]);
    }
}

/// SDM Vol. 3C §27.3.1.2: without "unrestricted guest", usable DS, ES, FS, GS of type 0-11
/// have DPL >= RPL (outside virtual-8086 mode).
pub fn guest_data_segment_dpl(c: &mut Checker<'_, '_>) {
    if c.v86() || c.unrestricted() {
        return;
    }
    for s in DATA {
        let seg = read(c, s);
        if !seg.unusable() && seg.ty() <= 11 && seg.dpl() < seg.rpl() {
            c.fail(C::GuestDataSegmentDpl, &[seg.ar, seg.sel]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.2: CS, TR and usable SS, DS, ES, FS, GS, LDTR are present.
pub fn guest_segments_present(c: &mut Checker<'_, '_>) {
    for_each_ar_checked(c, |c, _, seg| {
        if !seg.present() {
            c.fail(C::GuestSegmentPresent, &[seg.ar]);
        }
    });
}

/// SDM Vol. 3C §27.3.1.2: access-rights bits 11:8 and 31:17 are 0 for CS, TR and usable
/// SS, DS, ES, FS, GS, LDTR.
pub fn guest_segment_access_rights_reserved(c: &mut Checker<'_, '_>) {
    for_each_ar_checked(c, |c, _, seg| {
        if seg.ar.value & 0xfffe_0f00 != 0 {
            c.fail(C::GuestSegmentAccessRightsReserved, &[seg.ar]);
        }
    });
}

/// SDM Vol. 3C §27.3.1.2: with "IA-32e mode guest" 1 and CS.L 1, CS.D/B is 0.
pub fn guest_cs_long_mode_db(c: &mut Checker<'_, '_>) {
    if c.v86() || !c.ia32e_guest() {
        return;
    }
    let cs = read(c, Segment::Cs);
    if cs.ar.value & 1 << 13 != 0 && cs.ar.value & 1 << 14 != 0 {
        c.fail(C::GuestCsLongModeDb, &[cs.ar]);
    }
}

/// SDM Vol. 3C §27.3.1.2: for CS, TR and usable SS, DS, ES, FS, GS, LDTR, G is 0 unless
/// limit bits 11:0 are all 1, and G is 1 if any of limit bits 31:20 is 1.
pub fn guest_segment_granularity(c: &mut Checker<'_, '_>) {
    for_each_ar_checked(c, |c, _, seg| {
        let limit = seg.limit.value;
        let bad = (limit & 0xfff != 0xfff && seg.g()) || (limit & 0xfff0_0000 != 0 && !seg.g());
        if bad {
            c.fail(C::GuestSegmentGranularity, &[seg.ar, seg.limit]);
        }
    });
}

/// SDM Vol. 3C §27.3.1.2: the TR type is 11, or 3 outside IA-32e mode.
pub fn guest_tr_type(c: &mut Checker<'_, '_>) {
    let tr = read(c, Segment::Tr);
    let ok = match tr.ty() {
        11 => true,
        3 => !c.ia32e_guest(),
        _ => false,
    };
    if !ok {
        c.fail(C::GuestTrType, &[tr.ar]);
    }
}

/// SDM Vol. 3C §27.3.1.2: the TR is usable.
pub fn guest_tr_usable(c: &mut Checker<'_, '_>) {
    let tr = read(c, Segment::Tr);
    if tr.unusable() {
        c.fail(C::GuestTrUnusable, &[tr.ar]);
    }
}

/// SDM Vol. 3C §27.3.1.2: a usable LDTR has type 2.
pub fn guest_ldtr_type(c: &mut Checker<'_, '_>) {
    let ldtr = read(c, Segment::Ldtr);
    if !ldtr.unusable() && ldtr.ty() != 2 {
        c.fail(C::GuestLdtrType, &[ldtr.ar]);
    }
}

/// Every §27.3.1.2 check, in the SDM's order.
pub fn check_all(c: &mut Checker<'_, '_>) {
    guest_tr_selector_ti(c);
    guest_ldtr_selector_ti(c);
    guest_ss_rpl_equals_cs_rpl(c);
    guest_v86_segments(c);
    guest_bases_canonical(c);
    guest_bases_high(c);
    guest_cs_type(c);
    guest_ss_type(c);
    guest_data_segment_types(c);
    guest_segment_descriptor_type(c);
    guest_cs_dpl(c);
    guest_ss_dpl(c);
    guest_data_segment_dpl(c);
    guest_segments_present(c);
    guest_segment_access_rights_reserved(c);
    guest_cs_long_mode_db(c);
    guest_segment_granularity(c);
    guest_tr_type(c);
    guest_tr_usable(c);
    guest_ldtr_type(c);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SDM Vol. 3D Appendix B lists each kind of guest segment field for ES, CS, SS, DS,
    /// FS, GS, LDTR, TR at consecutive even encodings: `FIELDS[s as usize]` must be the row
    /// of segment `s`.
    #[test]
    fn fields_table_follows_segment_order() {
        let order = [
            Segment::Es,
            Segment::Cs,
            Segment::Ss,
            Segment::Ds,
            Segment::Fs,
            Segment::Gs,
            Segment::Ldtr,
            Segment::Tr,
        ];
        for (i, s) in order.into_iter().enumerate() {
            let row = &FIELDS[s as usize];
            let step = 2 * i as u32;
            assert_eq!(row.sel.encoding().raw(), 0x0800 + step, "{s:?} selector");
            assert_eq!(row.limit.encoding().raw(), 0x4800 + step, "{s:?} limit");
            assert_eq!(
                row.ar.encoding().raw(),
                0x4814 + step,
                "{s:?} access rights"
            );
            assert_eq!(row.base.encoding().raw(), 0x6806 + step, "{s:?} base");
        }
    }
}

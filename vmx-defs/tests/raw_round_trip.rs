//! Every open value type has the same total `from_raw`/`raw` pair (kept exactly, equal to
//! the `From` conversion where one exists), and the error types chain as
//! `core::error::Error`.

use proptest::prelude::*;
use vmx_defs::capabilities::{VmcsEnum, VmxBasic, VmxMisc};
use vmx_defs::exception::ExceptionVector;
use vmx_defs::exit_reason::{BasicExitReason, ExitReason};
use vmx_defs::guest_state::ActivityState;
use vmx_defs::instruction_error::VmInstructionError;
use vmx_defs::memory_type::MemoryType;
use vmx_defs::vmcs::{
    AccessType, ComposeError, EncodingError, FieldType, FieldWidth, VmcsEncoding,
};

proptest! {
    #[test]
    fn from_raw_keeps_every_value(v8 in any::<u8>(), v16 in any::<u16>(), v32 in any::<u32>(), v64 in any::<u64>()) {
        prop_assert_eq!(VmxBasic::from_raw(v64), VmxBasic::from(v64));
        prop_assert_eq!(VmxBasic::from_raw(v64).raw(), v64);
        prop_assert_eq!(VmxMisc::from_raw(v64), VmxMisc::from(v64));
        prop_assert_eq!(VmxMisc::from_raw(v64).raw(), v64);
        prop_assert_eq!(VmcsEnum::from_raw(v64), VmcsEnum::from(v64));
        prop_assert_eq!(VmcsEnum::from_raw(v64).raw(), v64);
        prop_assert_eq!(MemoryType::from_raw(v8).raw(), v8);
        prop_assert_eq!(ActivityState::from_raw(v32).raw(), v32);
        prop_assert_eq!(ExitReason::from_raw(v32), ExitReason::from(v32));
        prop_assert_eq!(ExitReason::from_raw(v32).raw(), v32);
        prop_assert_eq!(BasicExitReason::from_raw(v16), BasicExitReason::from(v16));
        prop_assert_eq!(BasicExitReason::from_raw(v16).raw(), v16);
        prop_assert_eq!(BasicExitReason::from_raw(v16).number(), v16);
        prop_assert_eq!(VmInstructionError::from_raw(v32), VmInstructionError::from(v32));
        prop_assert_eq!(VmInstructionError::from_raw(v32).raw(), v32);
        prop_assert_eq!(VmInstructionError::from_raw(v32).number(), v32);
        prop_assert_eq!(ExceptionVector::from_raw(v8), ExceptionVector::from(v8));
        prop_assert_eq!(ExceptionVector::from_raw(v8).raw(), v8);
        prop_assert_eq!(ExceptionVector::from_raw(v8).number(), v8);
    }
}

#[test]
fn encoding_errors_are_std_errors() {
    let bad = VmcsEncoding::new(1 << 20);
    let Err(e) = bad else {
        panic!("bit 20 is reserved in an encoding, got {bad:?}");
    };
    let as_error: &dyn core::error::Error = &e;
    assert!(as_error.source().is_none());
    assert_eq!(as_error.to_string(), e.to_string());

    let too_big = VmcsEncoding::compose(
        FieldWidth::Bits32,
        FieldType::Control,
        0x200,
        AccessType::Full,
    );
    let Err(c) = too_big else {
        panic!("index 0x200 does not fit in 9 bits, got {too_big:?}");
    };
    assert!(matches!(c, ComposeError::IndexTooLarge { index: 0x200 }));
    assert!((&c as &dyn core::error::Error).source().is_none());
    let wrapped = ComposeError::Encoding(e);
    let source = (&wrapped as &dyn core::error::Error).source();
    assert_eq!(source.map(ToString::to_string), Some(e.to_string()));
    assert_eq!(
        VmcsEncoding::new(0x4402).map(VmcsEncoding::raw),
        Ok(0x4402),
        "EXIT_REASON is well formed"
    );
    assert_eq!(
        VmcsEncoding::new(1 << 20),
        VmcsEncoding::from_raw(1 << 20).check()
    );
    assert!(matches!(e, EncodingError::ReservedBitsSet { .. }));
}

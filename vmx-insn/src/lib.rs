//! Safe-as-possible wrappers for every Intel VMX instruction, with VMfail decoding.
#![no_std]

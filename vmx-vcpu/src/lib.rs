//! Intel VT-x per-CPU enabling and a VmxVcpu: VMCS lifetime, guest/host state, run loop, typed exits, event injection.
#![no_std]

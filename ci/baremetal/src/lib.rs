//! Bare-metal runtime (being written).
#![no_std]

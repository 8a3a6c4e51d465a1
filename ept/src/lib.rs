//! Intel VT-x extended page tables: map, unmap, protect, query, huge pages, memory types, A/D bits, INVEPT.
#![no_std]

//! xdm-emulator (being written).

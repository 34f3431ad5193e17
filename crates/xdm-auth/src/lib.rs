//! xdm-auth (being written).

//! One type per endpoint (being written).

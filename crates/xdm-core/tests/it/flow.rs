//! Pagination, rate-limit and retry state machines driven end to end.

//! adversary (work in progress).

//! simulate (work in progress).

//! Integration tests of the `refute` binary, run as a user runs it.

mod cli;
mod deploy;

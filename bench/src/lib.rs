//! Shared parts of the bench binaries: the year data set (`year`), used by the `year`
//! binary and by its test.

pub mod year;

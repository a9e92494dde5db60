//! Exact number conversions: INT64, FLOAT64, and NUMERIC/BIGNUMERIC straight from their decimal text
//! (never through a float), one file per concern.

mod decimal;
mod floats;
mod integers;
mod plain;
#[cfg(test)]
mod tests;

pub(crate) use decimal::*;
pub(crate) use floats::*;
pub(crate) use integers::*;
pub(crate) use plain::*;

//! PyO3 glue: the private `streamlake_fast._native` module. The public API is the Python package.

mod arrow_export;
mod codec;
mod publish;
mod pull;
mod schema;

use pyo3::prelude::*;

pyo3::import_exception!(streamlake_fast.exceptions, SchemaError);
pyo3::import_exception!(streamlake_fast.exceptions, DecodeError);

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<schema::PySchema>()?;
    m.add_class::<codec::PyCodec>()?;
    m.add_class::<arrow_export::ArrowBatch>()?;
    m.add_class::<pull::PyPullBatch>()?;
    m.add_function(wrap_pyfunction!(publish::prepare_publish, m)?)?;
    m.add(
        "REJECT_CODES",
        crate::RejectCode::ALL.iter().map(|c| c.slug()).collect::<Vec<_>>(),
    )?;
    m.add("DEBUG_BUILD", cfg!(debug_assertions))?;
    Ok(())
}

//! PyO3 glue: the private `streamlake_fast._native` module. The public API is the Python package.

mod arrow_export;
mod aws;
mod bigquery;
mod buffer;
mod codec;
mod envelope;
mod errors;
mod messages;
mod publish;
mod schema;
mod transform;

use pyo3::prelude::*;

use crate::metadata::MetaColumn;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Before the first batch: freed pages are kept for the next one (see `allocator`).
    m.add("ALLOCATOR_PURGE_DELAY_MS", crate::allocator::keep_freed_pages())?;
    m.add_class::<schema::PySchema>()?;
    m.add_class::<codec::PyCodec>()?;
    m.add_class::<arrow_export::ArrowBatch>()?;
    m.add_class::<messages::PyMessages>()?;
    m.add_class::<aws::PyAwsJsonClient>()?;
    m.add_class::<transform::PyTransform>()?;
    m.add_function(wrap_pyfunction!(aws::sigv4_headers, m)?)?;
    m.add_function(wrap_pyfunction!(bigquery::append_rows_head, m)?)?;
    m.add_function(wrap_pyfunction!(aws::sqs_batch_failures, m)?)?;
    m.add_function(wrap_pyfunction!(aws::sqs_send_batch_requests, m)?)?;
    m.add_function(wrap_pyfunction!(publish::prepare_publish, m)?)?;
    m.add_function(wrap_pyfunction!(envelope::register_dictionary, m)?)?;
    m.add_function(wrap_pyfunction!(envelope::train_dictionary, m)?)?;
    m.add_function(wrap_pyfunction!(publish::publish_response_ids, m)?)?;
    m.add_function(wrap_pyfunction!(publish::publish_requests, m)?)?;
    m.add_function(wrap_pyfunction!(messages::pull_request, m)?)?;
    m.add(
        "REJECT_CODES",
        crate::RejectCode::ALL.iter().map(|c| c.slug()).collect::<Vec<_>>(),
    )?;
    let metadata: Vec<(&str, Vec<&str>)> = MetaColumn::ALL
        .iter()
        .map(|c| (c.name(), c.bigquery_types().to_vec()))
        .collect();
    m.add("METADATA_COLUMNS", metadata)?;
    m.add("METADATA_SCHEMA", messages::metadata_schema())?;
    m.add("DEAD_LETTER_SCHEMA", messages::dead_letter_schema()?)?;
    m.add("DEBUG_BUILD", cfg!(debug_assertions))?;
    Ok(())
}

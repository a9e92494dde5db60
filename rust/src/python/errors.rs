//! The one place Rust errors become Python exceptions (classes from `streamlake_fast.exceptions`).

use pyo3::PyErr;

use crate::decode::DecodeError as CoreDecodeError;
use crate::error::SchemaError as CoreSchemaError;
use crate::pubsub::WireError;

pyo3::import_exception!(streamlake_fast.exceptions, SchemaError);
pyo3::import_exception!(streamlake_fast.exceptions, DecodeError);

impl From<CoreSchemaError> for PyErr {
    fn from(e: CoreSchemaError) -> PyErr {
        SchemaError::new_err(e.to_string())
    }
}

impl From<CoreDecodeError> for PyErr {
    fn from(e: CoreDecodeError) -> PyErr {
        DecodeError::new_err(e.to_string())
    }
}

impl From<WireError> for PyErr {
    fn from(e: WireError) -> PyErr {
        DecodeError::new_err(e.to_string())
    }
}

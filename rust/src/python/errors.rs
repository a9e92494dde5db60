//! The one place Rust errors become Python exceptions (classes from `streamlake_fast.exceptions`).

use pyo3::PyErr;

use crate::aws::http::HttpError;
use crate::aws::sqs::SqsWireError;
use crate::decode::DecodeError as CoreDecodeError;
use crate::error::SchemaError as CoreSchemaError;
use crate::pubsub::WireError;

pyo3::import_exception!(streamlake_fast.exceptions, SchemaError);
pyo3::import_exception!(streamlake_fast.exceptions, DecodeError);
pyo3::import_exception!(streamlake_fast.exceptions, ConfigError);

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

impl From<SqsWireError> for PyErr {
    fn from(e: SqsWireError) -> PyErr {
        DecodeError::new_err(e.to_string())
    }
}

impl From<HttpError> for PyErr {
    fn from(e: HttpError) -> PyErr {
        match e {
            HttpError::Endpoint(_) => ConfigError::new_err(e.to_string()),
            HttpError::Transport(m) => pyo3::exceptions::PyConnectionError::new_err(m),
        }
    }
}

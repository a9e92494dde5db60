//! `_native.Transform`: a compiled declarative transform (rename, drop, defaults, hash, redact).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::transform::{Transform, TransformSpec};

#[pyclass(name = "Transform", module = "streamlake_fast._native", frozen)]
pub struct PyTransform {
    pub inner: std::sync::Arc<Transform>,
}

#[pymethods]
impl PyTransform {
    /// Compile a transform from its JSON spec (`rename`, `drop`, `defaults`, `hash`, `hash_key` in hex, `redact`).
    #[new]
    fn new(spec: &str) -> PyResult<Self> {
        let spec: TransformSpec =
            serde_json::from_str(spec).map_err(|e| PyValueError::new_err(format!("transform: {e}")))?;
        let inner = Transform::compile(&spec).map_err(|e| PyValueError::new_err(format!("transform: {e}")))?;
        Ok(PyTransform {
            inner: std::sync::Arc::new(inner),
        })
    }

    /// Apply to one event (for tests and previews; publishing applies it inside the batch call).
    #[pyo3(signature = (event, max_depth = 500))]
    fn apply(&self, event: &[u8], max_depth: usize) -> Vec<u8> {
        let mut seq = 0;
        self.inner
            .apply(event, crate::transform::Derived::default(), &mut seq, max_depth)
            .into_owned()
    }
}

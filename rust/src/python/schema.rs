//! `_native.Schema`: a validated BigQuery table schema.

use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use super::arrow_export::schema_capsule;
use crate::schema::TableSchema;

#[pyclass(name = "Schema", module = "streamlake_fast._native", frozen)]
pub struct PySchema {
    pub inner: TableSchema,
}

#[pymethods]
impl PySchema {
    /// Parse and validate BigQuery schema JSON (a list of fields or an object with `fields`).
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(PySchema {
            inner: TableSchema::from_bigquery_json(text)?,
        })
    }

    /// Canonical BigQuery schema JSON.
    fn to_json(&self) -> String {
        self.inner.to_bigquery_json()
    }

    #[getter]
    fn fingerprint(&self) -> String {
        self.inner.fingerprint()
    }

    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        schema_capsule(py, &self.inner.to_arrow())
    }
}

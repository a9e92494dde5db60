//! BigQuery table schemas: parsing `bq show --schema` JSON, validation, and the mapping to Arrow.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::SchemaError;

/// BigQuery's limit on RECORD nesting.
pub const MAX_RECORD_DEPTH: usize = 15;
/// Arrow field-metadata key that carries the BigQuery type where Arrow alone cannot tell (JSON, GEOGRAPHY).
pub const BIGQUERY_TYPE_KEY: &str = "bigquery:type";

/// A BigQuery column type (legacy aliases normalised: INTEGER→INT64, FLOAT→FLOAT64, BOOLEAN→BOOL, STRUCT→RECORD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    String,
    Bytes,
    Int64,
    Float64,
    Numeric,
    BigNumeric,
    Bool,
    Timestamp,
    Date,
    Time,
    DateTime,
    Json,
    Geography,
    Record,
}

impl FieldType {
    /// Parse a BigQuery type name, accepting the legacy aliases.
    pub fn parse(name: &str) -> Option<FieldType> {
        Some(match name.to_ascii_uppercase().as_str() {
            "STRING" => FieldType::String,
            "BYTES" => FieldType::Bytes,
            "INT64" | "INTEGER" => FieldType::Int64,
            "FLOAT64" | "FLOAT" => FieldType::Float64,
            "NUMERIC" | "DECIMAL" => FieldType::Numeric,
            "BIGNUMERIC" | "BIGDECIMAL" => FieldType::BigNumeric,
            "BOOL" | "BOOLEAN" => FieldType::Bool,
            "TIMESTAMP" => FieldType::Timestamp,
            "DATE" => FieldType::Date,
            "TIME" => FieldType::Time,
            "DATETIME" => FieldType::DateTime,
            "JSON" => FieldType::Json,
            "GEOGRAPHY" => FieldType::Geography,
            "RECORD" | "STRUCT" => FieldType::Record,
            _ => return None,
        })
    }

    /// The canonical BigQuery name.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::String => "STRING",
            FieldType::Bytes => "BYTES",
            FieldType::Int64 => "INT64",
            FieldType::Float64 => "FLOAT64",
            FieldType::Numeric => "NUMERIC",
            FieldType::BigNumeric => "BIGNUMERIC",
            FieldType::Bool => "BOOL",
            FieldType::Timestamp => "TIMESTAMP",
            FieldType::Date => "DATE",
            FieldType::Time => "TIME",
            FieldType::DateTime => "DATETIME",
            FieldType::Json => "JSON",
            FieldType::Geography => "GEOGRAPHY",
            FieldType::Record => "RECORD",
        }
    }
}

/// A BigQuery field mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldMode {
    Nullable,
    Required,
    Repeated,
}

impl FieldMode {
    fn parse(name: &str) -> Option<FieldMode> {
        Some(match name.to_ascii_uppercase().as_str() {
            "NULLABLE" => FieldMode::Nullable,
            "REQUIRED" => FieldMode::Required,
            "REPEATED" => FieldMode::Repeated,
            _ => return None,
        })
    }

    /// The canonical BigQuery name.
    pub fn name(self) -> &'static str {
        match self {
            FieldMode::Nullable => "NULLABLE",
            FieldMode::Required => "REQUIRED",
            FieldMode::Repeated => "REPEATED",
        }
    }
}

/// One validated field of a table schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    pub name: String,
    pub ty: FieldType,
    pub mode: FieldMode,
    pub fields: Vec<FieldDef>,
    pub description: Option<String>,
    /// BigQuery's parameterized types: `STRING(L)`, `BYTES(L)`, `NUMERIC(P, S)`, `BIGNUMERIC(P, S)`.
    pub params: TypeParams,
}

/// How a NUMERIC/BIGNUMERIC value is rounded to a parameterized scale (BigQuery's `roundingMode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RoundingMode {
    #[default]
    HalfAwayFromZero,
    HalfEven,
}

/// A field's type parameters; none set: the type's own limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeParams {
    /// STRING: the most characters; BYTES: the most bytes.
    pub max_length: Option<u64>,
    /// NUMERIC/BIGNUMERIC: `(precision, scale)`; values are rounded to the scale, and more than
    /// `precision - scale` integer digits is out of range.
    pub decimal: Option<(u32, u32)>,
    /// Only with explicit parameters: how values are rounded to the scale (as BigQuery does on write).
    pub rounding: RoundingMode,
    /// Whether `roundingMode` was given (kept for the round trip).
    pub rounding_given: bool,
}

/// A validated table schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSchema {
    pub fields: Vec<FieldDef>,
}

/// The JSON shape of a field as `bq show --schema` prints it.
#[derive(Debug, Deserialize, Serialize)]
struct RawField {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mode: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    fields: Vec<RawField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(
        rename = "maxLength",
        default,
        skip_serializing_if = "Option::is_none",
        with = "int64_text"
    )]
    max_length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "int64_text")]
    precision: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "int64_text")]
    scale: Option<u64>,
    #[serde(rename = "roundingMode", default, skip_serializing_if = "Option::is_none")]
    rounding_mode: Option<String>,
}

/// BigQuery's REST API writes int64 values as JSON strings (`"maxLength": "10"`); numbers are read too.
mod int64_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(n) => s.serialize_str(&n.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Number(u64),
            Text(String),
        }
        match Option::<Either>::deserialize(d)? {
            None => Ok(None),
            Some(Either::Number(n)) => Ok(Some(n)),
            Some(Either::Text(t)) => t
                .parse()
                .map(Some)
                .map_err(|_| serde::de::Error::custom(format!("expected a non-negative integer, got {t:?}"))),
        }
    }
}

impl TableSchema {
    /// Parse and validate BigQuery schema JSON: a list of fields, or an object with a `fields` list.
    pub fn from_bigquery_json(text: &str) -> Result<TableSchema, SchemaError> {
        let json = |e: serde_json::Error| SchemaError::Json(e.to_string());
        let mut doc: serde_json::Value = serde_json::from_str(text).map_err(json)?;
        // A list of fields, or an object with `fields` (read apart so that errors name what is wrong).
        if let Some(fields) = doc.as_object_mut().and_then(|o| o.remove("fields")) {
            doc = fields;
        }
        let raw: Vec<RawField> = serde_json::from_value(doc).map_err(json)?;
        if raw.is_empty() {
            return Err(SchemaError::Empty);
        }
        let fields = convert_fields(&raw, "", 1)?;
        Ok(TableSchema { fields })
    }

    /// Canonical BigQuery schema JSON (normalised type names, explicit modes).
    pub fn to_bigquery_json(&self) -> String {
        serde_json::to_string(&self.fields.iter().map(to_raw).collect::<Vec<_>>()).expect("serialisable")
    }

    /// A stable fingerprint of the schema (hex SHA-256 of the canonical JSON without descriptions).
    pub fn fingerprint(&self) -> String {
        let bare: Vec<RawField> = self.fields.iter().map(to_raw_bare).collect();
        let text = serde_json::to_string(&bare).expect("serialisable");
        let digest = Sha256::digest(text.as_bytes());
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }

    /// The Arrow schema of the batches the codec builds for this table.
    pub fn to_arrow(&self) -> Schema {
        Schema::new(self.fields.iter().map(arrow_field).collect::<Vec<_>>())
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().count() <= 300 && !name.chars().any(|c| c.is_control() || c == '.')
}

fn convert_fields(raw: &[RawField], prefix: &str, depth: usize) -> Result<Vec<FieldDef>, SchemaError> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for f in raw {
        let path = if prefix.is_empty() {
            f.name.clone()
        } else {
            format!("{prefix}.{}", f.name)
        };
        if !valid_name(&f.name) {
            return Err(SchemaError::InvalidName { path });
        }
        if !seen.insert(f.name.to_lowercase()) {
            return Err(SchemaError::DuplicateName { path });
        }
        let ty = FieldType::parse(&f.ty).ok_or_else(|| SchemaError::UnknownType {
            path: path.clone(),
            ty: f.ty.clone(),
        })?;
        let mode = match &f.mode {
            None => FieldMode::Nullable,
            Some(m) => FieldMode::parse(m).ok_or_else(|| SchemaError::UnknownMode {
                path: path.clone(),
                mode: m.clone(),
            })?,
        };
        let fields = if ty == FieldType::Record {
            if depth > MAX_RECORD_DEPTH {
                return Err(SchemaError::TooDeep { path });
            }
            if f.fields.is_empty() {
                return Err(SchemaError::EmptyRecord { path });
            }
            convert_fields(&f.fields, &path, depth + 1)?
        } else if !f.fields.is_empty() {
            return Err(SchemaError::UnexpectedSubfields { path });
        } else {
            Vec::new()
        };
        let params = type_params(f, ty, &path)?;
        out.push(FieldDef {
            name: f.name.clone(),
            ty,
            mode,
            fields,
            description: f.description.clone(),
            params,
        });
    }
    Ok(out)
}

/// A field's type parameters, checked against BigQuery's rules for its type.
fn type_params(f: &RawField, ty: FieldType, path: &str) -> Result<TypeParams, SchemaError> {
    let bad = |why: String| SchemaError::InvalidParameter {
        path: path.to_string(),
        why,
    };
    let mut params = TypeParams::default();
    if let Some(n) = f.max_length {
        if !matches!(ty, FieldType::String | FieldType::Bytes) {
            return Err(bad(format!("maxLength applies to STRING and BYTES, not {}", ty.name())));
        }
        if n == 0 {
            return Err(bad("maxLength must be at least 1".into()));
        }
        params.max_length = Some(n);
    }
    if f.precision.is_some() || f.scale.is_some() {
        let (max_int, max_scale) = match ty {
            FieldType::Numeric => (29, 9),
            FieldType::BigNumeric => (38, 38),
            _ => {
                return Err(bad(format!(
                    "precision and scale apply to NUMERIC and BIGNUMERIC, not {}",
                    ty.name()
                )))
            }
        };
        let Some(precision) = f.precision else {
            return Err(bad("scale needs a precision".into()));
        };
        let scale = f.scale.unwrap_or(0);
        if scale > max_scale || precision < scale.max(1) || precision - scale > max_int {
            return Err(bad(format!(
                "{}({precision}, {scale}): the scale must be 0 to {max_scale} and the precision from max(1, scale) to \
                 scale + {max_int}",
                ty.name()
            )));
        }
        params.decimal = Some((precision as u32, scale as u32));
    }
    if let Some(mode) = &f.rounding_mode {
        params.rounding = match mode.as_str() {
            "ROUND_HALF_AWAY_FROM_ZERO" | "ROUNDING_MODE_UNSPECIFIED" => RoundingMode::HalfAwayFromZero,
            "ROUND_HALF_EVEN" => RoundingMode::HalfEven,
            other => return Err(bad(format!("unknown roundingMode {other:?}"))),
        };
        if !matches!(ty, FieldType::Numeric | FieldType::BigNumeric) {
            return Err(bad(format!(
                "roundingMode applies to NUMERIC and BIGNUMERIC, not {}",
                ty.name()
            )));
        }
        params.rounding_given = true;
    }
    Ok(params)
}

fn to_raw(f: &FieldDef) -> RawField {
    RawField {
        name: f.name.clone(),
        ty: f.ty.name().to_string(),
        mode: Some(f.mode.name().to_string()),
        fields: f.fields.iter().map(to_raw).collect(),
        description: f.description.clone(),
        max_length: f.params.max_length,
        precision: f.params.decimal.map(|(p, _)| p as u64),
        scale: f.params.decimal.map(|(_, s)| s as u64),
        rounding_mode: f.params.rounding_given.then(|| {
            match f.params.rounding {
                RoundingMode::HalfAwayFromZero => "ROUND_HALF_AWAY_FROM_ZERO",
                RoundingMode::HalfEven => "ROUND_HALF_EVEN",
            }
            .to_string()
        }),
    }
}

fn to_raw_bare(f: &FieldDef) -> RawField {
    RawField {
        description: None,
        fields: f.fields.iter().map(to_raw_bare).collect(),
        ..to_raw(f)
    }
}

/// The Arrow type of a field's values (without the list wrapper of REPEATED).
pub fn arrow_value_type(f: &FieldDef) -> DataType {
    match f.ty {
        FieldType::String | FieldType::Json | FieldType::Geography => DataType::Utf8,
        FieldType::Bytes => DataType::Binary,
        FieldType::Int64 => DataType::Int64,
        FieldType::Float64 => DataType::Float64,
        FieldType::Numeric => DataType::Decimal128(38, 9),
        FieldType::BigNumeric => DataType::Decimal256(76, 38),
        FieldType::Bool => DataType::Boolean,
        FieldType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC"))),
        FieldType::Date => DataType::Date32,
        FieldType::Time => DataType::Time64(TimeUnit::Microsecond),
        FieldType::DateTime => DataType::Timestamp(TimeUnit::Microsecond, None),
        FieldType::Record => DataType::Struct(Fields::from(f.fields.iter().map(arrow_field).collect::<Vec<_>>())),
    }
}

/// The Arrow field for a BigQuery field: REQUIRED and REPEATED are non-nullable, REPEATED is a list of
/// non-nullable items.
pub fn arrow_field(f: &FieldDef) -> Field {
    let value = arrow_value_type(f);
    let field = match f.mode {
        FieldMode::Nullable => Field::new(&f.name, value, true),
        FieldMode::Required => Field::new(&f.name, value, false),
        FieldMode::Repeated => Field::new(
            &f.name,
            DataType::List(Arc::new(Field::new("item", value, false))),
            false,
        ),
    };
    match f.ty {
        FieldType::Json | FieldType::Geography => field.with_metadata(std::collections::HashMap::from([(
            BIGQUERY_TYPE_KEY.to_string(),
            f.ty.name().to_string(),
        )])),
        _ => field,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_aliases_and_defaults() {
        let s = TableSchema::from_bigquery_json(
            r#"[{"name":"a","type":"INTEGER"},{"name":"r","type":"STRUCT","mode":"repeated","fields":[{"name":"x","type":"BOOLEAN"}]}]"#,
        )
        .unwrap();
        assert_eq!(s.fields[0].ty, FieldType::Int64);
        assert_eq!(s.fields[0].mode, FieldMode::Nullable);
        assert_eq!(s.fields[1].mode, FieldMode::Repeated);
        assert_eq!(s.fields[1].fields[0].ty, FieldType::Bool);
    }

    #[test]
    fn object_form_and_round_trip() {
        let s =
            TableSchema::from_bigquery_json(r#"{"fields":[{"name":"a","type":"STRING","mode":"REQUIRED"}]}"#).unwrap();
        let again = TableSchema::from_bigquery_json(&s.to_bigquery_json()).unwrap();
        assert_eq!(s, again);
        assert_eq!(s.fingerprint(), again.fingerprint());
    }

    #[test]
    fn rejects_bad_schemas() {
        let err = |t: &str| TableSchema::from_bigquery_json(t).unwrap_err();
        assert!(matches!(
            err(r#"[{"name":"a","type":"INT"}]"#),
            SchemaError::UnknownType { .. }
        ));
        assert!(matches!(
            err(r#"[{"name":"a","type":"INT64"},{"name":"A","type":"STRING"}]"#),
            SchemaError::DuplicateName { .. }
        ));
        assert!(matches!(
            err(r#"[{"name":"r","type":"RECORD"}]"#),
            SchemaError::EmptyRecord { .. }
        ));
        assert!(matches!(err("[]"), SchemaError::Empty));
        assert!(matches!(
            err(r#"[{"name":"a","type":"STRING","mode":"OPTIONAL"}]"#),
            SchemaError::UnknownMode { .. }
        ));
    }

    #[test]
    fn parameterized_types_are_kept_checked_and_fingerprinted() {
        let text = r#"[{"name":"s","type":"STRING","maxLength":"5"},{"name":"b","type":"BYTES","maxLength":3},
            {"name":"n","type":"NUMERIC","precision":"5","scale":"2","roundingMode":"ROUND_HALF_EVEN"},
            {"name":"p","type":"BIGNUMERIC","precision":"38"}]"#;
        let s = TableSchema::from_bigquery_json(text).unwrap();
        assert_eq!(s.fields[0].params.max_length, Some(5));
        assert_eq!(s.fields[2].params.decimal, Some((5, 2)));
        assert_eq!(s.fields[2].params.rounding, RoundingMode::HalfEven);
        assert_eq!(s.fields[3].params.decimal, Some((38, 0)));
        let again = TableSchema::from_bigquery_json(&s.to_bigquery_json()).unwrap();
        assert_eq!(s, again);
        assert!(s.to_bigquery_json().contains(r#""maxLength":"5""#));
        let plain = TableSchema::from_bigquery_json(r#"[{"name":"s","type":"STRING"}]"#).unwrap();
        let short = TableSchema::from_bigquery_json(r#"[{"name":"s","type":"STRING","maxLength":"5"}]"#).unwrap();
        assert_ne!(plain.fingerprint(), short.fingerprint());
        let err = |t: &str| TableSchema::from_bigquery_json(t).unwrap_err().to_string();
        assert!(err(r#"[{"name":"i","type":"INT64","maxLength":"5"}]"#).contains("maxLength applies to STRING"));
        assert!(err(r#"[{"name":"n","type":"NUMERIC","precision":"31","scale":"1"}]"#).contains("NUMERIC(31, 1)"));
        assert!(err(r#"[{"name":"n","type":"NUMERIC","scale":"1"}]"#).contains("scale needs a precision"));
        assert!(err(r#"[{"name":"n","type":"NUMERIC","precision":"2","scale":"3"}]"#).contains("scale must be"));
        assert!(err(r#"[{"name":"n","type":"NUMERIC","precision":"x"}]"#).contains("non-negative integer"));
    }

    #[test]
    fn record_depth_limit() {
        let mut text = String::from(r#"{"name":"leaf","type":"INT64"}"#);
        for i in 0..16 {
            text = format!(r#"{{"name":"r{i}","type":"RECORD","fields":[{text}]}}"#);
        }
        let e = TableSchema::from_bigquery_json(&format!("[{text}]")).unwrap_err();
        assert!(matches!(e, SchemaError::TooDeep { .. }));
    }

    #[test]
    fn arrow_mapping() {
        let s = TableSchema::from_bigquery_json(
            r#"[{"name":"t","type":"TIMESTAMP","mode":"REQUIRED"},{"name":"n","type":"NUMERIC","mode":"REPEATED"}]"#,
        )
        .unwrap();
        let a = s.to_arrow();
        assert!(!a.field(0).is_nullable());
        assert_eq!(
            a.field(0).data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC")))
        );
        match a.field(1).data_type() {
            DataType::List(item) => assert_eq!(item.data_type(), &DataType::Decimal128(38, 9)),
            other => panic!("{other:?}"),
        }
    }
}

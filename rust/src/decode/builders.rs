//! Column builders that can be rolled back to a row count, so a rejected row leaves no trace, and that
//! finish into Arrow arrays without copying their buffers.

use std::sync::Arc;

use arrow_array::types::{
    Date32Type, Decimal128Type, Decimal256Type, Float64Type, Int64Type, Time64MicrosecondType, TimestampMicrosecondType,
};
use arrow_array::{ArrayRef, BinaryArray, BooleanArray, ListArray, PrimitiveArray, StringArray, StructArray};
use arrow_buffer::{i256, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Fields};

use super::bits::Bits;
use super::nulls::Nulls;
use crate::schema::{arrow_field, FieldDef, FieldMode, FieldType, TypeParams};

/// The values of one column.
pub enum Col {
    Bool(Bits),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F64(Vec<f64>),
    I128(Vec<i128>),
    I256(Vec<i256>),
    /// UTF-8 or binary data with i32 offsets (`offsets` starts with 0).
    Bytes {
        offsets: Vec<i32>,
        data: Vec<u8>,
    },
    Struct {
        children: Vec<Node>,
        len: usize,
        /// Which fields the object being decoded has: `seen[i] == stamp` (a new stamp per object, so nothing is
        /// cleared between objects).
        seen: Vec<u32>,
        stamp: u32,
        lookup: Lookup,
    },
    List {
        offsets: Vec<i32>,
        item: Box<Node>,
    },
}

/// Field-name lookup for one RECORD: a linear scan for small records, a hash map for wide ones.
pub enum Lookup {
    Linear,
    Map(std::collections::HashMap<Box<[u8]>, usize>),
}

/// One field slot: its type, whether it may be null, and its builders.
pub struct Node {
    pub name: Box<[u8]>,
    /// The name, its closing quote and a colon (`name":`) when the name has no quote, backslash or control
    /// character, so that as a JSON key it reads the same raw as decoded; empty otherwise.
    pub key_colon: Box<[u8]>,
    pub ty: FieldType,
    /// The inline path this field's values try first, decided once per schema.
    pub fast: Fast,
    pub mode: FieldMode,
    pub params: TypeParams,
    /// A NULLABLE field's nulls; `None` for REQUIRED and REPEATED fields.
    pub nulls: Option<Nulls>,
    pub col: Col,
    /// Boxed: read only when the batch is finished, so it does not spread the hot fields over more cache lines.
    field: Box<Field>,
}

/// A field's inline decoding path (see `record::decode_any`): plain strings, and numbers the one-pass readers take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fast {
    /// STRING without a maximum length.
    String,
    Int64,
    Float64,
    /// A RECORD (not REPEATED): an object is decoded straight into the children.
    Record,
    /// Everything else, and any value the inline paths decline: `record::decode_value`.
    General,
}

const WIDE_RECORD: usize = 24;
/// Rows decoded before the builders are sized for the whole batch.
pub const SAMPLE_ROWS: usize = 256;

impl Node {
    /// Builders for one field of the schema, with room for `cap` rows.
    pub fn new(def: &FieldDef, cap: usize) -> Node {
        let field = Box::new(arrow_field(def));
        let col = match def.mode {
            FieldMode::Repeated => {
                let item = FieldDef {
                    mode: FieldMode::Required,
                    ..def.clone()
                };
                let mut offsets = Vec::with_capacity(cap + 1);
                offsets.push(0);
                Col::List {
                    offsets,
                    item: Box::new(Node::new(&item, cap)),
                }
            }
            _ => Col::new(def, cap),
        };
        let nulls = (def.mode == FieldMode::Nullable).then(Nulls::default);
        Node {
            name: def.name.as_bytes().into(),
            key_colon: if def.name.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
                Box::default()
            } else {
                [def.name.as_bytes(), b"\":"].concat().into()
            },
            ty: def.ty,
            fast: match (def.mode, def.ty) {
                (FieldMode::Repeated, _) => Fast::General,
                (_, FieldType::String) if def.params.max_length.is_none() => Fast::String,
                (_, FieldType::Int64) => Fast::Int64,
                (_, FieldType::Float64) => Fast::Float64,
                (_, FieldType::Record) => Fast::Record,
                _ => Fast::General,
            },
            mode: def.mode,
            params: def.params,
            nulls,
            col,
            field,
        }
    }

    /// A struct node for the whole row.
    pub fn root(fields: &[FieldDef], cap: usize) -> Node {
        let def = FieldDef {
            name: String::new(),
            ty: FieldType::Record,
            mode: FieldMode::Required,
            fields: fields.to_vec(),
            description: None,
            params: Default::default(),
        };
        Node::new(&def, cap)
    }

    /// Number of values (rows at this level).
    pub fn len(&self) -> usize {
        self.col.len()
    }

    /// Push a null (for NULLABLE) or the type's empty value (for REQUIRED under a null parent, or REPEATED).
    pub fn push_empty(&mut self) {
        if let Some(v) = &mut self.nulls {
            v.push(self.col.len());
        }
        self.col.push_default();
    }

    /// Grow every buffer to hold `scale` times what it holds now (plus slack), so that a batch whose first rows
    /// were a sample does not reallocate and copy as it grows.
    pub fn reserve_scaled(&mut self, scale: f64) {
        let extra = |len: usize| ((len as f64) * (scale - 1.0) * 1.1) as usize + 16;
        match &mut self.col {
            Col::Bool(b) => b.reserve(extra(b.len())),
            Col::I32(v) => v.reserve(extra(v.len())),
            Col::I64(v) => v.reserve(extra(v.len())),
            Col::F64(v) => v.reserve(extra(v.len())),
            Col::I128(v) => v.reserve(extra(v.len())),
            Col::I256(v) => v.reserve(extra(v.len())),
            Col::Bytes { offsets, data } => {
                offsets.reserve(extra(offsets.len()));
                data.reserve(extra(data.len()));
            }
            Col::Struct { children, .. } => children.iter_mut().for_each(|c| c.reserve_scaled(scale)),
            Col::List { offsets, item } => {
                offsets.reserve(extra(offsets.len()));
                item.reserve_scaled(scale);
            }
        }
    }

    /// Roll back to `n` values, dropping everything a failed row wrote.
    pub fn truncate(&mut self, n: usize) {
        if let Some(v) = &mut self.nulls {
            v.truncate(n);
        }
        self.col.truncate(n);
    }

    /// Finish into an Arrow array, leaving the builders empty.
    pub fn finish(&mut self) -> ArrayRef {
        let len = self.col.len();
        let nulls = self.nulls.as_mut().and_then(|v| v.finish(len));
        self.col.finish(self.field.data_type(), nulls)
    }
}

impl Col {
    fn new(def: &FieldDef, cap: usize) -> Col {
        match def.ty {
            FieldType::Bool => Col::Bool(Bits::with_capacity(cap)),
            FieldType::Date => Col::I32(Vec::with_capacity(cap)),
            FieldType::Int64 | FieldType::Time | FieldType::DateTime | FieldType::Timestamp => {
                Col::I64(Vec::with_capacity(cap))
            }
            FieldType::Float64 => Col::F64(Vec::with_capacity(cap)),
            FieldType::Numeric => Col::I128(Vec::with_capacity(cap)),
            FieldType::BigNumeric => Col::I256(Vec::with_capacity(cap)),
            FieldType::String | FieldType::Bytes | FieldType::Json | FieldType::Geography => {
                let mut offsets = Vec::with_capacity(cap + 1);
                offsets.push(0);
                Col::Bytes {
                    offsets,
                    data: Vec::with_capacity(cap.min(SAMPLE_ROWS) * 32),
                }
            }
            FieldType::Record => {
                let children: Vec<Node> = def.fields.iter().map(|f| Node::new(f, cap)).collect();
                let lookup = if children.len() > WIDE_RECORD {
                    Lookup::Map(children.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect())
                } else {
                    Lookup::Linear
                };
                Col::Struct {
                    seen: vec![0; children.len()],
                    stamp: 0,
                    children,
                    len: 0,
                    lookup,
                }
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Col::Bool(b) => b.len(),
            Col::I32(v) => v.len(),
            Col::I64(v) => v.len(),
            Col::F64(v) => v.len(),
            Col::I128(v) => v.len(),
            Col::I256(v) => v.len(),
            Col::Bytes { offsets, .. } | Col::List { offsets, .. } => offsets.len() - 1,
            Col::Struct { len, .. } => *len,
        }
    }

    fn push_default(&mut self) {
        match self {
            Col::Bool(b) => b.append(false),
            Col::I32(v) => v.push(0),
            Col::I64(v) => v.push(0),
            Col::F64(v) => v.push(0.0),
            Col::I128(v) => v.push(0),
            Col::I256(v) => v.push(i256::ZERO),
            Col::Bytes { offsets, .. } | Col::List { offsets, .. } => {
                let last = *offsets.last().expect("offsets start with 0");
                offsets.push(last);
            }
            Col::Struct { children, len, .. } => {
                for c in children {
                    c.push_empty();
                }
                *len += 1;
            }
        }
    }

    fn truncate(&mut self, n: usize) {
        match self {
            Col::Bool(b) => b.truncate(n),
            Col::I32(v) => v.truncate(n),
            Col::I64(v) => v.truncate(n),
            Col::F64(v) => v.truncate(n),
            Col::I128(v) => v.truncate(n),
            Col::I256(v) => v.truncate(n),
            Col::Bytes { offsets, data } => {
                offsets.truncate(n + 1);
                data.truncate(offsets[n] as usize);
            }
            Col::Struct { children, len, .. } => {
                for c in children {
                    c.truncate(n);
                }
                *len = n;
            }
            Col::List { offsets, item } => {
                offsets.truncate(n + 1);
                item.truncate(offsets[n] as usize);
            }
        }
    }

    fn finish(&mut self, dt: &DataType, nulls: Option<NullBuffer>) -> ArrayRef {
        match self {
            Col::Bool(b) => Arc::new(BooleanArray::new(b.finish(), nulls)),
            Col::I32(v) => Arc::new(PrimitiveArray::<Date32Type>::new(take_scalar(v), nulls)),
            Col::I64(v) => match dt {
                DataType::Int64 => Arc::new(PrimitiveArray::<Int64Type>::new(take_scalar(v), nulls)),
                DataType::Time64(_) => Arc::new(PrimitiveArray::<Time64MicrosecondType>::new(take_scalar(v), nulls)),
                _ => Arc::new(
                    PrimitiveArray::<TimestampMicrosecondType>::new(take_scalar(v), nulls).with_data_type(dt.clone()),
                ),
            },
            Col::F64(v) => Arc::new(PrimitiveArray::<Float64Type>::new(take_scalar(v), nulls)),
            Col::I128(v) => {
                Arc::new(PrimitiveArray::<Decimal128Type>::new(take_scalar(v), nulls).with_data_type(dt.clone()))
            }
            Col::I256(v) => {
                Arc::new(PrimitiveArray::<Decimal256Type>::new(take_scalar(v), nulls).with_data_type(dt.clone()))
            }
            Col::Bytes { offsets, data } => {
                let offsets = take_offsets(offsets);
                let data = Buffer::from_vec(std::mem::take(data));
                if matches!(dt, DataType::Binary) {
                    Arc::new(BinaryArray::new(offsets, data, nulls))
                } else {
                    // SAFETY: every byte appended came from UTF-8-validated input or from `char::encode_utf8`,
                    // and offsets only ever fall between whole strings.
                    Arc::new(unsafe { StringArray::new_unchecked(offsets, data, nulls) })
                }
            }
            Col::Struct { children, len, .. } => {
                let fields: Fields = match dt {
                    DataType::Struct(f) => f.clone(),
                    _ => unreachable!("struct column with a non-struct type"),
                };
                let arrays: Vec<ArrayRef> = children.iter_mut().map(Node::finish).collect();
                let n = std::mem::take(len);
                if arrays.is_empty() {
                    Arc::new(StructArray::new_empty_fields(n, nulls))
                } else {
                    Arc::new(StructArray::new(fields, arrays, nulls))
                }
            }
            Col::List { offsets, item } => {
                let item_field = match dt {
                    DataType::List(f) => f.clone(),
                    _ => unreachable!("list column with a non-list type"),
                };
                let offsets = take_offsets(offsets);
                let values = item.finish();
                Arc::new(ListArray::new(item_field, offsets, values, nulls))
            }
        }
    }
}

fn take_scalar<T: arrow_buffer::ArrowNativeType>(v: &mut Vec<T>) -> ScalarBuffer<T> {
    ScalarBuffer::from(std::mem::take(v))
}

fn take_offsets(offsets: &mut Vec<i32>) -> OffsetBuffer<i32> {
    let taken = std::mem::replace(offsets, vec![0]);
    // SAFETY: offsets start at 0 and are pushed in non-decreasing order.
    unsafe { OffsetBuffer::new_unchecked(ScalarBuffer::from(taken)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::TableSchema;
    use arrow_array::Array;

    #[test]
    fn truncate_rolls_back_nested_lists() {
        let s = TableSchema::from_bigquery_json(
            r#"[{"name":"xs","type":"RECORD","mode":"REPEATED","fields":[{"name":"s","type":"STRING"}]}]"#,
        )
        .unwrap();
        let mut root = Node::root(&s.fields, 4);
        root.truncate(0);
        assert_eq!(root.len(), 0);
        let arr = root.finish();
        assert_eq!(arr.len(), 0);
    }
}

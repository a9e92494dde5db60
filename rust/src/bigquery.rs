//! BigQuery Storage Write `AppendRowsRequest`s written as bytes around an Arrow batch that is already serialized:
//! the batch is copied once, into the request, and no protobuf object holds it on the way.

use crate::pubsub::{put_bytes, put_varint};

/// How many bytes `v` takes as a protobuf varint.
fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// The bytes of an `AppendRowsRequest` (write_stream = 1, offset = 2 as an `Int64Value`, arrow_rows = 5:
/// `ArrowData { writer_schema = 1 { serialized_schema = 1 }, rows = 2 { row_count = 2, serialized_record_batch = 1 } }`)
/// that come before the serialized record batch: the request is this head followed by the batch's `batch_len`
/// bytes (fields may come in any order in protobuf, so the batch can be last).
pub fn append_rows_head(
    write_stream: &str,
    offset: Option<u64>,
    schema: &[u8],
    rows: u64,
    batch_len: usize,
) -> Vec<u8> {
    let row_count = 1 + varint_len(rows);
    let record_batch = row_count + 1 + varint_len(batch_len as u64) + batch_len;
    let writer_schema = 1 + varint_len(schema.len() as u64) + schema.len();
    let arrow_data =
        1 + varint_len(writer_schema as u64) + writer_schema + 1 + varint_len(record_batch as u64) + record_batch;
    let mut out = Vec::with_capacity(write_stream.len() + schema.len() + 48);
    put_bytes(&mut out, 1, write_stream.as_bytes());
    if let Some(offset) = offset {
        put_varint(&mut out, (2 << 3) | 2);
        put_varint(&mut out, (1 + varint_len(offset)) as u64);
        put_varint(&mut out, 1 << 3);
        put_varint(&mut out, offset);
    }
    put_varint(&mut out, (5 << 3) | 2);
    put_varint(&mut out, arrow_data as u64);
    put_varint(&mut out, (1 << 3) | 2);
    put_varint(&mut out, writer_schema as u64);
    put_bytes(&mut out, 1, schema);
    put_varint(&mut out, (2 << 3) | 2);
    put_varint(&mut out, record_batch as u64);
    put_varint(&mut out, 2 << 3);
    put_varint(&mut out, rows);
    put_varint(&mut out, (1 << 3) | 2);
    put_varint(&mut out, batch_len as u64);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pubsub::Reader;

    /// Every (field, bytes or varint) of a protobuf message, in order.
    fn fields(buf: &[u8]) -> Vec<(u64, Result<Vec<u8>, u64>)> {
        let mut r = Reader::new(buf);
        let mut out = Vec::new();
        while let Some((field, wire)) = r.tag().unwrap() {
            let value = match wire {
                0 => Err(r.varint().unwrap()),
                _ => {
                    let (start, end) = r.len_delimited().unwrap();
                    Ok(buf[start as usize..end as usize].to_vec())
                }
            };
            out.push((field, value));
        }
        out
    }

    #[test]
    fn the_head_and_the_batch_read_as_one_request() {
        for (offset, batch_len) in [(None, 3usize), (Some(0), 200), (Some(1 << 40), 70_000)] {
            let batch = vec![7u8; batch_len];
            let mut request = append_rows_head(
                "projects/p/datasets/d/tables/t/streams/_default",
                offset,
                b"SCHEMA",
                5,
                batch.len(),
            );
            request.extend_from_slice(&batch);
            let top = fields(&request);
            assert_eq!(
                top[0],
                (1, Ok(b"projects/p/datasets/d/tables/t/streams/_default".to_vec()))
            );
            let mut rest = &top[1..];
            if let Some(offset) = offset {
                let (2, Ok(wrapped)) = &rest[0] else {
                    panic!("no offset")
                };
                assert_eq!(fields(wrapped), vec![(1, Err(offset))]);
                rest = &rest[1..];
            }
            let [(5, Ok(arrow_data))] = rest else {
                panic!("{rest:?}")
            };
            let data = fields(arrow_data);
            assert_eq!(data[0].0, 1);
            assert_eq!(fields(data[0].1.as_ref().unwrap()), vec![(1, Ok(b"SCHEMA".to_vec()))]);
            assert_eq!(data[1].0, 2);
            assert_eq!(
                fields(data[1].1.as_ref().unwrap()),
                vec![(2, Err(5)), (1, Ok(batch.clone()))]
            );
            assert_eq!(data.len(), 2);
        }
    }

    #[test]
    fn varint_lengths() {
        for v in [0u64, 1, 127, 128, 16_383, 16_384, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(varint_len(v), out.len(), "{v}");
        }
    }
}

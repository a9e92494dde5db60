//! Error types: schema errors (a bad schema, raised once) and reject codes (a bad row, reported per row).

use thiserror::Error;

/// A schema that cannot be compiled; raised at start-up, never per row.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SchemaError {
    #[error("invalid schema JSON: {0}")]
    Json(String),
    #[error("field {path:?}: unknown type {ty:?}")]
    UnknownType { path: String, ty: String },
    #[error("field {path:?}: unknown mode {mode:?} (expected NULLABLE, REQUIRED or REPEATED)")]
    UnknownMode { path: String, mode: String },
    #[error("field {path:?}: invalid name (letters, digits and underscores, starting with a letter or underscore, at most 300 characters)")]
    InvalidName { path: String },
    #[error("field {path:?}: duplicate field name (BigQuery names are case-insensitive)")]
    DuplicateName { path: String },
    #[error("field {path:?}: RECORD needs at least one sub-field")]
    EmptyRecord { path: String },
    #[error("field {path:?}: only RECORD fields may have sub-fields")]
    UnexpectedSubfields { path: String },
    #[error("field {path:?}: RECORD nesting deeper than BigQuery's 15 levels")]
    TooDeep { path: String },
    #[error("field {path:?}: {why}")]
    InvalidParameter { path: String, why: String },
    #[error("schema has no fields")]
    Empty,
}

/// Why a row was rejected. The slug is stable: dead-letter consumers and alerts key on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectCode {
    /// The message is not well-formed JSON (syntax error, bad escape, trailing data).
    InvalidJson,
    /// The message bytes are not valid UTF-8.
    InvalidUtf8,
    /// The top-level JSON value is not an object.
    NotAnObject,
    /// The same key appears twice in one object.
    DuplicateKey,
    /// A key that the schema does not declare (with `unknown_fields="reject"`).
    UnknownField,
    /// A REQUIRED field is missing or null.
    MissingRequired,
    /// A REPEATED field holds a null element.
    NullElement,
    /// The JSON value has the wrong type for the field (e.g. a string for a BOOL).
    TypeMismatch,
    /// The value has the right JSON type but its text is not valid for the field (e.g. a malformed timestamp).
    InvalidValue,
    /// The value is valid but outside the field type's range or precision.
    OutOfRange,
    /// The message is larger than `max_message_bytes`.
    MessageTooLarge,
    /// The JSON nests deeper than `max_depth`.
    TooDeep,
    /// A valid row over a sink's size limit (BigQuery's 10 MB a row), found when it was written.
    RowTooLarge,
    /// A destination refused the event for a reason of its own (an SQS entry too large for the queue, a row
    /// BigQuery refused on its content), with the destination's words.
    RefusedBySink,
    /// The message matches no route (its route key names none, and there is no default route).
    NoRoute,
    /// A templated destination (a table or a lake path) cannot be made from the message's values: a value that
    /// is missing, too long, or not allowed in a table name or a path part.
    InvalidDestination,
    /// An envelope (many events in one message) that cannot be opened: not valid zstd, truncated, an encoding
    /// other than zstd, or fewer or more events than its `event-count` attribute says.
    BadEnvelope,
    /// An envelope that decompresses past the limit (a decompression bomb is this, not an out-of-memory).
    EnvelopeTooLarge,
    /// An envelope holding more events than allowed.
    EnvelopeTooManyEvents,
    /// An envelope compressed with a zstd dictionary the reader has not loaded.
    UnknownDictionary,
}

impl RejectCode {
    /// The stable slug for this code.
    pub fn slug(self) -> &'static str {
        match self {
            RejectCode::InvalidJson => "invalid_json",
            RejectCode::InvalidUtf8 => "invalid_utf8",
            RejectCode::NotAnObject => "not_an_object",
            RejectCode::DuplicateKey => "duplicate_key",
            RejectCode::UnknownField => "unknown_field",
            RejectCode::MissingRequired => "missing_required",
            RejectCode::NullElement => "null_element",
            RejectCode::TypeMismatch => "type_mismatch",
            RejectCode::InvalidValue => "invalid_value",
            RejectCode::OutOfRange => "out_of_range",
            RejectCode::MessageTooLarge => "message_too_large",
            RejectCode::TooDeep => "too_deep",
            RejectCode::RowTooLarge => "row_too_large",
            RejectCode::RefusedBySink => "refused_by_sink",
            RejectCode::NoRoute => "no_route",
            RejectCode::InvalidDestination => "invalid_destination",
            RejectCode::BadEnvelope => "bad_envelope",
            RejectCode::EnvelopeTooLarge => "envelope_too_large",
            RejectCode::EnvelopeTooManyEvents => "envelope_too_many_events",
            RejectCode::UnknownDictionary => "unknown_dictionary",
        }
    }

    /// Every code, for documentation and tests.
    pub const ALL: [RejectCode; 20] = [
        RejectCode::InvalidJson,
        RejectCode::InvalidUtf8,
        RejectCode::NotAnObject,
        RejectCode::DuplicateKey,
        RejectCode::UnknownField,
        RejectCode::MissingRequired,
        RejectCode::NullElement,
        RejectCode::TypeMismatch,
        RejectCode::InvalidValue,
        RejectCode::OutOfRange,
        RejectCode::MessageTooLarge,
        RejectCode::TooDeep,
        RejectCode::RowTooLarge,
        RejectCode::RefusedBySink,
        RejectCode::NoRoute,
        RejectCode::InvalidDestination,
        RejectCode::BadEnvelope,
        RejectCode::EnvelopeTooLarge,
        RejectCode::EnvelopeTooManyEvents,
        RejectCode::UnknownDictionary,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_unique() {
        let mut slugs: Vec<_> = RejectCode::ALL.iter().map(|c| c.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), RejectCode::ALL.len());
    }
}

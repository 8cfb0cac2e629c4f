use thiserror::Error;

/// Why bytes from the network are not a valid frame.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WireError {
    /// The frame is larger than [`crate::limits::MAX_FRAME_BYTES`].
    #[error("The frame is {size} bytes long, more than the {limit} bytes allowed.")]
    FrameTooLarge {
        /// Size of the rejected frame.
        size: usize,
        /// The limit it exceeded.
        limit: usize,
    },
    /// A field is longer than its limit in [`crate::limits`].
    #[error("The field {field} has {size} elements or bytes, more than the {limit} allowed.")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its size.
        size: usize,
        /// The limit it exceeded.
        limit: usize,
    },
    /// A fixed-size field has the wrong size.
    #[error("The field {field} is {size} bytes long instead of {expected}.")]
    WrongLength {
        /// The field.
        field: &'static str,
        /// Its size.
        size: usize,
        /// The size it must have.
        expected: usize,
    },
    /// The bytes are not a well-formed frame of this version.
    #[error("The frame could not be decoded: {0}.")]
    Malformed(String),
    /// The frame was followed by unexpected bytes.
    #[error("The frame is followed by {0} unexpected bytes.")]
    TrailingBytes(usize),
}

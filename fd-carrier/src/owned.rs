//! Serde functions for a field that holds a descriptor: `#[serde(with = "fd_carrier::owned")]`
//! on an [`OwnedFd`] (serializing takes any [`AsFd`], so `serialize_with` works on a `File`
//! or a `UnixStream` too).
//!
//! The field serializes as its index in the list [`collect`](crate::collect) gathers (a `u32`),
//! and deserializes by taking that index from the list [`deliver`](crate::deliver) was given.

use std::os::fd::{AsFd, OwnedFd};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Serializes `fd` as the index of its duplicate in the list being collected.
///
/// # Errors
///
/// Outside [`collect`](crate::collect), or if the descriptor cannot be duplicated: the
/// serializer's error, with [`Error`](crate::Error)'s message.
pub fn serialize<F: AsFd, S: Serializer>(fd: &F, serializer: S) -> Result<S::Ok, S::Error> {
    let index = crate::carry(fd.as_fd()).map_err(serde::ser::Error::custom)?;
    index.serialize(serializer)
}

/// Deserializes an index and takes that descriptor from the list being delivered.
///
/// # Errors
///
/// Outside [`deliver`](crate::deliver), or for an index that names no descriptor received or
/// one already taken: the deserializer's error, with [`Error`](crate::Error)'s message.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<OwnedFd, D::Error> {
    let index = u32::deserialize(deserializer)?;
    crate::take(index).map_err(serde::de::Error::custom)
}

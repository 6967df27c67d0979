//! Trace and span identifiers: fixed-size byte arrays parsed from OTLP bytes
//! or hex (either case), always rendered as lower-case hex.

use std::fmt;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{what} must be {expected} bytes, got {actual}")]
    Length { what: &'static str, expected: usize, actual: usize },
    #[error("{what} is not valid hex")]
    Hex { what: &'static str },
    #[error("{what} must not be all zeros")]
    Zero { what: &'static str },
}

fn from_bytes<const N: usize>(what: &'static str, bytes: &[u8]) -> Result<[u8; N], IdError> {
    let id: [u8; N] = bytes.try_into().map_err(|_| IdError::Length { what, expected: N, actual: bytes.len() })?;
    if id.iter().all(|b| *b == 0) {
        return Err(IdError::Zero { what });
    }
    Ok(id)
}

fn from_hex<const N: usize>(what: &'static str, hex: &str) -> Result<[u8; N], IdError> {
    if hex.len() != 2 * N {
        return Err(IdError::Length { what, expected: N, actual: hex.len() / 2 });
    }
    let mut id = [0u8; N];
    for (slot, pair) in id.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        *slot = hex_byte(pair).ok_or(IdError::Hex { what })?;
    }
    from_bytes(what, &id)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The byte of a pair of hex digits.
fn hex_byte(pair: &[u8]) -> Option<u8> {
    Some((nibble(*pair.first()?)? << 4) | nibble(*pair.get(1)?)?)
}

/// Bytes from hex in either case; `None` for an odd length or a non-hex digit.
pub fn bytes_from_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 {
        return None;
    }
    hex.as_bytes().chunks_exact(2).map(hex_byte).collect()
}

/// Lower-case hex of bytes, without going through `fmt`.
// A nibble (`b >> 4`, `b & 0xf` of a byte) is below 16, the length of `DIGITS`.
#[allow(clippy::indexing_slicing)]
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        out.push(char::from(DIGITS[(b >> 4) as usize]));
        out.push(char::from(DIGITS[(b & 0xf) as usize]));
    }
    out
}

macro_rules! id_type {
    ($name:ident, $len:expr, $what:expr) => {
        #[doc = concat!("A ", $what, ": ", stringify!($len), " bytes, never all zeros.")]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; $len]);

        impl $name {
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
                from_bytes($what, bytes).map(Self)
            }
            pub fn from_hex(hex: &str) -> Result<Self, IdError> {
                from_hex($what, hex).map(Self)
            }
            /// `None` for an absent id (empty or all zeros), as OTLP sends "no parent" or "no trace".
            pub fn from_optional_bytes(bytes: &[u8]) -> Result<Option<Self>, IdError> {
                if bytes.iter().all(|b| *b == 0) {
                    Ok(None)
                } else {
                    Self::from_bytes(bytes).map(Some)
                }
            }
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
            /// Lower-case hex (what `Display` shows, faster than `to_string`).
            pub fn to_hex(&self) -> String {
                hex(&self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self)
            }
        }
    };
}

id_type!(TraceId, 16, "trace id");
id_type!(SpanId, 8, "span id");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_through_hex() {
        assert_eq!(bytes_from_hex(&hex(&[0, 0xAB, 0xff])), Some(vec![0, 0xab, 0xff]));
        assert_eq!(bytes_from_hex("0A0b"), Some(vec![10, 11]));
        assert_eq!(bytes_from_hex(""), Some(vec![]));
        assert_eq!(bytes_from_hex("abc"), None);
        assert_eq!(bytes_from_hex("zz"), None);
    }

    #[test]
    fn hex_ids_parse_in_either_case_and_render_lower_case() {
        let id = TraceId::from_hex("5B8EFFF798038103D269B633813FC60C").unwrap();
        assert_eq!(id.to_string(), "5b8efff798038103d269b633813fc60c");
        assert_eq!(id.to_hex(), id.to_string());
        assert_eq!(SpanId::from_hex("EEE19B7EC3C1B174").unwrap().to_string(), "eee19b7ec3c1b174");
    }

    #[test]
    fn ids_of_the_wrong_length_are_refused_with_the_lengths() {
        let err = SpanId::from_bytes(&[1, 2, 3]).unwrap_err();
        assert_eq!(err.to_string(), "span id must be 8 bytes, got 3");
        assert!(matches!(TraceId::from_hex("abcd"), Err(IdError::Length { .. })));
    }

    #[test]
    fn all_zero_and_non_hex_ids_are_refused() {
        assert_eq!(SpanId::from_bytes(&[0; 8]), Err(IdError::Zero { what: "span id" }));
        assert_eq!(SpanId::from_hex("zzzzzzzzzzzzzzzz"), Err(IdError::Hex { what: "span id" }));
    }
}

//! A borrowing protobuf wire-format reader: yields fields as `(number, value)`
//! with length-delimited values as sub-slices of the input, so decoding a
//! message allocates nothing for strings and bytes.

use super::DecodeError;

/// One field's payload, by wire type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WireValue<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// The next field, or `None` at the end of the message.
    pub fn next_field(&mut self) -> Result<Option<(u32, WireValue<'a>)>, DecodeError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).map_err(|_| malformed("field number out of range"))?;
        if number == 0 {
            return Err(malformed("field number 0"));
        }
        let value = match key & 7 {
            0 => WireValue::Varint(self.varint()?),
            1 => WireValue::Fixed64(u64::from_le_bytes(self.array()?)),
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| malformed("length out of range"))?;
                WireValue::Bytes(self.take(len)?)
            }
            5 => WireValue::Fixed32(u32::from_le_bytes(self.array()?)),
            other => return Err(malformed(&format!("unsupported wire type {other}"))),
        };
        Ok(Some((number, value)))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let (head, tail) = self.buf.split_at_checked(n).ok_or_else(|| malformed("message truncated"))?;
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, tail) = self.buf.split_first_chunk().ok_or_else(|| malformed("message truncated"))?;
        self.buf = tail;
        Ok(*head)
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        let mut rest = self.buf;
        for shift in (0..64).step_by(7) {
            let Some((&byte, tail)) = rest.split_first() else { break };
            rest = tail;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                self.buf = rest;
                return Ok(value);
            }
        }
        Err(malformed("invalid varint"))
    }
}

fn malformed(what: &str) -> DecodeError {
    DecodeError::Malformed(format!("invalid protobuf: {what}"))
}

/// How many times each of `numbers` occurs in a message, so repeated fields
/// can be collected into vectors of the right size at once.
pub fn field_counts<const N: usize>(buf: &[u8], numbers: [u32; N]) -> Result<[usize; N], DecodeError> {
    let mut counts = [0; N];
    let mut r = Reader::new(buf);
    while let Some((n, _)) = r.next_field()? {
        if let Some((_, count)) = numbers.iter().zip(&mut counts).find(|(k, _)| **k == n) {
            *count += 1;
        }
    }
    Ok(counts)
}

/// Typed views of a field, each failing with the field's name when the wire type is wrong.
impl<'a> WireValue<'a> {
    pub fn bytes(self, field: &str) -> Result<&'a [u8], DecodeError> {
        match self {
            WireValue::Bytes(b) => Ok(b),
            _ => Err(wrong_type(field)),
        }
    }

    pub fn str(self, field: &str) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.bytes(field)?)
            .map_err(|_| DecodeError::Malformed(format!("invalid protobuf: {field} is not valid UTF-8")))
    }

    pub fn varint(self, field: &str) -> Result<u64, DecodeError> {
        match self {
            WireValue::Varint(v) => Ok(v),
            _ => Err(wrong_type(field)),
        }
    }

    pub fn fixed64(self, field: &str) -> Result<u64, DecodeError> {
        match self {
            WireValue::Fixed64(v) => Ok(v),
            _ => Err(wrong_type(field)),
        }
    }

    pub fn fixed32(self, field: &str) -> Result<u32, DecodeError> {
        match self {
            WireValue::Fixed32(v) => Ok(v),
            _ => Err(wrong_type(field)),
        }
    }
}

/// Repeated scalar fields, packed (one length-delimited run) or not (one field each).
impl<'a> WireValue<'a> {
    /// A repeated `fixed64` / `double` field, as raw 64-bit words.
    pub fn push_fixed64s(self, field: &str, out: &mut Vec<u64>) -> Result<(), DecodeError> {
        match self {
            WireValue::Fixed64(v) => out.push(v),
            WireValue::Bytes(b) if b.len() % 8 == 0 => {
                let mut r = Reader::new(b);
                while !r.buf.is_empty() {
                    out.push(u64::from_le_bytes(r.array()?));
                }
            }
            _ => return Err(wrong_type(field)),
        }
        Ok(())
    }

    /// A repeated varint field (`uint64`).
    pub fn push_varints(self, field: &str, out: &mut Vec<u64>) -> Result<(), DecodeError> {
        match self {
            WireValue::Varint(v) => out.push(v),
            WireValue::Bytes(b) => {
                let mut r = Reader::new(b);
                while !r.buf.is_empty() {
                    out.push(r.varint()?);
                }
            }
            _ => return Err(wrong_type(field)),
        }
        Ok(())
    }

    /// A `sint32` (zigzag) field.
    pub fn sint32(self, field: &str) -> Result<i32, DecodeError> {
        let v = self.varint(field)?;
        Ok(((v >> 1) as i64 ^ -((v & 1) as i64)) as i32)
    }

    /// A `double` field.
    pub fn double(self, field: &str) -> Result<f64, DecodeError> {
        self.fixed64(field).map(f64::from_bits)
    }
}

fn wrong_type(field: &str) -> DecodeError {
    DecodeError::Malformed(format!("invalid protobuf: wrong wire type for {field}"))
}

/// Appends a varint (used to encode our small responses).
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_every_wire_type_are_read_in_order() {
        // field 1 varint 300, field 2 bytes "hi", field 3 fixed64 7, field 4 fixed32 9
        let mut buf = vec![0x08];
        put_varint(&mut buf, 300);
        buf.extend([0x12, 2, b'h', b'i', 0x19, 7, 0, 0, 0, 0, 0, 0, 0, 0x25, 9, 0, 0, 0]);
        let mut r = Reader::new(&buf);
        assert_eq!(r.next_field().unwrap(), Some((1, WireValue::Varint(300))));
        assert_eq!(r.next_field().unwrap(), Some((2, WireValue::Bytes(b"hi"))));
        assert_eq!(r.next_field().unwrap(), Some((3, WireValue::Fixed64(7))));
        assert_eq!(r.next_field().unwrap(), Some((4, WireValue::Fixed32(9))));
        assert_eq!(r.next_field().unwrap(), None);
    }

    #[test]
    fn repeated_fields_are_counted() {
        let buf = [0x08, 1, 0x12, 0, 0x08, 2, 0x1a, 0];
        assert_eq!(field_counts(&buf, [1, 2, 9]).unwrap(), [2, 1, 0]);
    }

    #[test]
    fn truncated_and_invalid_input_is_an_error_not_a_panic() {
        for bad in [
            &[0x12, 5, b'a'][..],
            &[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            &[0x0b],
            &[0x00],
            &[0x09, 1, 2],
        ] {
            let mut r = Reader::new(bad);
            assert!(r.next_field().is_err(), "{bad:?}");
        }
    }
}

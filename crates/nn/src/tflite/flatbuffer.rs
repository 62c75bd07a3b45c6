//! A bounds-checked reader for the FlatBuffers wire format, just enough for TFLite files.
//!
//! Every access checks its offsets, so a truncated or foreign file gives an error and
//! never a panic or an out-of-bounds read.

use super::TfliteError;

type Result<T> = std::result::Result<T, TfliteError>;

/// The whole file; tables and vectors are positions in it.
#[derive(Clone, Copy)]
pub struct Buffer<'a> {
    bytes: &'a [u8],
}

/// A table: its position, and its vtable's position and length.
#[derive(Clone, Copy)]
pub struct Table<'a> {
    buf: Buffer<'a>,
    pos: usize,
    vtable: usize,
    vtable_len: usize,
}

/// A vector of `len` elements of `stride` bytes starting at `pos`.
#[derive(Clone, Copy)]
pub struct Vector<'a> {
    buf: Buffer<'a>,
    pos: usize,
    len: usize,
}

fn corrupt(what: impl Into<String>) -> TfliteError {
    TfliteError::Malformed(what.into())
}

impl<'a> Buffer<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    fn slice(&self, pos: usize, len: usize) -> Result<&'a [u8]> {
        pos.checked_add(len)
            .and_then(|end| self.bytes.get(pos..end))
            .ok_or_else(|| {
                corrupt(format!(
                    "offset {pos} (+{len} bytes) lies past the end of the file ({} bytes)",
                    self.bytes.len()
                ))
            })
    }

    pub fn u8(&self, pos: usize) -> Result<u8> {
        Ok(self.slice(pos, 1)?[0])
    }

    pub fn u16(&self, pos: usize) -> Result<u16> {
        Ok(u16::from_le_bytes(
            self.slice(pos, 2)?.try_into().expect("2 bytes"),
        ))
    }

    pub fn u32(&self, pos: usize) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.slice(pos, 4)?.try_into().expect("4 bytes"),
        ))
    }

    pub fn i32(&self, pos: usize) -> Result<i32> {
        Ok(self.u32(pos)? as i32)
    }

    pub fn u64(&self, pos: usize) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.slice(pos, 8)?.try_into().expect("8 bytes"),
        ))
    }

    /// Follows the unsigned offset stored at `pos`.
    fn indirect(&self, pos: usize) -> Result<usize> {
        pos.checked_add(self.u32(pos)? as usize)
            .ok_or_else(|| corrupt(format!("offset at {pos} overflows")))
    }

    /// The root table, whose offset is the file's first word.
    pub fn root(&self) -> Result<Table<'a>> {
        self.table(self.indirect(0)?)
    }

    /// The 4-byte file identifier after the root offset.
    pub fn identifier(&self) -> Result<&'a [u8]> {
        self.slice(4, 4)
    }

    fn table(&self, pos: usize) -> Result<Table<'a>> {
        let soffset = self.i32(pos)? as i64;
        let vtable = usize::try_from(pos as i64 - soffset).map_err(|_| {
            corrupt(format!(
                "table at {pos} points its vtable before the file start"
            ))
        })?;
        let vtable_len = self.u16(vtable)? as usize;
        if vtable_len < 4 {
            return Err(corrupt(format!(
                "vtable at {vtable} is {vtable_len} bytes long"
            )));
        }
        self.slice(vtable, vtable_len)?;
        Ok(Table {
            buf: *self,
            pos,
            vtable,
            vtable_len,
        })
    }
}

impl<'a> Table<'a> {
    /// Where field `id` lives, or `None` when the file leaves it at its default.
    fn field(&self, id: usize) -> Result<Option<usize>> {
        let entry = 4 + 2 * id;
        if entry + 2 > self.vtable_len {
            return Ok(None);
        }
        match self.buf.u16(self.vtable + entry)? {
            0 => Ok(None),
            offset => Ok(Some(self.pos + offset as usize)),
        }
    }

    pub fn u8_or(&self, id: usize, default: u8) -> Result<u8> {
        self.field(id)?.map_or(Ok(default), |p| self.buf.u8(p))
    }

    pub fn i8_or(&self, id: usize, default: i8) -> Result<i8> {
        Ok(self.u8_or(id, default as u8)? as i8)
    }

    pub fn bool_or(&self, id: usize, default: bool) -> Result<bool> {
        Ok(self.u8_or(id, default as u8)? != 0)
    }

    pub fn i32_or(&self, id: usize, default: i32) -> Result<i32> {
        self.field(id)?.map_or(Ok(default), |p| self.buf.i32(p))
    }

    pub fn u32_or(&self, id: usize, default: u32) -> Result<u32> {
        self.field(id)?.map_or(Ok(default), |p| self.buf.u32(p))
    }

    pub fn u64_or(&self, id: usize, default: u64) -> Result<u64> {
        self.field(id)?.map_or(Ok(default), |p| self.buf.u64(p))
    }

    pub fn table(&self, id: usize) -> Result<Option<Table<'a>>> {
        self.field(id)?
            .map(|p| self.buf.table(self.buf.indirect(p)?))
            .transpose()
    }

    pub fn vector(&self, id: usize) -> Result<Option<Vector<'a>>> {
        self.field(id)?
            .map(|p| {
                let pos = self.buf.indirect(p)?;
                let len = self.buf.u32(pos)? as usize;
                Ok(Vector {
                    buf: self.buf,
                    pos: pos + 4,
                    len,
                })
            })
            .transpose()
    }

    pub fn string(&self, id: usize) -> Result<Option<String>> {
        self.vector(id)?
            .map(|v| Ok(String::from_utf8_lossy(v.bytes()?).into_owned()))
            .transpose()
    }

    /// A vector of 32-bit ints, empty when absent.
    pub fn i32s(&self, id: usize) -> Result<Vec<i32>> {
        self.vector(id)?.map_or(Ok(Vec::new()), |v| {
            (0..v.len).map(|i| v.buf.i32(v.pos + 4 * i)).collect()
        })
    }

    /// A vector of tables, empty when absent.
    pub fn tables(&self, id: usize) -> Result<Vec<Table<'a>>> {
        self.vector(id)?.map_or(Ok(Vec::new()), |v| {
            (0..v.len)
                .map(|i| v.buf.table(v.buf.indirect(v.pos + 4 * i)?))
                .collect()
        })
    }
}

impl<'a> Vector<'a> {
    /// The elements' bytes, for a vector of one-byte elements.
    pub fn bytes(&self) -> Result<&'a [u8]> {
        self.buf.slice(self.pos, self.len)
    }

    /// The elements' bytes for elements of `stride` bytes.
    pub fn bytes_of(&self, stride: usize) -> Result<&'a [u8]> {
        let len = self
            .len
            .checked_mul(stride)
            .ok_or_else(|| corrupt("vector length overflows"))?;
        self.buf.slice(self.pos, len)
    }
}

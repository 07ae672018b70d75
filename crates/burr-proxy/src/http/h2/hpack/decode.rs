//! The HPACK decoder (RFC 7541 §3, §6): one per HTTP/2 connection, it turns each header block into
//! fields and keeps the dynamic table in step with the peer's encoder.
//!
//! Nothing is allocated per field: names and values are handed out as slices of the block, of
//! the dynamic table, of the static table, or of two scratch buffers the decoder owns (Huffman
//! output, reused from block to block). Malformed input is an error, never a panic: every read is
//! bounds-checked and integers are bounded (see [`read_int`]).

use super::huffman;
use super::table::{DynamicTable, ENTRY_OVERHEAD, STATIC, STATIC_LEN};

/// Why a header block was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// The block is not valid HPACK (the reason, for logs): a connection error of type
    /// COMPRESSION_ERROR (RFC 9113 §4.3), as the dynamic table may now be out of step.
    Compression(&'static str),
    /// The fields' size (RFC 9113 §6.5.2) passed the limit; the block was decoded to its end, so
    /// the table is in step and the connection can go on (the stream gets an error).
    ListTooLarge,
}

/// The decoding side of one connection's HPACK context.
pub(crate) struct Decoder {
    table: DynamicTable,
    /// The limit of dynamic table size updates: the SETTINGS_HEADER_TABLE_SIZE burr advertises.
    max_table_size: usize,
    /// Huffman output of the current field's name and value.
    name_buf: Vec<u8>,
    value_buf: Vec<u8>,
}

/// Where a decoded string is: in the block (raw, `start..end`) or in a scratch buffer (Huffman).
#[derive(Clone, Copy)]
enum Str {
    Block(usize, usize),
    Scratch,
}

impl Str {
    fn get<'a>(self, block: &'a [u8], scratch: &'a [u8]) -> &'a [u8] {
        match self {
            Str::Block(start, end) => &block[start..end],
            Str::Scratch => scratch,
        }
    }
}

/// A literal's name: an index into the tables, or a string.
#[derive(Clone, Copy)]
enum Name {
    Index(usize),
    Literal(Str),
}

impl Decoder {
    /// `max_table_size`: the SETTINGS_HEADER_TABLE_SIZE burr advertises (4096).
    pub(crate) fn new(max_table_size: usize) -> Self {
        Self {
            table: DynamicTable::new(max_table_size),
            max_table_size,
            name_buf: Vec::new(),
            value_buf: Vec::new(),
        }
    }

    /// Decodes one complete header block (HEADERS + CONTINUATION payloads joined), calling
    /// `field(name, value)` for each field in order. The slices live only for the call.
    /// Always decodes the whole block so the dynamic table stays in step with the peer's
    /// encoder; once the fields' size (RFC 9113 §6.5.2: name + value + 32 each) passes
    /// `max_list_size`, `field` is not called again and the result is Err(ListTooLarge)
    /// (after the whole block was decoded). Any malformed input -> Err(Compression(reason)),
    /// which the driver turns into a connection error COMPRESSION_ERROR.
    pub(crate) fn decode(
        &mut self,
        block: &[u8],
        max_list_size: usize,
        mut field: impl FnMut(&[u8], &[u8]),
    ) -> Result<(), DecodeError> {
        let mut pos = 0;
        let mut list_size = 0usize;
        let mut emit = |name: &[u8], value: &[u8]| {
            list_size = list_size.saturating_add(name.len() + value.len() + ENTRY_OVERHEAD);
            if list_size <= max_list_size {
                field(name, value);
            }
        };
        // Size updates may only come before the first field (RFC 7541 §4.2).
        let mut fields_seen = false;
        while let Some(&first) = block.get(pos) {
            if first & 0x80 != 0 {
                // §6.1 Indexed Header Field.
                let index = read_int(block, &mut pos, 7)?;
                let (name, value) = lookup(&self.table, index)?;
                emit(name, value);
            } else if first & 0xe0 == 0x20 {
                // §6.3 Dynamic Table Size Update.
                if fields_seen {
                    return Err(compression("table size update after a field"));
                }
                let size = read_int(block, &mut pos, 5)?;
                if size > self.max_table_size {
                    return Err(compression("table size update above the advertised size"));
                }
                self.table.set_max_size(size);
                continue;
            } else {
                // §6.2.1 with incremental indexing (01), §6.2.2 without (0000), §6.2.3 never
                // indexed (0001): the same layout but for the prefix length.
                let indexing = first & 0x40 != 0;
                let prefix = if indexing { 6 } else { 4 };
                let name = match read_int(block, &mut pos, prefix)? {
                    0 => Name::Literal(read_string(block, &mut pos, &mut self.name_buf)?),
                    index => Name::Index(index),
                };
                let value = read_string(block, &mut pos, &mut self.value_buf)?;
                let value = value.get(block, &self.value_buf);
                if indexing {
                    let name = match name {
                        Name::Literal(s) => s.get(block, &self.name_buf),
                        Name::Index(i) if i <= STATIC_LEN => STATIC[i - 1].0,
                        Name::Index(i) => {
                            // The new entry may evict the one its name comes from and be
                            // written over its bytes (§4.4): the name is copied out first.
                            let name = lookup(&self.table, i)?.0;
                            self.name_buf.clear();
                            self.name_buf.extend_from_slice(name);
                            &self.name_buf
                        }
                    };
                    emit(name, value);
                    self.table.insert(name, value);
                } else {
                    let name = match name {
                        Name::Literal(s) => s.get(block, &self.name_buf),
                        Name::Index(i) => lookup(&self.table, i)?.0,
                    };
                    emit(name, value);
                }
            }
            fields_seen = true;
        }
        if list_size > max_list_size {
            return Err(DecodeError::ListTooLarge);
        }
        Ok(())
    }

    /// The dynamic table (tests look at its entries and size).
    #[cfg(test)]
    pub(super) fn table(&self) -> &DynamicTable {
        &self.table
    }
}

/// The field at `index` of the static table (1-61) or of `table` (62-).
fn lookup(table: &DynamicTable, index: usize) -> Result<(&[u8], &[u8]), DecodeError> {
    match index {
        0 => Err(compression("index 0")),
        1..=STATIC_LEN => Ok(STATIC[index - 1]),
        _ => table
            .get(index - STATIC_LEN - 1)
            .ok_or(compression("index past the tables")),
    }
}

fn compression(reason: &'static str) -> DecodeError {
    DecodeError::Compression(reason)
}

/// The most continuation bytes an integer may have: 4 carry 28 bits, far past any length or
/// index a block can hold, so the value can neither overflow nor wrap a `usize` (even a 32-bit
/// one), and a run of 0x80 bytes cannot keep the decoder looping.
const MAX_CONTINUATION: u32 = 4;

/// Reads an integer with a `prefix`-bit prefix (RFC 7541 §5.1) starting at `block[*pos]` (which
/// exists), leaving `pos` after it.
fn read_int(block: &[u8], pos: &mut usize, prefix: u32) -> Result<usize, DecodeError> {
    let max_prefix = (1usize << prefix) - 1;
    let mut value = usize::from(block[*pos]) & max_prefix;
    *pos += 1;
    if value < max_prefix {
        return Ok(value);
    }
    for shift in (0..MAX_CONTINUATION).map(|i| 7 * i) {
        let Some(&byte) = block.get(*pos) else {
            return Err(compression("integer runs past the block"));
        };
        *pos += 1;
        value += usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(compression("integer too long"))
}

/// Reads a string literal (RFC 7541 §5.2) at `block[*pos]`: raw, it stays in the block; Huffman
/// coded, it is decoded into `scratch`.
fn read_string(block: &[u8], pos: &mut usize, scratch: &mut Vec<u8>) -> Result<Str, DecodeError> {
    let Some(&first) = block.get(*pos) else {
        return Err(compression("field runs past the block"));
    };
    let len = read_int(block, pos, 7)?;
    let start = *pos;
    // `len` < 2^29 (read_int's bound): no overflow.
    let end = start + len;
    if end > block.len() {
        return Err(compression("string runs past the block"));
    }
    *pos = end;
    if first & 0x80 == 0 {
        return Ok(Str::Block(start, end));
    }
    huffman::decode(&block[start..end], scratch).map_err(compression)?;
    Ok(Str::Scratch)
}

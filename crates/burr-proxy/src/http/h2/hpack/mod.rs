//! HPACK (RFC 7541), the header compression of burr's own HTTP/2 server codec: this module owns
//! turning a received header block into fields ([`Decoder`], one per connection, holding the
//! dynamic table the peer's encoder fills) and turning a response's fields into a header block
//! ([`encode_status`], [`encode_field`]: stateless, static table only). Framing (HEADERS and
//! CONTINUATION, which joins a block's pieces), SETTINGS and the checks of RFC 9113 §8 on the
//! decoded fields (pseudo-fields, lowercase names, forbidden characters) are the frame layer's
//! (`h2::frame`) and the connection driver's (`h2::server`).

mod decode;
mod encode;
mod huffman;
mod huffman_codes;
mod table;

#[cfg(test)]
mod differential;
#[cfg(test)]
mod tests;

pub(crate) use decode::{DecodeError, Decoder};
pub(crate) use encode::{encode_field, encode_status};

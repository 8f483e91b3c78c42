//! SPDY/3 frames as kubectl's port-forward sends and reads them (the framing of
//! draft-mbelshe-httpbis-spdy-00): 8-byte headers, control frames with a version and a type,
//! data frames with a stream id, and name/value header blocks compressed with zlib over the
//! spec's dictionary, one compression context per direction for the whole connection.
//!
//! Shared by the lab's API server (the kubelet's side, `lab::kube::spdy`) and the forward's
//! multiplexed tunnel (the client's side, `forward::tunnel`). Every header block received
//! (SYN_STREAM, SYN_REPLY, HEADERS) goes through the reader's one inflate context, in order, or
//! the next block would not inflate.

use std::collections::HashMap;
use std::io;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio::io::{AsyncRead, AsyncReadExt};

pub const VERSION: u16 = 3;
pub const SYN_STREAM: u16 = 1;
pub const SYN_REPLY: u16 = 2;
pub const RST_STREAM: u16 = 3;
pub const PING: u16 = 6;
pub const GOAWAY: u16 = 7;
pub const HEADERS: u16 = 8;
/// FIN on a data frame or a SYN_STREAM: the sender sends nothing more on the stream.
pub const FLAG_FIN: u8 = 0x01;
/// RST_STREAM status: the stream is refused.
pub const REFUSED_STREAM: u32 = 3;
/// A frame's payload is at most 2^24 - 1 bytes; a larger one is refused before it is read.
const MAX_LENGTH: usize = (1 << 24) - 1;

/// One frame read off the connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    Data {
        stream: u32,
        fin: bool,
        data: Vec<u8>,
    },
    SynStream {
        stream: u32,
        fin: bool,
        headers: HashMap<String, String>,
    },
    /// SYN_REPLY or HEADERS: the peer's headers for a stream it accepted.
    SynReply {
        stream: u32,
        fin: bool,
        headers: HashMap<String, String>,
    },
    RstStream {
        stream: u32,
    },
    Ping {
        id: u32,
    },
    GoAway,
    /// SETTINGS, WINDOW_UPDATE and the rest: nothing for either side here to do.
    Other,
}

/// The reading side: frames, with the peer's header decompression context.
pub struct Reader {
    inflate: Decompress,
}

impl Default for Reader {
    fn default() -> Reader {
        Reader::new()
    }
}

impl Reader {
    pub fn new() -> Reader {
        Reader { inflate: Decompress::new(true) }
    }

    /// The next frame; `Ok(None)` at a clean end of the connection.
    pub async fn next(&mut self, io: &mut (impl AsyncRead + Unpin)) -> io::Result<Option<Frame>> {
        let mut head = [0u8; 8];
        match io.read_exact(&mut head).await {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let flags = head[4];
        let length = u32::from_be_bytes([0, head[5], head[6], head[7]]) as usize;
        if length > MAX_LENGTH {
            return Err(invalid("a frame longer than 2^24 - 1 bytes"));
        }
        let mut payload = vec![0u8; length];
        io.read_exact(&mut payload).await?;
        let word = |at: usize| {
            payload.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        if head[0] & 0x80 == 0 {
            let stream = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            return Ok(Some(Frame::Data { stream, fin: flags & FLAG_FIN != 0, data: payload }));
        }
        let version = u16::from_be_bytes([head[0] & 0x7f, head[1]]);
        if version != VERSION {
            return Err(invalid(&format!("SPDY version {version}, not 3")));
        }
        let stream = word(0).map(|w| w & 0x7fff_ffff);
        let frame = match u16::from_be_bytes([head[2], head[3]]) {
            SYN_STREAM => {
                let stream = stream.ok_or_else(|| invalid("a short SYN_STREAM"))?;
                let block = payload.get(10..).ok_or_else(|| invalid("a short SYN_STREAM"))?;
                let headers = parse_headers(&self.inflate_block(block)?)?;
                Frame::SynStream { stream, fin: flags & FLAG_FIN != 0, headers }
            }
            SYN_REPLY | HEADERS => {
                let stream = stream.ok_or_else(|| invalid("a short SYN_REPLY"))?;
                let block = payload.get(4..).ok_or_else(|| invalid("a short SYN_REPLY"))?;
                let headers = parse_headers(&self.inflate_block(block)?)?;
                Frame::SynReply { stream, fin: flags & FLAG_FIN != 0, headers }
            }
            RST_STREAM => Frame::RstStream { stream: stream.ok_or_else(|| invalid("RST"))? },
            PING => Frame::Ping { id: word(0).ok_or_else(|| invalid("a short PING"))? },
            GOAWAY => Frame::GoAway,
            _ => Frame::Other,
        };
        Ok(Some(frame))
    }

    /// A header block, inflated with the connection's context (the dictionary set when the
    /// stream asks for it).
    fn inflate_block(&mut self, mut input: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(input.len() * 4 + 64);
        loop {
            if out.capacity() - out.len() < 1024 {
                out.reserve(out.capacity().max(4096));
            }
            let (before_in, before_out) = (self.inflate.total_in(), self.inflate.total_out());
            let result = self.inflate.decompress_vec(input, &mut out, FlushDecompress::Sync);
            let consumed = (self.inflate.total_in() - before_in) as usize;
            input = &input[consumed..];
            match result {
                Ok(Status::StreamEnd) => return Ok(out),
                Ok(_) if input.is_empty() && out.capacity() > out.len() => return Ok(out),
                Ok(_) if consumed == 0 && self.inflate.total_out() == before_out => {
                    return Err(invalid("a header block that does not inflate"));
                }
                Ok(_) => {}
                Err(e) if e.needs_dictionary().is_some() => {
                    self.inflate.set_dictionary(&dictionary()).map_err(io::Error::other)?;
                }
                Err(e) => {
                    return Err(invalid(&format!("a header block that does not inflate: {e}")));
                }
            }
        }
    }
}

/// The writing side: frames, with our header compression context.
pub struct Writer {
    deflate: Compress,
}

impl Writer {
    pub fn new() -> io::Result<Writer> {
        let mut deflate = Compress::new(Compression::default(), true);
        deflate.set_dictionary(&dictionary()).map_err(io::Error::other)?;
        Ok(Writer { deflate })
    }

    /// SYN_REPLY for `stream`, with no headers (as a kubelet answers).
    pub fn syn_reply(&mut self, stream: u32) -> io::Result<Vec<u8>> {
        let block = self.deflate_block(&0u32.to_be_bytes())?;
        let mut payload = stream.to_be_bytes().to_vec();
        payload.extend_from_slice(&block);
        Ok(control(SYN_REPLY, 0, &payload))
    }

    /// SYN_STREAM opening `stream` with `headers` (names in lower case, as SPDY/3 wants them).
    pub fn syn_stream(
        &mut self,
        stream: u32,
        headers: &[(&str, &str)],
        fin: bool,
    ) -> io::Result<Vec<u8>> {
        let mut block = (headers.len() as u32).to_be_bytes().to_vec();
        for (name, value) in headers {
            for text in [name, value] {
                block.extend_from_slice(&(text.len() as u32).to_be_bytes());
                block.extend_from_slice(text.as_bytes());
            }
        }
        // The stream, no associated stream, priority 0 and slot 0, then the block.
        let mut payload = (stream & 0x7fff_ffff).to_be_bytes().to_vec();
        payload.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        payload.extend_from_slice(&self.deflate_block(&block)?);
        Ok(control(SYN_STREAM, if fin { FLAG_FIN } else { 0 }, &payload))
    }

    fn deflate_block(&mut self, input: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(input.len() + 64);
        let mut input = input;
        loop {
            let before = self.deflate.total_in();
            self.deflate
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .map_err(io::Error::other)?;
            input = &input[(self.deflate.total_in() - before) as usize..];
            // A sync flush is complete once there was room left over.
            if input.is_empty() && out.len() < out.capacity() {
                return Ok(out);
            }
            out.reserve(out.capacity().max(64));
        }
    }
}

/// A data frame on `stream`.
pub fn data(stream: u32, fin: bool, bytes: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(8 + bytes.len());
    frame.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    frame.push(if fin { FLAG_FIN } else { 0 });
    frame.extend_from_slice(&(bytes.len() as u32).to_be_bytes()[1..]);
    frame.extend_from_slice(bytes);
    frame
}

/// RST_STREAM for `stream` with `status`.
pub fn rst_stream(stream: u32, status: u32) -> Vec<u8> {
    let mut payload = stream.to_be_bytes().to_vec();
    payload.extend_from_slice(&status.to_be_bytes());
    control(RST_STREAM, 0, &payload)
}

/// PING answered with its own id.
pub fn ping(id: u32) -> Vec<u8> {
    control(PING, 0, &id.to_be_bytes())
}

fn control(kind: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(8 + payload.len());
    frame.extend_from_slice(&(0x8000 | VERSION).to_be_bytes());
    frame.extend_from_slice(&kind.to_be_bytes());
    frame.push(flags);
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    frame.extend_from_slice(payload);
    frame
}

/// A name/value block: a count, then length-prefixed names and values (a value may hold
/// several, NUL-separated: the first is kept).
fn parse_headers(block: &[u8]) -> io::Result<HashMap<String, String>> {
    let mut at = 0;
    let mut word = || -> io::Result<usize> {
        let bytes = block.get(at..at + 4).ok_or_else(|| invalid("a short header block"))?;
        at += 4;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize)
    };
    let count = word()?;
    let mut at_string = 4;
    let mut headers = HashMap::new();
    for _ in 0..count {
        let mut string = || -> io::Result<String> {
            let bytes = block.get(at_string..at_string + 4).ok_or_else(|| invalid("header"))?;
            let len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
            let text = block
                .get(at_string + 4..at_string + 4 + len)
                .ok_or_else(|| invalid("a header longer than its block"))?;
            at_string += 4 + len;
            Ok(String::from_utf8_lossy(text).into_owned())
        };
        let name = string()?;
        let value = string()?;
        let first = value.split('\0').next().unwrap_or_default().to_owned();
        headers.insert(name.to_ascii_lowercase(), first);
    }
    Ok(headers)
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("SPDY: {what}"))
}

/// The header compression dictionary of SPDY/3 (draft-mbelshe-httpbis-spdy-00, 2.6.10.1):
/// these words, each after its length as a 4-byte big-endian number, then [`DICTIONARY_TAIL`].
const DICTIONARY_WORDS: [&str; 65] = [
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
];
const DICTIONARY_TAIL: &str = "100101201202205206300302303304305306307402405406407408409410411412\
413414415416417502504505203 Non-Authoritative Information204 No Content301 Moved Permanently400 \
Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not \
Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 \
Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,\
application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,\
deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

fn dictionary() -> Vec<u8> {
    let mut dict = Vec::with_capacity(1423);
    for word in DICTIONARY_WORDS {
        dict.extend_from_slice(&(word.len() as u32).to_be_bytes());
        dict.extend_from_slice(word.as_bytes());
    }
    dict.extend_from_slice(DICTIONARY_TAIL.as_bytes());
    dict
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syn_stream(writer: &mut Writer, stream: u32, headers: &[(&str, &str)]) -> Vec<u8> {
        writer.syn_stream(stream, headers, false).unwrap()
    }

    #[test]
    fn the_dictionary_is_the_specs_1423_bytes() {
        let dict = dictionary();
        assert_eq!(dict.len(), 1423);
        assert_eq!(&dict[..11], b"\0\0\0\x07options");
        assert!(dict.ends_with(b",enq=0."));
    }

    #[tokio::test]
    async fn frames_round_trip_with_headers_compressed_across_frames() {
        let mut writer = Writer::new().unwrap();
        let mut wire = Vec::new();
        let error = [("streamtype", "error"), ("port", "8080"), ("requestid", "0")];
        wire.extend(syn_stream(&mut writer, 1, &error));
        let data_headers = [("streamtype", "data"), ("port", "8080"), ("requestid", "0")];
        wire.extend(syn_stream(&mut writer, 3, &data_headers));
        wire.extend(data(3, false, b"hello"));
        wire.extend(ping(7));
        wire.extend(data(3, true, b""));
        wire.extend(writer.syn_reply(1).unwrap());
        wire.extend(syn_stream(&mut writer, 5, &error));

        let mut reader = Reader::new();
        let mut io = &wire[..];
        let Some(Frame::SynStream { stream: 1, headers, .. }) = reader.next(&mut io).await.unwrap()
        else {
            panic!("a SYN_STREAM first")
        };
        assert_eq!(headers["streamtype"], "error");
        let Some(Frame::SynStream { stream: 3, headers, .. }) = reader.next(&mut io).await.unwrap()
        else {
            panic!("the data stream")
        };
        assert_eq!((headers["streamtype"].as_str(), headers["port"].as_str()), ("data", "8080"));
        let hello = Frame::Data { stream: 3, fin: false, data: b"hello".to_vec() };
        assert_eq!(reader.next(&mut io).await.unwrap(), Some(hello));
        assert_eq!(reader.next(&mut io).await.unwrap(), Some(Frame::Ping { id: 7 }));
        let fin = Frame::Data { stream: 3, fin: true, data: Vec::new() };
        assert_eq!(reader.next(&mut io).await.unwrap(), Some(fin));
        let reply = Frame::SynReply { stream: 1, fin: false, headers: HashMap::new() };
        assert_eq!(reader.next(&mut io).await.unwrap(), Some(reply));
        // The SYN_REPLY's block went through the inflate context: the next block still inflates.
        let Some(Frame::SynStream { stream: 5, headers, .. }) = reader.next(&mut io).await.unwrap()
        else {
            panic!("a SYN_STREAM after the SYN_REPLY")
        };
        assert_eq!(headers["streamtype"], "error");
        assert_eq!(reader.next(&mut io).await.unwrap(), None);
    }
}

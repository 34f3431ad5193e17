//! A minimal `multipart/form-data` encoder (RFC 7578) for the upload bodies.
//!
//! The boundary is an argument, not drawn here, so that bodies are deterministic; the caller
//! supplies a fresh random one per request.

use bytes::{BufMut, Bytes, BytesMut};

use crate::InvalidInput;

/// One form field.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Part<'a> {
    pub(crate) name: &'a str,
    /// Present for file parts, which X reads as binary.
    pub(crate) filename: Option<&'a str>,
    pub(crate) content_type: Option<&'a str>,
    pub(crate) data: &'a [u8],
}

/// Checks a boundary against RFC 2046: 1 to 70 characters from its safe set, not ending in a
/// space. Letters, digits, `'()+_,-./:=?` and space are allowed.
pub(crate) fn check_boundary(boundary: &str) -> Result<(), InvalidInput> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&b);
    let ok = (1..=70).contains(&boundary.len())
        && boundary.bytes().all(allowed)
        && !boundary.ends_with(' ');
    if ok {
        Ok(())
    } else {
        Err(InvalidInput::new(
            "boundary",
            "not a valid multipart boundary",
            "1 to 70 of A-Z a-z 0-9 '()+_,-./:=? and space, not ending in a space",
        ))
    }
}

/// The `content-type` header value for a body with `boundary`.
pub(crate) fn content_type(boundary: &str) -> String {
    // Quoted, since the safe set includes characters that are not token characters.
    format!("multipart/form-data; boundary=\"{boundary}\"")
}

/// Encodes `parts` with a boundary already checked by [`check_boundary`].
///
/// Refuses a part whose data contains the delimiter, which would end the part early.
pub(crate) fn encode(boundary: &str, parts: &[Part<'_>]) -> Result<Bytes, InvalidInput> {
    let delimiter = format!("\r\n--{boundary}");
    for part in parts {
        if contains(part.data, delimiter.as_bytes()) {
            return Err(InvalidInput::new(
                "boundary",
                "occurs in the data being sent",
                "a boundary that does not occur in the media; draw another random one",
            ));
        }
    }
    let size: usize = parts.iter().map(|p| p.data.len() + 200).sum();
    let mut out = BytesMut::with_capacity(size + boundary.len() * (parts.len() + 1));
    for part in parts {
        out.put_slice(b"--");
        out.put_slice(boundary.as_bytes());
        out.put_slice(b"\r\ncontent-disposition: form-data; name=\"");
        out.put_slice(part.name.as_bytes());
        out.put_slice(b"\"");
        if let Some(filename) = part.filename {
            out.put_slice(b"; filename=\"");
            out.put_slice(filename.as_bytes());
            out.put_slice(b"\"");
        }
        out.put_slice(b"\r\n");
        if let Some(ct) = part.content_type {
            out.put_slice(b"content-type: ");
            out.put_slice(ct.as_bytes());
            out.put_slice(b"\r\n");
        }
        out.put_slice(b"\r\n");
        out.put_slice(part.data);
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"--");
    out.put_slice(boundary.as_bytes());
    out.put_slice(b"--\r\n");
    Ok(out.freeze())
}

/// Refuses `data` in which the boundary's delimiter occurs anywhere, so that every slice of it
/// can later be encoded with that boundary.
pub(crate) fn check_absent(boundary: &str, data: &[u8]) -> Result<(), InvalidInput> {
    let delimiter = format!("--{boundary}");
    if data
        .windows(delimiter.len())
        .any(|w| w == delimiter.as_bytes())
    {
        Err(InvalidInput::new(
            "boundary",
            "occurs in the media",
            "a boundary that does not occur in the media; draw another random one",
        ))
    } else {
        Ok(())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    // A part that starts with the delimiter minus its leading CRLF would also end the part
    // before it, since the encoder writes that CRLF itself.
    haystack.starts_with(&needle[2..]) || haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_text_and_file_parts() {
        let body = encode(
            "XyZ",
            &[
                Part {
                    name: "segment_index",
                    filename: None,
                    content_type: None,
                    data: b"3",
                },
                Part {
                    name: "media",
                    filename: Some("media"),
                    content_type: Some("application/octet-stream"),
                    data: b"\x00\x01bin",
                },
            ],
        )
        .unwrap();
        assert_eq!(
            &body[..],
            &b"--XyZ\r\ncontent-disposition: form-data; name=\"segment_index\"\r\n\r\n3\r\n\
               --XyZ\r\ncontent-disposition: form-data; name=\"media\"; filename=\"media\"\r\n\
               content-type: application/octet-stream\r\n\r\n\x00\x01bin\r\n--XyZ--\r\n"[..]
        );
        assert_eq!(content_type("XyZ"), "multipart/form-data; boundary=\"XyZ\"");
    }

    #[test]
    fn refuses_data_containing_the_delimiter() {
        for data in [&b"abc\r\n--XyZ--"[..], b"--XyZ and more"] {
            let part = Part {
                name: "media",
                filename: None,
                content_type: None,
                data,
            };
            let err = encode("XyZ", &[part]).unwrap_err();
            assert_eq!(err.parameter, "boundary");
        }
        let harmless = Part {
            name: "media",
            filename: None,
            content_type: None,
            data: b"x--XyZ",
        };
        assert!(encode("XyZ", &[harmless]).is_ok());
    }

    #[test]
    fn check_absent_scans_the_whole_file() {
        assert!(check_absent("XyZ", b"plain bytes -- XyZ").is_ok());
        assert!(check_absent("XyZ", b"middle--XyZmiddle").is_err());
    }

    #[test]
    fn checks_boundaries() {
        assert!(check_boundary("abc'()+_,-./:=? z").is_ok());
        assert!(check_boundary(&"a".repeat(70)).is_ok());
        for bad in ["", "trailing ", "quote\"", "semi;colon", "é"] {
            assert!(check_boundary(bad).is_err(), "{bad:?}");
        }
        assert!(check_boundary(&"a".repeat(71)).is_err());
    }
}

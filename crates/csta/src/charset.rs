//! Bytes → text: the byte-order mark, else the encoding named in the XML declaration,
//! decides how a document's bytes become characters (see "Leniency policy" in the crate
//! docs).
//!
//! UTF-8 (and ASCII-only text in a single-byte encoding) is borrowed, never copied;
//! UTF-16, ISO-8859-1 and Windows-1252 are transcoded into a new `String`, by hand: the
//! two single-byte encodings are a table, UTF-16 is `char::decode_utf16`.

use std::borrow::Cow;

use crate::error::DecodeError;

pub(crate) const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";
pub(crate) const UTF16_LE_BOM: &[u8] = b"\xff\xfe";
pub(crate) const UTF16_BE_BOM: &[u8] = b"\xfe\xff";

/// How far after `<?xml` the end of the declaration (`?>`) is looked for.
const DECLARATION_WINDOW: usize = 256;

/// Labels (compared ignoring ASCII case) read as UTF-8. A document that declares UTF-16
/// without a BOM is evidently not UTF-16 (its declaration reads as single bytes): UTF-8.
const UTF8_LABELS: &[&str] = &[
    "utf-8",
    "utf8",
    "unicode-1-1-utf-8",
    "us-ascii",
    "ascii",
    "utf-16",
    "utf-16le",
    "utf-16be",
];
/// The IANA names and aliases of ISO-8859-1.
const LATIN1_LABELS: &[&str] = &[
    "iso-8859-1",
    "iso8859-1",
    "iso_8859-1",
    "iso_8859-1:1987",
    "iso-ir-100",
    "latin1",
    "latin-1",
    "l1",
    "ibm819",
    "cp819",
    "csisolatin1",
];
const WINDOWS_1252_LABELS: &[&str] = &["windows-1252", "cp1252", "x-cp1252", "cswindows1252"];

/// Windows-1252 bytes 0x80–0x9F; everywhere else it is ISO-8859-1. The five bytes the
/// code page leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) map to the C1 control of
/// the same value, as in the WHATWG encoding standard.
const WINDOWS_1252_80_9F: [char; 32] = [
    '\u{20ac}', '\u{81}', '\u{201a}', '\u{192}', '\u{201e}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2c6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8d}', '\u{17d}', '\u{8f}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2dc}', '\u{2122}', '\u{161}', '\u{203a}', '\u{153}', '\u{9d}', '\u{17e}', '\u{178}',
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Charset {
    Utf8,
    Latin1,
    Windows1252,
}

/// The document as text. A BOM wins over the declaration (UTF-8, UTF-16 LE or BE); without
/// one, the declared encoding is used (UTF-8 when none is declared). Error offsets count
/// bytes of the input, BOM included.
pub(crate) fn document_text(bytes: &[u8]) -> Result<Cow<'_, str>, DecodeError> {
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        return utf8(rest, UTF8_BOM.len());
    }
    if let Some(rest) = bytes.strip_prefix(UTF16_LE_BOM) {
        return utf16(rest, u16::from_le_bytes).map(Cow::Owned);
    }
    if let Some(rest) = bytes.strip_prefix(UTF16_BE_BOM) {
        return utf16(rest, u16::from_be_bytes).map(Cow::Owned);
    }
    match declared_charset(bytes)? {
        Charset::Utf8 => utf8(bytes, 0),
        Charset::Latin1 => Ok(single_byte(bytes, char::from)),
        Charset::Windows1252 => Ok(single_byte(bytes, windows_1252)),
    }
}

fn utf8(bytes: &[u8], skipped: usize) -> Result<Cow<'_, str>, DecodeError> {
    std::str::from_utf8(bytes)
        .map(Cow::Borrowed)
        .map_err(|e| DecodeError::InvalidUtf8 {
            offset: skipped + e.valid_up_to(),
        })
}

/// UTF-16 after its 2-byte BOM: an odd length or an unpaired surrogate is an error.
fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, DecodeError> {
    let bom = UTF16_LE_BOM.len();
    let pairs = bytes.chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return Err(DecodeError::InvalidUtf16 {
            offset: bom + bytes.len() - 1,
        });
    }
    let units = pairs.map(|pair| <[u8; 2]>::try_from(pair).map_or(0, unit));
    let mut text = String::with_capacity(bytes.len());
    let mut consumed = 0usize;
    for c in char::decode_utf16(units) {
        let c = c.map_err(|_| DecodeError::InvalidUtf16 {
            offset: bom + 2 * consumed,
        })?;
        consumed += c.len_utf16();
        text.push(c);
    }
    Ok(text)
}

/// A single-byte encoding: ASCII-only input is borrowed as is.
fn single_byte(bytes: &[u8], decode: fn(u8) -> char) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.is_ascii() => Cow::Borrowed(text),
        _ => Cow::Owned(bytes.iter().map(|&b| decode(b)).collect()),
    }
}

fn windows_1252(byte: u8) -> char {
    match byte {
        0x80..=0x9f => WINDOWS_1252_80_9F
            .get(usize::from(byte - 0x80))
            .copied()
            .unwrap_or(char::from(byte)),
        _ => char::from(byte),
    }
}

fn declared_charset(bytes: &[u8]) -> Result<Charset, DecodeError> {
    let Some(label) = declared_encoding(bytes) else {
        return Ok(Charset::Utf8);
    };
    let is = |labels: &[&str]| {
        labels
            .iter()
            .any(|l| label.eq_ignore_ascii_case(l.as_bytes()))
    };
    if is(UTF8_LABELS) {
        Ok(Charset::Utf8)
    } else if is(LATIN1_LABELS) {
        Ok(Charset::Latin1)
    } else if is(WINDOWS_1252_LABELS) {
        Ok(Charset::Windows1252)
    } else {
        Err(DecodeError::UnsupportedEncoding {
            encoding: String::from_utf8_lossy(label).chars().take(40).collect(),
        })
    }
}

/// The value of `encoding="…"` in an XML declaration at the very start of `bytes`.
fn declared_encoding(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(b"<?xml")?;
    if !rest.first()?.is_ascii_whitespace() {
        return None;
    }
    let window = rest.get(..DECLARATION_WINDOW).unwrap_or(rest);
    let declaration = window.get(..memchr::memmem::find(window, b"?>")?)?;
    let after = declaration.get(memchr::memmem::find(declaration, b"encoding")? + 8..)?;
    let value = after
        .trim_ascii_start()
        .strip_prefix(b"=")?
        .trim_ascii_start();
    let quote = *value.first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let value = value.get(1..)?;
    value.get(..memchr::memchr(quote, value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_borrowed_and_other_encodings_are_transcoded() {
        let plain = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><A>\xc3\xbc</A>";
        assert!(matches!(document_text(plain), Ok(Cow::Borrowed(_))));
        let ascii = b"<?xml version='1.0' encoding='ISO-8859-1'?><A/>";
        assert!(matches!(document_text(ascii), Ok(Cow::Borrowed(_))));
        let latin1 = b"<?xml version=\"1.0\" encoding = \"latin1\" ?><A>M\xfcller \x80</A>";
        assert_eq!(
            document_text(latin1).as_deref(),
            Ok("<?xml version=\"1.0\" encoding = \"latin1\" ?><A>Müller \u{80}</A>")
        );
        let cp1252 = b"<?xml version=\"1.0\" encoding=\"windows-1252\"?><A>\x80\x96\x81\xff</A>";
        assert_eq!(
            document_text(cp1252).as_deref(),
            Ok("<?xml version=\"1.0\" encoding=\"windows-1252\"?><A>€–\u{81}ÿ</A>")
        );
        let utf16: Vec<u8> = "\u{feff}<A>Mü𝄞</A>"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(document_text(&utf16).as_deref(), Ok("<A>Mü𝄞</A>"));
    }

    #[test]
    fn bad_input_is_refused_with_its_offset() {
        assert_eq!(
            document_text(b"\xef\xbb\xbf<A>\xff</A>"),
            Err(DecodeError::InvalidUtf8 { offset: 6 })
        );
        assert_eq!(
            document_text(b"\xff\xfe<\x00A"),
            Err(DecodeError::InvalidUtf16 { offset: 4 })
        );
        assert_eq!(
            document_text(b"\xff\xfe<\x00\x00\xd8<\x00"),
            Err(DecodeError::InvalidUtf16 { offset: 4 })
        );
        assert_eq!(
            document_text(b"<?xml version=\"1.0\" encoding=\"EBCDIC-US\"?><A/>"),
            Err(DecodeError::UnsupportedEncoding {
                encoding: "EBCDIC-US".into()
            })
        );
        // Not a declaration: a processing instruction whose name starts with `xml`.
        assert!(document_text(b"<?xml-stylesheet encoding=\"x\"?><A/>").is_ok());
    }
}

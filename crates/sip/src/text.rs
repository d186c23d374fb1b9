//! Lexical pieces of the SIP grammar (RFC 3261 §25.1) shared by the header parsers:
//! tokens, quoted strings, and splitting a value at separators that are not inside a
//! quoted string or a `<...>` URI.

/// `token` characters: alphanumerics and `-.!%*_+`'~`.
pub(crate) fn is_token_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&byte)
}

/// A non-empty run of `token` characters.
pub(crate) fn is_token(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(is_token_char)
}

/// Writes `text` as a quoted string, escaping `"` and `\`.
pub(crate) fn write_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// The content of a quoted string that makes up all of `text` (`"a\"b"` → `a"b`); `None`
/// when `text` is not exactly one well-formed quoted string.
pub(crate) fn unquote(text: &str) -> Option<String> {
    let (content, rest) = take_quoted(text)?;
    rest.is_empty().then_some(content)
}

/// Reads a quoted string at the start of `text`: its unescaped content and what follows it.
pub(crate) fn take_quoted(text: &str) -> Option<(String, &str)> {
    let inner = text.strip_prefix('"')?;
    let mut content = String::new();
    let mut chars = inner.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((content, inner.get(at + 1..)?)),
            '\\' => content.push(chars.next()?.1),
            c => content.push(c),
        }
    }
    None
}

/// Splits `text` at every `separator` that is outside quoted strings and angle brackets.
/// Pieces are returned untrimmed; an unterminated quote or bracket runs to the end.
pub(crate) fn split_outside(text: &str, separator: u8) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut in_brackets = false;
    let mut escaped = false;
    for (at, byte) in text.bytes().enumerate() {
        if in_quotes {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_quotes = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_quotes = true,
            b'<' => in_brackets = true,
            b'>' => in_brackets = false,
            _ if byte == separator && !in_brackets => {
                pieces.push(text.get(start..at).unwrap_or_default());
                start = at + 1;
            }
            _ => {}
        }
    }
    pieces.push(text.get(start..).unwrap_or_default());
    pieces
}

/// Decodes `%HH` escapes for comparisons; malformed escapes stay as they are.
pub(crate) fn unescape(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        let escaped = (byte == b'%')
            .then(|| {
                Some((
                    hex_value(*bytes.get(at + 1)?)?,
                    hex_value(*bytes.get(at + 2)?)?,
                ))
            })
            .flatten();
        match escaped {
            Some((high, low)) => {
                out.push(high << 4 | low);
                at += 3;
            }
            None => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Lower-case hexadecimal of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let digit = |nibble: u8| char::from_digit(u32::from(nibble), 16).unwrap_or('0');
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(digit(byte >> 4));
        out.push(digit(byte & 0x0f));
    }
    out
}

/// Parses lower- or upper-case hexadecimal into exactly `N` bytes.
pub(crate) fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes = text.as_bytes();
    if bytes.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let [high, low] = pair else { return None };
        *slot = hex_value(*high)? << 4 | hex_value(*low)?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_strings_round_trip() {
        let text = r#"Bob "the builder" \ Smith"#;
        let mut quoted = String::new();
        write_quoted(&mut quoted, text);
        assert_eq!(quoted, r#""Bob \"the builder\" \\ Smith""#);
        assert_eq!(unquote(&quoted).as_deref(), Some(text));
        assert_eq!(unquote(r#""open"#), None);
        assert_eq!(unquote(r#""a" b"#), None);
        assert_eq!(take_quoted(r#""a" <x>"#), Some(("a".into(), " <x>")));
    }

    #[test]
    fn splits_outside_quotes_and_brackets() {
        let pieces = split_outside(r#""Doe, J" <sip:a@b;x=1,2>, <sip:c@d>,"#, b',');
        assert_eq!(pieces, [r#""Doe, J" <sip:a@b;x=1,2>"#, " <sip:c@d>", ""]);
        assert_eq!(
            split_outside(r#"a;b="x;\"y";c"#, b';'),
            ["a", r#"b="x;\"y""#, "c"]
        );
    }

    #[test]
    fn escapes_and_hex() {
        assert_eq!(unescape("al%69ce%2"), "alice%2");
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(unhex::<3>("00AB10"), Some([0, 0xab, 0x10]));
        assert_eq!(unhex::<2>("00ab1"), None);
        assert_eq!(unhex::<1>("zz"), None);
        assert!(is_token("z9hG4bK-74.bf9") && !is_token("a b") && !is_token(""));
    }
}

//! The strict side: builds well-formed, escaped XML into a `String`.
//!
//! Element names come from this crate (never from input), so only text, attribute
//! values and namespace URIs need escaping. Raw fragments kept by the reader are written
//! back verbatim: they were well-formed when they were read.

/// Appends XML to a string. Cheap to create; one per encoded document.
pub(crate) struct XmlWriter<'o> {
    out: &'o mut String,
}

impl<'o> XmlWriter<'o> {
    pub(crate) fn new(out: &'o mut String) -> XmlWriter<'o> {
        XmlWriter { out }
    }

    /// `<?xml version="1.0" encoding="UTF-8"?>`
    pub(crate) fn prolog(&mut self) {
        self.out
            .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    }

    /// `<Name xmlns="namespace">`; the namespace is one of this crate's constants.
    pub(crate) fn start_root(&mut self, name: &str, namespace: &'static str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(" xmlns=\"");
        self.out.push_str(namespace);
        self.out.push_str("\">");
    }

    pub(crate) fn start(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
    }

    /// `<name key="value">`
    pub(crate) fn start_with_attribute(&mut self, name: &str, key: &str, value: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(key);
        self.out.push_str("=\"");
        escape_into(self.out, value);
        self.out.push_str("\">");
    }

    pub(crate) fn end(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// `<name/>`
    pub(crate) fn empty(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str("/>");
    }

    pub(crate) fn text(&mut self, text: &str) {
        escape_into(self.out, text);
    }

    /// `<name>text</name>`
    pub(crate) fn text_element(&mut self, name: &str, text: &str) {
        self.start(name);
        self.text(text);
        self.end(name);
    }

    /// A fragment kept verbatim by the reader.
    pub(crate) fn raw(&mut self, fragment: &str) {
        self.out.push_str(fragment);
    }
}

/// Escapes `&`, `<`, `>`, `"` and `'`; characters XML 1.0 cannot carry at all (most C0
/// controls, U+FFFE, U+FFFF) become U+FFFD so the output is always well-formed.
/// `\t`, `\n` and `\r` are written as character references: a reader folds a literal
/// `\r` into `\n`, and all three into spaces inside attribute values.
pub(crate) fn escape_into(out: &mut String, text: &str) {
    let needs_work = |b: u8| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'' | 0xEF) || b < 0x20;
    if !text.bytes().any(needs_work) {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        escape_into(&mut out, text);
        out
    }

    #[test]
    fn escapes_markup_and_replaces_forbidden_characters() {
        assert_eq!(escaped("201"), "201");
        assert_eq!(
            escaped("N<302118840100>;noa=nk & \"x\""),
            "N&lt;302118840100&gt;;noa=nk &amp; &quot;x&quot;"
        );
        assert_eq!(escaped("a\u{1}b\u{ffff}\r"), "a\u{fffd}b\u{fffd}&#13;");
        assert_eq!(escaped("\u{fffd}ü"), "\u{fffd}ü");
    }

    #[test]
    fn writes_elements() {
        let mut out = String::new();
        let mut writer = XmlWriter::new(&mut out);
        writer.prolog();
        writer.start_root("MakeCall", "urn:x");
        writer.start_with_attribute("callingDevice", "typeOfNumber", "a\"b");
        writer.text("201");
        writer.end("callingDevice");
        writer.empty("notKnown");
        writer.text_element("x", "<");
        writer.raw("<y/>");
        writer.end("MakeCall");
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><MakeCall xmlns=\"urn:x\">\
             <callingDevice typeOfNumber=\"a&quot;b\">201</callingDevice><notKnown/>\
             <x>&lt;</x><y/></MakeCall>"
        );
    }
}

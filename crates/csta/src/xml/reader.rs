//! A forward-only cursor over one XML document that hands out child elements by local
//! name, so that callers never see namespace prefixes or editions.
//!
//! Borrowing: names, text and raw fragments are slices of the input where possible;
//! only text that contained entity references is copied.

use std::borrow::Cow;

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::error::DecodeError;
use crate::message::MAX_DEPTH;

/// Reads elements of one document in order; each reading method consumes exactly the
/// element it was given (up to and including its end tag).
/// Elements may nest at most [`MAX_DEPTH`] levels deep, the root being level 1.
pub(crate) struct Cursor<'a> {
    reader: Reader<&'a [u8]>,
    xml: &'a str,
    /// Elements handed out and not yet ended (the root is 1); see [`Cursor::check_depth`].
    depth: usize,
}

/// An element whose start tag has just been read.
pub(crate) struct Child<'a> {
    start: BytesStart<'a>,
    /// `<tag/>`: there is nothing more to read for it.
    empty: bool,
    /// Byte offset of its `<` in the document.
    offset: usize,
}

impl<'a> Child<'a> {
    /// The element name without its namespace prefix.
    pub(crate) fn local_name(&self) -> &str {
        self.start.local_name().into_inner()
    }

    /// The name as written, prefix included.
    pub(crate) fn qualified_name(&self) -> &str {
        self.start.name().into_inner()
    }

    /// The unescaped value of an attribute, matched by local name.
    pub(crate) fn attribute(&self, local_name: &str) -> Result<Option<String>, DecodeError> {
        for attribute in self.start.attributes().with_checks(false) {
            let attribute = attribute.map_err(|e| DecodeError::malformed(self.offset as u64, e))?;
            let key = attribute.key.into_inner();
            let key = key.rsplit(':').next().unwrap_or(key);
            if key == local_name {
                let value = attribute
                    .normalized_value(XmlVersion::Implicit1_0)
                    .map_err(|e| DecodeError::malformed(self.offset as u64, e))?;
                return Ok(Some(value.into_owned()));
            }
        }
        Ok(None)
    }

    /// The namespace the element's own prefix (or the default namespace) is bound to,
    /// if the binding is declared on this very element (as it is on document roots).
    pub(crate) fn declared_namespace(&self) -> Result<Option<String>, DecodeError> {
        self.namespace_in(&[])
    }

    /// The namespace the element's prefix (or the default namespace) is bound to, declared
    /// on the element itself or else on the nearest of `ancestors` (innermost first).
    pub(crate) fn namespace_in(
        &self,
        ancestors: &[&Child<'_>],
    ) -> Result<Option<String>, DecodeError> {
        let prefix = self
            .qualified_name()
            .split_once(':')
            .map(|(prefix, _)| prefix);
        for element in std::iter::once(self).chain(ancestors.iter().copied()) {
            if let Some(namespace) = element.binding(prefix)? {
                return Ok(Some(namespace));
            }
        }
        Ok(None)
    }

    /// The namespace this element's start tag binds `prefix` (`None`: the default) to.
    fn binding(&self, prefix: Option<&str>) -> Result<Option<String>, DecodeError> {
        for attribute in self.start.attributes().with_checks(false) {
            let attribute = attribute.map_err(|e| DecodeError::malformed(self.offset as u64, e))?;
            let key = attribute.key.into_inner();
            let bound = match key.strip_prefix("xmlns") {
                Some("") => prefix.is_none(),
                Some(rest) => rest.strip_prefix(':').is_some_and(|p| Some(p) == prefix),
                None => false,
            };
            if bound {
                let value = attribute
                    .normalized_value(XmlVersion::Implicit1_0)
                    .map_err(|e| DecodeError::malformed(self.offset as u64, e))?;
                return Ok(Some(value.into_owned()));
            }
        }
        Ok(None)
    }
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(xml: &'a str) -> Cursor<'a> {
        let mut reader = Reader::from_str(xml);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        Cursor {
            reader,
            xml,
            depth: 0,
        }
    }

    fn position(&self) -> usize {
        usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX)
    }

    fn read(&mut self) -> Result<Event<'a>, DecodeError> {
        self.reader
            .read_event()
            .map_err(|e| DecodeError::malformed(self.reader.error_position(), e))
    }

    /// Checks the depth of an element that opens `nested` levels below the innermost
    /// element handed out. Counted where start tags are matched anyway, not per event:
    /// one more branch per event in [`Cursor::read`] costs the hot path about 15%.
    fn check_depth(&self, nested: usize) -> Result<(), DecodeError> {
        if self.depth + nested > MAX_DEPTH {
            return Err(DecodeError::TooDeep {
                offset: self.position(),
                max: MAX_DEPTH,
            });
        }
        Ok(())
    }

    /// The document's root element, after the prolog, comments and whitespace.
    pub(crate) fn root(&mut self) -> Result<Child<'a>, DecodeError> {
        loop {
            let offset = self.position();
            match self.read()? {
                Event::Start(start) => {
                    self.depth = 1;
                    return Ok(Child {
                        start,
                        empty: false,
                        offset,
                    });
                }
                Event::Empty(start) => {
                    return Ok(Child {
                        start,
                        empty: true,
                        offset,
                    });
                }
                Event::Text(text) if is_blank(&text) => {}
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
                Event::Eof => return Err(DecodeError::Empty),
                _ => {
                    return Err(DecodeError::malformed(
                        offset as u64,
                        "text before the root",
                    ));
                }
            }
        }
    }

    /// Checks that only whitespace, comments and processing instructions follow the root.
    pub(crate) fn finish(&mut self) -> Result<(), DecodeError> {
        loop {
            let offset = self.position();
            match self.read()? {
                Event::Eof => return Ok(()),
                Event::Text(text) if is_blank(&text) => {}
                Event::PI(_) | Event::Comment(_) => {}
                _ => return Err(DecodeError::TrailingContent { offset }),
            }
        }
    }

    /// The next child element of `parent`, or `None` once `parent` has ended.
    /// Text between child elements is ignored.
    pub(crate) fn next_child(
        &mut self,
        parent: &Child<'_>,
    ) -> Result<Option<Child<'a>>, DecodeError> {
        self.next_child_collecting(parent, None)
    }

    /// Like [`Cursor::next_child`], but appends the text met on the way (unescaped) to
    /// `text`: for elements that hold either text or a child, such as a device that is
    /// `<callingDevice>201</callingDevice>` or `<callingDevice><notKnown/></callingDevice>`.
    pub(crate) fn next_child_or_text(
        &mut self,
        parent: &Child<'_>,
        text: &mut Cow<'a, str>,
    ) -> Result<Option<Child<'a>>, DecodeError> {
        self.next_child_collecting(parent, Some(text))
    }

    fn next_child_collecting(
        &mut self,
        parent: &Child<'_>,
        mut text: Option<&mut Cow<'a, str>>,
    ) -> Result<Option<Child<'a>>, DecodeError> {
        if parent.empty {
            return Ok(None);
        }
        loop {
            let offset = self.position();
            match self.read()? {
                Event::Start(start) => {
                    self.check_depth(1)?;
                    self.depth += 1;
                    return Ok(Some(Child {
                        start,
                        empty: false,
                        offset,
                    }));
                }
                Event::Empty(start) => {
                    return Ok(Some(Child {
                        start,
                        empty: true,
                        offset,
                    }));
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(None);
                }
                Event::Eof => return Err(eof(parent)),
                Event::Text(chunk) => {
                    if let Some(text) = text.as_deref_mut() {
                        append(text, chunk.xml10_content());
                    }
                }
                Event::CData(chunk) => {
                    if let Some(text) = text.as_deref_mut() {
                        append(text, chunk.xml10_content());
                    }
                }
                Event::GeneralRef(reference) => {
                    let c = resolve_reference(&reference)?;
                    if let Some(text) = text.as_deref_mut() {
                        owned(text).push(c);
                    }
                }
                _ => {}
            }
        }
    }

    /// The text content of `element`, unescaped and trimmed. Text of nested elements
    /// is included, so `<deviceID><staticID>201</staticID></deviceID>` reads as `201`.
    pub(crate) fn text(&mut self, element: &Child<'_>) -> Result<Cow<'a, str>, DecodeError> {
        if element.empty {
            return Ok(Cow::Borrowed(""));
        }
        let mut text: Cow<'a, str> = Cow::Borrowed("");
        let mut depth = 0usize;
        loop {
            match self.read()? {
                Event::Text(chunk) => append(&mut text, chunk.xml10_content()),
                Event::CData(chunk) => append(&mut text, chunk.xml10_content()),
                Event::GeneralRef(reference) => {
                    owned(&mut text).push(resolve_reference(&reference)?)
                }
                Event::Start(_) => {
                    depth += 1;
                    self.check_depth(depth)?;
                }
                Event::End(_) if depth == 0 => break,
                Event::End(_) => depth -= 1,
                Event::Eof => return Err(eof(element)),
                _ => {}
            }
        }
        self.depth = self.depth.saturating_sub(1);
        Ok(trim(text))
    }

    /// The element exactly as written, from its `<` to the end of its end tag.
    pub(crate) fn raw(&mut self, element: &Child<'_>) -> Result<&'a str, DecodeError> {
        self.read_to_end(element)?;
        let end = self.position();
        self.slice(element.offset, end)
    }

    /// What lies between the start and end tag of `element`, exactly as written.
    pub(crate) fn inner_raw(&mut self, element: &Child<'_>) -> Result<&'a str, DecodeError> {
        match self.read_to_end(element)? {
            Some(span) => self.slice(span.start, span.end),
            None => Ok(""),
        }
    }

    fn read_to_end(
        &mut self,
        element: &Child<'_>,
    ) -> Result<Option<std::ops::Range<usize>>, DecodeError> {
        if element.empty {
            return Ok(None);
        }
        // Not `Reader::read_to_end`, which cannot count the depth.
        let start = self.position();
        let mut nested = 0usize;
        loop {
            let end = self.position();
            match self.read()? {
                Event::Start(_) => {
                    nested += 1;
                    self.check_depth(nested)?;
                }
                Event::End(_) if nested == 0 => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(Some(start..end));
                }
                Event::End(_) => nested -= 1,
                Event::Eof => return Err(eof(element)),
                _ => {}
            }
        }
    }

    fn slice(&self, start: usize, end: usize) -> Result<&'a str, DecodeError> {
        self.xml
            .get(start..end)
            .ok_or_else(|| DecodeError::malformed(end as u64, "element boundaries"))
    }

    /// Skips the rest of `element`.
    pub(crate) fn skip(&mut self, element: &Child<'_>) -> Result<(), DecodeError> {
        self.raw(element).map(|_| ())
    }
}

fn eof(element: &Child<'_>) -> DecodeError {
    DecodeError::UnexpectedEof {
        element: element.local_name().to_string(),
    }
}

fn is_blank(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_whitespace())
}

fn append<'a>(text: &mut Cow<'a, str>, chunk: Cow<'a, str>) {
    if text.is_empty() {
        *text = chunk;
    } else {
        owned(text).push_str(&chunk);
    }
}

/// The text as an owned string with room to grow: text split by entity references
/// (`N&lt;302118840100&gt;;noa=nk`) arrives in several pieces.
fn owned<'t>(text: &'t mut Cow<'_, str>) -> &'t mut String {
    if let Cow::Borrowed(borrowed) = text {
        let mut string = String::with_capacity(borrowed.len().max(24) * 2);
        string.push_str(borrowed);
        *text = Cow::Owned(string);
    }
    text.to_mut()
}

fn trim(text: Cow<'_, str>) -> Cow<'_, str> {
    let is_xml_space = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    match text {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim_matches(is_xml_space)),
        Cow::Owned(s) => {
            let trimmed = s.trim_matches(is_xml_space);
            if trimmed.len() == s.len() {
                Cow::Owned(s)
            } else {
                Cow::Owned(trimmed.to_string())
            }
        }
    }
}

/// `&lt;` and friends, and character references such as `&#60;` / `&#x3C;`.
fn resolve_reference(reference: &BytesRef<'_>) -> Result<char, DecodeError> {
    let name: &str = reference;
    let unknown = || DecodeError::UnknownEntity(name.chars().take(32).collect());
    match name {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        _ => match reference.resolve_char_ref() {
            Ok(Some(c)) => Ok(c),
            _ => Err(unknown()),
        },
    }
}

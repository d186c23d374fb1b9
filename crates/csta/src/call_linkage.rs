//! `callLinkageData`: an identity a call keeps across switches and transfers, such as
//! Avaya's UCID. Call events and the routing services may carry it, before `extensions`.
//!
//! ```text
//! <callLinkageData>
//!   <globalCallData>
//!     <globalCallSwitchingSubDomainName>cm1.example</globalCallSwitchingSubDomainName>
//!     <globalCallLinkageID><globallyUniqueCallLinkageID>00001002341700000123</globallyUniqueCallLinkageID></globalCallLinkageID>
//!   </globalCallData>
//! </callLinkageData>
//! ```

use std::borrow::Cow;

use serde::Serialize;

use crate::error::DecodeError;
use crate::xml::reader::{Child, Cursor};
use crate::xml::writer::XmlWriter;
use crate::xml::{Absent, RawXml, XmlValue};

csta_struct! {
    /// The call's global identity, and the thread of related calls it belongs to.
    pub struct CallLinkageData {
        global_call_data: opt GlobalCallData = "globalCallData",
        thread_data: opt RawXml = "threadData",
    }
}

csta_struct! {
    /// Which switching sub-domain named the call, and the id it gave it.
    pub struct GlobalCallData {
        global_call_switching_sub_domain_name: opt String = "globalCallSwitchingSubDomainName",
        global_call_linkage_id: opt GlobalCallLinkageId = "globalCallLinkageID",
    }
}

impl CallLinkageData {
    /// A call linkage of one globally unique id (as Avaya's UCID), without a sub-domain.
    pub fn global(id: impl Into<String>) -> CallLinkageData {
        CallLinkageData {
            global_call_data: Some(GlobalCallData {
                global_call_switching_sub_domain_name: None,
                global_call_linkage_id: Some(GlobalCallLinkageId::Global(id.into())),
                extra: Default::default(),
            }),
            thread_data: None,
            extra: Default::default(),
        }
    }

    /// The call's linkage id, whichever form the switch used (e.g. the UCID).
    pub fn call_linkage_id(&self) -> Option<&str> {
        self.global_call_data
            .as_ref()?
            .global_call_linkage_id
            .as_ref()
            .map(GlobalCallLinkageId::id)
    }
}

/// A linkage id unique in its sub-domain or globally (the schema's choice); an id written
/// as plain text in `<globalCallLinkageID>` is read as global.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "camelCase")]
pub enum GlobalCallLinkageId {
    /// `<subDomainCallLinkageID>`
    SubDomain(String),
    /// `<globallyUniqueCallLinkageID>`
    Global(String),
}

impl GlobalCallLinkageId {
    pub fn id(&self) -> &str {
        match self {
            GlobalCallLinkageId::SubDomain(id) | GlobalCallLinkageId::Global(id) => id,
        }
    }
}

impl XmlValue for GlobalCallLinkageId {
    fn read(cursor: &mut Cursor<'_>, element: &Child<'_>) -> Result<Self, DecodeError> {
        let mut text = Cow::Borrowed("");
        let mut id = None;
        while let Some(child) = cursor.next_child_or_text(element, &mut text)? {
            match child.local_name() {
                "subDomainCallLinkageID" => {
                    id = Some(GlobalCallLinkageId::SubDomain(String::read(
                        cursor, &child,
                    )?))
                }
                "globallyUniqueCallLinkageID" => {
                    id = Some(GlobalCallLinkageId::Global(String::read(cursor, &child)?))
                }
                _ => cursor.skip(&child)?,
            }
        }
        Ok(id.unwrap_or_else(|| {
            GlobalCallLinkageId::Global(text.trim_matches([' ', '\t', '\r', '\n']).to_string())
        }))
    }

    fn write_children(&self, writer: &mut XmlWriter<'_>) {
        match self {
            GlobalCallLinkageId::SubDomain(id) => id.write(writer, "subDomainCallLinkageID"),
            GlobalCallLinkageId::Global(id) => id.write(writer, "globallyUniqueCallLinkageID"),
        }
    }
}

impl Absent for GlobalCallLinkageId {}

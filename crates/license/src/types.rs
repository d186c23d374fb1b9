//! License item and pool types, with their stable wire names.

use std::fmt;
use std::str::FromStr;

/// A type that has a pool: tenant slots and the client connection types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LicenseType {
    Tenant,
    Desktop,
    Attendant,
    Wallboard,
    Mobile,
    Crm,
    Api,
}

/// A client connection type: the license a session takes at login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClientType {
    Desktop,
    Attendant,
    Wallboard,
    Mobile,
    Crm,
    Api,
}

/// What a license file line item grants. Starter packs add tenant slots and unlock
/// multi-tenant mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemType {
    MtStarter5,
    MtStarter20,
    Pool(LicenseType),
}

/// The name given for an unknown license, item or client type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown license type `{0}`")]
pub struct UnknownType(pub String);

impl LicenseType {
    pub const ALL: [LicenseType; 7] = [
        LicenseType::Tenant,
        LicenseType::Desktop,
        LicenseType::Attendant,
        LicenseType::Wallboard,
        LicenseType::Mobile,
        LicenseType::Crm,
        LicenseType::Api,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LicenseType::Tenant => "tenant",
            LicenseType::Desktop => "desktop",
            LicenseType::Attendant => "attendant",
            LicenseType::Wallboard => "wallboard",
            LicenseType::Mobile => "mobile",
            LicenseType::Crm => "crm",
            LicenseType::Api => "api",
        }
    }

    /// The client type with this pool, `None` for tenant slots.
    pub fn client(self) -> Option<ClientType> {
        ClientType::ALL
            .into_iter()
            .find(|c| c.license_type() == self)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl ClientType {
    pub const ALL: [ClientType; 6] = [
        ClientType::Desktop,
        ClientType::Attendant,
        ClientType::Wallboard,
        ClientType::Mobile,
        ClientType::Crm,
        ClientType::Api,
    ];

    pub fn license_type(self) -> LicenseType {
        match self {
            ClientType::Desktop => LicenseType::Desktop,
            ClientType::Attendant => LicenseType::Attendant,
            ClientType::Wallboard => LicenseType::Wallboard,
            ClientType::Mobile => LicenseType::Mobile,
            ClientType::Crm => LicenseType::Crm,
            ClientType::Api => LicenseType::Api,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.license_type().as_str()
    }
}

impl ItemType {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::MtStarter5 => "mt-starter-5",
            ItemType::MtStarter20 => "mt-starter-20",
            ItemType::Pool(t) => t.as_str(),
        }
    }

    pub fn is_starter_pack(self) -> bool {
        matches!(self, ItemType::MtStarter5 | ItemType::MtStarter20)
    }

    /// The pool this item adds to, and how much one unit of it adds.
    pub fn contribution(self) -> (LicenseType, u32) {
        match self {
            ItemType::MtStarter5 => (LicenseType::Tenant, 5),
            ItemType::MtStarter20 => (LicenseType::Tenant, 20),
            ItemType::Pool(t) => (t, 1),
        }
    }
}

impl FromStr for LicenseType {
    type Err = UnknownType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LicenseType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownType(s.to_string()))
    }
}

impl FromStr for ClientType {
    type Err = UnknownType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClientType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownType(s.to_string()))
    }
}

impl FromStr for ItemType {
    type Err = UnknownType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mt-starter-5" => Ok(ItemType::MtStarter5),
            "mt-starter-20" => Ok(ItemType::MtStarter20),
            other => other.parse().map(ItemType::Pool),
        }
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(LicenseType, ClientType, ItemType);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in LicenseType::ALL {
            assert_eq!(t.as_str().parse::<LicenseType>(), Ok(t));
        }
        for c in ClientType::ALL {
            assert_eq!(c.as_str().parse::<ClientType>(), Ok(c));
            assert_eq!(c.license_type().client(), Some(c));
        }
        assert_eq!("mt-starter-20".parse(), Ok(ItemType::MtStarter20));
        assert_eq!(LicenseType::Tenant.client(), None);
        assert!("admin".parse::<ClientType>().is_err());
        assert!("tenant".parse::<ClientType>().is_err());
    }
}

//! [`DeviceSet`]: which device ids are the switch's own phones.
//!
//! ```text
//! "200-299"                 100 devices, 200 … 299
//! "1200-1209,2200-2209,300" two ranges and one single id
//! "0100-0199"               zero-padded: "0100" … "0199" (but not "100")
//! "alice, 4711"             any single id is kept as a string
//! ```
//! Membership is computed, never enumerated, so a set of 100,000 devices costs a few bytes.
//! Every other number is *external*: reached through the simulated trunk.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

/// The most devices a set may hold (a bound for the traffic generator's picks).
const MAX_DEVICES: u64 = 10_000_000;

/// A set of device ids given as ranges and single ids; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceSet {
    ranges: Vec<Range>,
    singles: Vec<String>,
    single_lookup: HashSet<String>,
    spec: String,
}

/// `first..=last`, written `width` digits wide (0 = no padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    first: u64,
    last: u64,
    width: usize,
}

impl Range {
    fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    fn contains(&self, id: &str) -> bool {
        if !is_digits(id) || id.len() > 19 {
            return false;
        }
        let well_formed = if self.width == 0 {
            id.len() == 1 || !id.starts_with('0')
        } else {
            id.len() == self.width
        };
        well_formed
            && id
                .parse::<u64>()
                .is_ok_and(|value| (self.first..=self.last).contains(&value))
    }

    fn nth(&self, index: u64) -> String {
        format!("{:0width$}", self.first + index, width = self.width)
    }
}

/// Why a device specification was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceSetError {
    #[error("`{0}` is not a device range: write FIRST-LAST with digits, FIRST <= LAST")]
    BadRange(String),
    #[error("the device set holds more than {MAX_DEVICES} devices")]
    TooLarge,
    #[error("the device set is empty")]
    Empty,
}

impl DeviceSet {
    /// Parses `"200-299"`, `"1200-1209,2200-2209"`, `"alice,201"`; see the module docs.
    pub fn parse(spec: &str) -> Result<DeviceSet, DeviceSetError> {
        let mut set = DeviceSet {
            spec: spec.trim().to_string(),
            ..DeviceSet::default()
        };
        let mut total: u64 = 0;
        for item in spec
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let added = match item.split_once('-') {
                Some((first, last)) if is_digits(first.trim()) || is_digits(last.trim()) => {
                    let range = parse_range(first.trim(), last.trim())
                        .ok_or_else(|| DeviceSetError::BadRange(item.to_string()))?;
                    set.ranges.push(range);
                    range.len()
                }
                _ => {
                    if set.single_lookup.insert(item.to_string()) {
                        set.singles.push(item.to_string());
                    }
                    1
                }
            };
            total = total.saturating_add(added);
            if total > MAX_DEVICES {
                return Err(DeviceSetError::TooLarge);
            }
        }
        if total == 0 {
            return Err(DeviceSetError::Empty);
        }
        Ok(set)
    }

    /// Whether `id` (a plain number, as [`csta::DeviceId::number`] gives) is one of ours.
    pub fn contains(&self, id: &str) -> bool {
        self.single_lookup.contains(id) || self.ranges.iter().any(|range| range.contains(id))
    }

    /// How many device ids the set holds (ids listed twice count twice).
    pub fn len(&self) -> u64 {
        self.ranges
            .iter()
            .map(Range::len)
            .chain([self.singles.len() as u64])
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `index`-th id (ranges first, in order, then single ids); `None` past the end.
    pub fn nth(&self, mut index: u64) -> Option<String> {
        for range in &self.ranges {
            if index < range.len() {
                return Some(range.nth(index));
            }
            index -= range.len();
        }
        usize::try_from(index)
            .ok()
            .and_then(|index| self.singles.get(index).cloned())
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn parse_range(first: &str, last: &str) -> Option<Range> {
    if !is_digits(first) || !is_digits(last) || first.len() > 18 || last.len() > 18 {
        return None;
    }
    let padded = first.len() > 1 && first.starts_with('0');
    if padded && first.len() != last.len() {
        return None;
    }
    let range = Range {
        first: first.parse().ok()?,
        last: last.parse().ok()?,
        width: if padded { first.len() } else { 0 },
    };
    (range.first <= range.last).then_some(range)
}

impl FromStr for DeviceSet {
    type Err = DeviceSetError;

    fn from_str(spec: &str) -> Result<DeviceSet, DeviceSetError> {
        DeviceSet::parse(spec)
    }
}

impl fmt::Display for DeviceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_lists_and_padding() {
        let set = DeviceSet::parse("200-299").unwrap();
        assert_eq!(set.len(), 100);
        assert!(set.contains("200") && set.contains("299"));
        assert!(!set.contains("300") && !set.contains("0200") && !set.contains("2a0"));
        assert_eq!(set.nth(0).as_deref(), Some("200"));
        assert_eq!(set.nth(99).as_deref(), Some("299"));
        assert_eq!(set.nth(100), None);

        let set = DeviceSet::parse(" 1200-1209 , 2200-2209,alice ").unwrap();
        assert_eq!(set.len(), 21);
        assert!(set.contains("1205") && set.contains("2209") && set.contains("alice"));
        assert!(!set.contains("1210") && !set.contains("bob"));
        assert_eq!(set.nth(10).as_deref(), Some("2200"));
        assert_eq!(set.nth(20).as_deref(), Some("alice"));
        assert_eq!(set.to_string(), "1200-1209 , 2200-2209,alice");

        let set = DeviceSet::parse("0100-0199").unwrap();
        assert!(set.contains("0100") && set.contains("0199"));
        assert!(!set.contains("100") && !set.contains("00100"));
        assert_eq!(set.nth(5).as_deref(), Some("0105"));
    }

    #[test]
    fn refuses_bad_specifications() {
        for spec in ["299-200", "1-x", "01-100", "", " , "] {
            assert!(DeviceSet::parse(spec).is_err(), "{spec}");
        }
        assert_eq!(
            DeviceSet::parse("1-99999999999"),
            Err(DeviceSetError::TooLarge)
        );
        assert_eq!(
            "100000-199999".parse::<DeviceSet>().map(|s| s.len()),
            Ok(100_000)
        );
    }
}

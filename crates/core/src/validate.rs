//! Input validation that names every bad field, for `validation_failed` answers.

use serde::{Deserialize, Serialize};

/// One invalid field and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// All problems found in one input; empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// `Ok(())` when nothing was added.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }

    /// Checks a required, trimmed, length-limited text field.
    pub fn text(&mut self, field: &str, value: &str, max: usize) {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            self.add(field, "must not be empty");
        } else if trimmed.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        } else if trimmed.chars().any(char::is_control) {
            self.add(field, "must not contain control characters");
        }
    }

    /// An optional short text: at most `max` characters, no control characters (empty is
    /// fine).
    pub fn optional_text(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        } else if value.chars().any(char::is_control) {
            self.add(field, "must not contain control characters");
        }
    }

    /// An e-mail address: `local@domain.tld`, at most 254 characters, no spaces or
    /// control characters.
    pub fn email(&mut self, field: &str, value: &str) {
        let value = value.trim();
        let valid = value.len() <= 254
            && !value.chars().any(|c| c.is_control() || c.is_whitespace())
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.contains('@')
            });
        if !valid {
            self.add(field, "must be an e-mail address");
        }
    }

    /// A slug: 2-40 of `a-z 0-9 -`, starting with a letter or digit.
    pub fn slug(&mut self, field: &str, value: &str) {
        let ok = (2..=40).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !value.starts_with('-')
            && !value.ends_with('-');
        if !ok {
            self.add(
                field,
                "must be 2-40 characters of a-z, 0-9 and '-', not starting or ending with '-'",
            );
        }
    }

    /// A login name: 1-64 of letters, digits and `. _ - @`.
    pub fn username(&mut self, field: &str, value: &str) {
        let ok = (1..=64).contains(&value.len())
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if !ok {
            self.add(
                field,
                "must be 1-64 characters of letters, digits and . _ - @",
            );
        }
    }

    /// A password: 8-256 characters.
    pub fn password(&mut self, field: &str, value: &str) {
        let length = value.chars().count();
        if length < 8 {
            self.add(field, "must be at least 8 characters");
        } else if length > 256 {
            self.add(field, "must be at most 256 characters");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_is_named() {
        let mut errors = ValidationErrors::new();
        errors.slug("slug", "A");
        errors.username("username", "bad name");
        errors.password("password", "short");
        errors.text("name", "  ", 10);
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["slug", "username", "password", "name"]);
    }

    #[test]
    fn good_values_pass() {
        let mut errors = ValidationErrors::new();
        errors.slug("slug", "acme-2");
        errors.username("username", "anna.b@acme");
        errors.password("password", "correct horse");
        errors.text("name", "ACME GmbH", 100);
        assert_eq!(errors.into_result(), Ok(()));
        let mut errors = ValidationErrors::new();
        errors.slug("slug", "-acme");
        errors.slug("slug", "ac_me");
        assert_eq!(errors.0.len(), 2);
    }
}

//! Positions of values in a YAML document.
//!
//! serde_yaml keeps positions only in its errors. To point at a value that passed parsing but
//! failed a check across fields (a duplicate name, TLS settings on a plain-HTTP link), we walk
//! the document again along a chain of keys and fail on purpose at the value: the error then
//! carries exactly the position we need. A key of digits picks an entry of a sequence.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

/// A 1-based line and column in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    pub const START: Position = Position { line: 1, column: 1 };
    /// No line to point at: the error is about the file as a whole (it could not be read).
    pub const WHOLE_FILE: Position = Position { line: 0, column: 0 };
}

impl From<serde_yaml::Location> for Position {
    fn from(loc: serde_yaml::Location) -> Self {
        Position { line: loc.line(), column: loc.column() }
    }
}

const FOUND: &str = "mcp-connect: value located";

/// Where the value at `keys` (a chain of mapping keys from the top) starts, if it exists.
pub fn locate(text: &str, keys: &[&str]) -> Option<Position> {
    let err = Walk(keys).deserialize(serde_yaml::Deserializer::from_str(text)).err()?;
    // serde_yaml puts the key path before the message.
    (err.to_string().contains(FOUND)).then(|| err.location().map(Position::from))?
}

struct Walk<'k>(&'k [&'k str]);

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.0.split_first() {
            // Fail inside the value's own visit, where the error gets the value's position.
            None => d.deserialize_any(Here),
            Some((key, rest)) => d.deserialize_any(Find { key, rest }),
        }
    }
}

/// Rejects every value: Visitor's default methods fail with `expecting` in the message.
struct Here;

impl Visitor<'_> for Here {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(FOUND)
    }
}

struct Find<'k> {
    key: &'k str,
    rest: &'k [&'k str],
}

impl<'de> Visitor<'de> for Find<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a mapping with the key `{}`", self.key)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<KeyText>()? {
            if key.0.as_deref() == Some(self.key) {
                return map.next_value_seed(Walk(self.rest));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    // Any other value does not hold the key: nothing to find.
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    // A key of digits picks an entry of a sequence: `["pools", "0", "url"]`.
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Ok(index) = self.key.parse::<usize>() else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        for _ in 0..index {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Walk(self.rest))?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Ok(())
    }
}

/// A mapping key as text, or `None` for a key that is not a string.
struct KeyText(Option<String>);

impl<'de> de::Deserialize<'de> for KeyText {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_yaml::Value::deserialize(d)?;
        Ok(KeyText(value.as_str().map(str::to_owned)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "name: a\nlink:\n  port_forward:\n    namespace: mcp\n    local_port: 80\n";

    #[test]
    fn finds_nested_values() {
        assert_eq!(locate(DOC, &["name"]), Some(Position { line: 1, column: 7 }));
        assert_eq!(
            locate(DOC, &["link", "port_forward", "local_port"]),
            Some(Position { line: 5, column: 17 })
        );
    }

    #[test]
    fn missing_keys_and_scalars_find_nothing() {
        assert_eq!(locate(DOC, &["tls"]), None);
        assert_eq!(locate(DOC, &["name", "inner"]), None);
        assert_eq!(locate("- a\n- b\n", &["name"]), None);
        assert_eq!(locate("{{{", &["name"]), None);
    }

    #[test]
    fn digits_pick_an_entry_of_a_sequence() {
        let doc = "pools:\n  - name: a\n  - name: b\n    gateways:\n      - url: x\n";
        assert_eq!(locate(doc, &["pools", "1", "name"]), Some(Position { line: 3, column: 11 }));
        assert_eq!(
            locate(doc, &["pools", "1", "gateways", "0", "url"]),
            Some(Position { line: 5, column: 14 })
        );
        assert_eq!(locate(doc, &["pools", "2", "name"]), None);
        assert_eq!(locate(doc, &["pools", "0", "gateways"]), None);
    }

    #[test]
    fn flow_style_is_located_too() {
        assert_eq!(
            locate("{title: t, name: x}", &["name"]),
            Some(Position { line: 1, column: 18 })
        );
    }
}

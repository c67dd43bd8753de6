//! The serde forms of [`CounterGet`]: a unit struct in binary formats (the wire between
//! nodes, unchanged), the string `"Get"` in human-readable ones (JSON: `shoal call`).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::CounterGet;

/// The name of the call in human-readable formats.
const GET: &str = "Get";

impl Serialize for CounterGet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(GET)
        } else {
            serializer.serialize_unit_struct("CounterGet")
        }
    }
}

impl<'de> Deserialize<'de> for CounterGet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_any(GetVisitor)
        } else {
            deserializer.deserialize_unit_struct("CounterGet", GetVisitor)
        }
    }
}

/// Accepts unit (`null`, or the binary unit struct) and the string `"Get"`.
struct GetVisitor;

impl Visitor<'_> for GetVisitor {
    type Value = CounterGet;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the string \"{GET}\" (or null)")
    }

    fn visit_unit<E: de::Error>(self) -> Result<CounterGet, E> {
        Ok(CounterGet)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<CounterGet, E> {
        if text == GET {
            Ok(CounterGet)
        } else {
            Err(E::invalid_value(de::Unexpected::Str(text), &self))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_says_get_and_the_wire_keeps_a_unit_struct() {
        assert_eq!(
            serde_json::to_value(CounterGet).unwrap(),
            serde_json::json!("Get")
        );
        assert_eq!(serde_json::from_str::<CounterGet>("\"Get\"").unwrap(), CounterGet);
        assert_eq!(serde_json::from_str::<CounterGet>("null").unwrap(), CounterGet);
        let wrong = serde_json::from_str::<CounterGet>("\"get\"").unwrap_err();
        assert!(wrong.to_string().contains("the string \"Get\""), "{wrong}");
        let body = postcard::to_stdvec(&CounterGet).unwrap();
        assert!(body.is_empty());
        assert_eq!(postcard::from_bytes::<CounterGet>(&body).unwrap(), CounterGet);
    }
}

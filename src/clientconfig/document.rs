//! A client config file, edited in place: jsonc-parser's concrete syntax tree keeps every other
//! byte (keys, their order, spacing, escapes, numbers) as the user or the client wrote it.

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocError {
    /// Not strict JSON (what Claude Code itself accepts).
    #[error("{line}:{column}: {message}")]
    Malformed { line: usize, column: usize, message: String },
    #[error("the top level is not a JSON object")]
    RootNotObject,
    /// A key on the way to the servers holds something other than an object.
    #[error("`{key}` is not a JSON object")]
    NotAnObject { key: String },
}

pub struct Document {
    root: CstRootNode,
}

impl Document {
    /// Parses `text`; empty text is an empty object.
    pub fn parse(text: &str) -> Result<Document, DocError> {
        let text = if text.trim().is_empty() { "{}\n" } else { text };
        // Strict first: a file Claude Code could not read is not ours to rewrite.
        let value: Value = serde_json::from_str(text).map_err(|e| DocError::Malformed {
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        })?;
        if !value.is_object() {
            return Err(DocError::RootNotObject);
        }
        let root = CstRootNode::parse(text, &ParseOptions::default())
            .map_err(|e| DocError::Malformed { line: 1, column: 1, message: e.to_string() })?;
        Ok(Document { root })
    }

    pub fn text(&self) -> String {
        self.root.to_string()
    }

    /// The object at `path`, if every key on the way is there.
    fn find(&self, path: &[String]) -> Result<Option<CstObject>, DocError> {
        let mut object = self.root.object_value().ok_or(DocError::RootNotObject)?;
        for (i, key) in path.iter().enumerate() {
            let Some(prop) = object.get(key) else { return Ok(None) };
            object = prop
                .value()
                .and_then(|v| v.as_object())
                .ok_or_else(|| DocError::NotAnObject { key: path[..=i].join(".") })?;
        }
        Ok(Some(object))
    }

    /// The object at `path`, created (with every key on the way) when missing.
    fn make(&self, path: &[String]) -> Result<CstObject, DocError> {
        let mut object = self.root.object_value().ok_or(DocError::RootNotObject)?;
        for (i, key) in path.iter().enumerate() {
            object = object
                .object_value_or_create(key)
                .ok_or_else(|| DocError::NotAnObject { key: path[..=i].join(".") })?;
        }
        Ok(object)
    }

    /// The entry `name` of the object at `path`.
    pub fn get(&self, path: &[String], name: &str) -> Result<Option<Value>, DocError> {
        let Some(object) = self.find(path)? else { return Ok(None) };
        Ok(object.get(name).and_then(|p| p.value()).and_then(|v| v.to_serde_value()))
    }

    /// Every entry of the object at `path`, in file order.
    pub fn entries(&self, path: &[String]) -> Result<Vec<(String, Value)>, DocError> {
        let Some(object) = self.find(path)? else { return Ok(Vec::new()) };
        Ok(object
            .properties()
            .into_iter()
            .filter_map(|p| Some((p.decoded_name()?, p.value()?.to_serde_value()?)))
            .collect())
    }

    /// Sets entry `name` under `path`: in place when it exists, else appended.
    pub fn put(&self, path: &[String], name: &str, value: &Value) -> Result<(), DocError> {
        let object = self.make(path)?;
        match object.get(name) {
            Some(prop) => prop.set_value(input(value)),
            None => {
                object.append(name, input(value));
            }
        }
        Ok(())
    }

    /// Removes entry `name` under `path`; answers whether it was there.
    pub fn remove(&self, path: &[String], name: &str) -> Result<bool, DocError> {
        let Some(prop) = self.find(path)?.and_then(|object| object.get(name)) else {
            return Ok(false);
        };
        prop.remove();
        Ok(true)
    }
}

fn input(value: &Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(items) => CstInputValue::Array(items.iter().map(input).collect()),
        Value::Object(map) => {
            CstInputValue::Object(map.iter().map(|(k, v)| (k.clone(), input(v))).collect())
        }
    }
}

/// serde_json's message without its " at line L column C" tail (the position is given apart).
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| (*k).to_owned()).collect()
    }

    #[test]
    fn an_entry_is_added_without_touching_anything_else() {
        let text = "{\n  \"numUpdates\": 1.50,\n  \"name\": \"caf\\u00e9\",\n  \"mcpServers\": {\n    \"other\": {\"type\": \"stdio\", \"command\": \"x\"}\n  }\n}\n";
        let doc = Document::parse(text).unwrap();
        doc.put(
            &path(&["mcpServers"]),
            "serena",
            &json!({"type": "http", "url": "http://127.0.0.1:8080/mcp"}),
        )
        .unwrap();
        let out = doc.text();
        assert!(
            out.starts_with("{\n  \"numUpdates\": 1.50,\n  \"name\": \"caf\\u00e9\",\n"),
            "{out}"
        );
        assert!(
            out.contains("    \"other\": {\"type\": \"stdio\", \"command\": \"x\"},\n"),
            "{out}"
        );
        assert!(out.contains("    \"serena\": {\n      \"type\": \"http\",\n      \"url\": \"http://127.0.0.1:8080/mcp\"\n    }\n"), "{out}");
        assert!(out.ends_with("}\n"));
    }

    #[test]
    fn missing_objects_are_created_and_removal_leaves_the_rest() {
        let doc = Document::parse("").unwrap();
        let local = path(&["projects", "/home/me/app", "mcpServers"]);
        doc.put(&local, "serena", &json!({"type": "http", "url": "u"})).unwrap();
        let value: Value = serde_json::from_str(&doc.text()).unwrap();
        assert_eq!(
            value,
            json!({"projects": {"/home/me/app": {"mcpServers": {"serena": {"type": "http", "url": "u"}}}}})
        );
        assert!(doc.remove(&local, "serena").unwrap());
        assert!(!doc.remove(&local, "serena").unwrap());
        let value: Value = serde_json::from_str(&doc.text()).unwrap();
        assert_eq!(value, json!({"projects": {"/home/me/app": {"mcpServers": {}}}}));
    }

    #[test]
    fn malformed_or_misshapen_files_are_refused_with_where() {
        let err = Document::parse("{\n  \"a\": 1,\n}\n").err().unwrap();
        assert_eq!(
            err,
            DocError::Malformed { line: 3, column: 1, message: "trailing comma".into() }
        );
        assert_eq!(Document::parse("[1]").err().unwrap(), DocError::RootNotObject);
        let doc = Document::parse(r#"{"mcpServers": []}"#).unwrap();
        let err = doc.put(&path(&["mcpServers"]), "s", &json!({})).unwrap_err();
        assert_eq!(err, DocError::NotAnObject { key: "mcpServers".into() });
    }
}

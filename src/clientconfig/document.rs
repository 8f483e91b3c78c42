//! A client config file, edited in place: jsonc-parser's concrete syntax tree keeps every other
//! byte (keys, their order, spacing, escapes, numbers) as the user or the client wrote it.

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstNode, CstObject, CstRootNode};
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
    /// A key we go through (or a server's name) appears more than once in its object: JSON.parse,
    /// which Claude Code reads the file with, keeps only the last one, and an edit to any other
    /// would be written and never seen.
    #[error(
        "{}: `{key}` appears {} in one object, at {}; Claude Code (JSON.parse) reads only the \
         last one",
        at[0],
        times(at.len()),
        list(at)
    )]
    DuplicateKey { key: String, at: Vec<Position> },
}

/// A place in the text: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

fn times(n: usize) -> String {
    if n == 2 { "twice".to_owned() } else { format!("{n} times") }
}

/// `1:2, 3:4 and 5:6`.
fn list(at: &[Position]) -> String {
    let words: Vec<String> = at.iter().map(Position::to_string).collect();
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => words.join(""),
    }
}

pub struct Document {
    root: CstRootNode,
}

impl Document {
    /// Parses `text` as strict JSON; empty text is an empty object.
    pub fn parse(text: &str) -> Result<Document, DocError> {
        Document::parse_as(text, Looseness::Strict)
    }

    /// Parses `text` as strict JSON or as loose as `looseness` (and nothing looser); empty
    /// text is an empty object.
    pub fn parse_as(text: &str, looseness: Looseness) -> Result<Document, DocError> {
        let text = if text.trim().is_empty() { "{}\n" } else { text };
        // Strict first: a file the client could not read is not ours to rewrite.
        let object = if looseness != Looseness::Strict {
            let options = jsonc_options(looseness == Looseness::CommentsAndTrailingCommas);
            let value =
                jsonc_parser::parse_to_value(text, &options).map_err(|e| DocError::Malformed {
                    line: e.line_display(),
                    column: e.column_display(),
                    message: e.kind().to_string(),
                })?;
            matches!(value, Some(jsonc_parser::JsonValue::Object(_)))
        } else {
            let value: Value = serde_json::from_str(text).map_err(|e| DocError::Malformed {
                line: e.line(),
                column: e.column(),
                message: strip_position(&e.to_string()),
            })?;
            value.is_object()
        };
        if !object {
            return Err(DocError::RootNotObject);
        }
        let root = CstRootNode::parse(text, &ParseOptions::default())
            .map_err(|e| DocError::Malformed { line: 1, column: 1, message: e.to_string() })?;
        Ok(Document { root })
    }

    pub fn text(&self) -> String {
        self.root.to_string()
    }

    /// The object at `path`, if every key on the way is there. Every key on the way, and every
    /// name in that object, must be there once only.
    fn find(&self, path: &[String]) -> Result<Option<CstObject>, DocError> {
        let mut object = self.root.object_value().ok_or(DocError::RootNotObject)?;
        for (i, key) in path.iter().enumerate() {
            self.once(&object, &path[..i], Some(key))?;
            let Some(prop) = object.get(key) else { return Ok(None) };
            object = prop
                .value()
                .and_then(|v| v.as_object())
                .ok_or_else(|| DocError::NotAnObject { key: path[..=i].join(".") })?;
        }
        self.once(&object, path, None)?;
        Ok(Some(object))
    }

    /// Refuses `object` (at `path`) when `key`, or with `None` any key, appears in it twice.
    fn once(&self, object: &CstObject, path: &[String], key: Option<&str>) -> Result<(), DocError> {
        let mut seen: Vec<(String, Vec<CstNode>)> = Vec::new();
        for prop in object.properties() {
            let (Some(name), Some(node)) = (prop.decoded_name(), prop.name()) else { continue };
            if key.is_some_and(|key| key != name) {
                continue;
            }
            match seen.iter_mut().find(|(seen, _)| *seen == name) {
                Some((_, nodes)) => nodes.push(node.into()),
                None => seen.push((name, vec![node.into()])),
            }
        }
        let Some((name, nodes)) = seen.into_iter().find(|(_, nodes)| nodes.len() > 1) else {
            return Ok(());
        };
        let text = self.text();
        let at = nodes.into_iter().map(|node| position(&text, offset(node))).collect();
        let key = path.iter().map(String::as_str).chain([name.as_str()]).collect::<Vec<_>>();
        Err(DocError::DuplicateKey { key: key.join("."), at })
    }

    /// The object at `path`, created (with every key on the way) when missing.
    fn make(&self, path: &[String]) -> Result<CstObject, DocError> {
        self.find(path)?;
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

/// What a client's JSON reader takes beyond strict JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Looseness {
    Strict,
    /// Comments (Gemini CLI strips them before JSON.parse).
    Comments,
    /// Comments and trailing commas (JSONC, as VS Code and Zed read it).
    CommentsAndTrailingCommas,
}

/// Comments, and trailing commas if `trailing_commas`; otherwise strict.
fn jsonc_options(trailing_commas: bool) -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: trailing_commas,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
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

/// Where `node` starts in the document's text (in bytes): the text of everything before it.
fn offset(node: CstNode) -> usize {
    let mut offset = 0;
    let mut node = node;
    loop {
        offset += node.previous_siblings().map(|s| s.to_string().len()).sum::<usize>();
        match node.parent() {
            Some(parent) => node = parent.into(),
            None => return offset,
        }
    }
}

/// The line and column of byte `offset` in `text`.
pub(super) fn position(text: &str, offset: usize) -> Position {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
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

    #[test]
    fn a_key_we_go_through_twice_is_refused_with_both_positions() {
        let pos = |line, column| Position { line, column };
        let twice = "{\n  \"mcpServers\": {\"a\": {}},\n  \"x\": 1,\n  \"mcpServers\": {}\n}\n";
        let doc = Document::parse(twice).unwrap();
        let err = doc.get(&path(&["mcpServers"]), "serena").unwrap_err();
        assert_eq!(
            err,
            DocError::DuplicateKey { key: "mcpServers".into(), at: vec![pos(2, 3), pos(4, 3)] }
        );
        assert_eq!(
            err.to_string(),
            "2:3: `mcpServers` appears twice in one object, at 2:3 and 4:3; Claude Code \
             (JSON.parse) reads only the last one"
        );
        assert!(doc.put(&path(&["mcpServers"]), "s", &json!({})).is_err());
        assert_eq!(doc.text(), twice, "nothing was changed");

        // A server's name twice, after a multi-byte character: columns count characters.
        let names = "{\"mcpServers\": {\"s\": 1, \"é\": 2, \"s\": 3}}";
        let err = Document::parse(names).unwrap().entries(&path(&["mcpServers"])).unwrap_err();
        assert_eq!(
            err,
            DocError::DuplicateKey { key: "mcpServers.s".into(), at: vec![pos(1, 17), pos(1, 33)] }
        );

        // Deep: a project's `mcpServers` twice; another project's keys are not ours to judge.
        let local = path(&["projects", "/p", "mcpServers"]);
        let deep = "{\"projects\": {\n \"/q\": {\"k\": 1, \"k\": 2},\n \"/p\": {\n  \"mcpServers\": {},\n  \"mcpServers\": {}\n }\n}}";
        let err = Document::parse(deep).unwrap().get(&local, "serena").unwrap_err();
        assert_eq!(
            err,
            DocError::DuplicateKey {
                key: "projects./p.mcpServers".into(),
                at: vec![pos(4, 3), pos(5, 3)]
            }
        );
        let fine = deep.replace("  \"mcpServers\": {},\n", "");
        assert_eq!(Document::parse(&fine).unwrap().get(&local, "serena"), Ok(None));
    }
}

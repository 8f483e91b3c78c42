//! Codex CLI's `config.toml`, edited in place with toml_edit: every other table, key, comment
//! and its order stays as the user wrote it. A server is a table `[mcp_servers.NAME]` whose
//! plain keys are scalars or arrays and whose maps (`http_headers`, `env`) are inline tables.

use std::cell::RefCell;

use serde_json::{Map, Value};
use toml_edit::{DocumentMut, InlineTable, Item, Table, TableLike};

use super::document::{DocError, position};

pub struct TomlDoc {
    doc: RefCell<DocumentMut>,
}

impl TomlDoc {
    /// Parses `text` (TOML has no duplicate keys: a file with one is refused here, with where).
    pub fn parse(text: &str) -> Result<TomlDoc, DocError> {
        let doc = text.parse::<DocumentMut>().map_err(|e| {
            let at = position(text, e.span().map_or(0, |s| s.start));
            let message = e.message().trim_end().to_owned();
            DocError::Malformed { line: at.line, column: at.column, message }
        })?;
        Ok(TomlDoc { doc: RefCell::new(doc) })
    }

    pub fn text(&self) -> String {
        self.doc.borrow().to_string()
    }

    /// The entry `name` of the table at `path`.
    pub fn get(&self, path: &[String], name: &str) -> Result<Option<Value>, DocError> {
        let doc = self.doc.borrow();
        let Some(table) = find(doc.as_table(), path)? else { return Ok(None) };
        Ok(table.get(name).map(to_json))
    }

    /// Every entry of the table at `path`, in file order.
    pub fn entries(&self, path: &[String]) -> Result<Vec<(String, Value)>, DocError> {
        let doc = self.doc.borrow();
        let Some(table) = find(doc.as_table(), path)? else { return Ok(Vec::new()) };
        Ok(table.iter().map(|(k, item)| (k.to_owned(), to_json(item))).collect())
    }

    /// Sets entry `name` under `path` (created when missing): in place when it exists, keeping
    /// the comments above its header, else after the last server.
    pub fn put(&self, path: &[String], name: &str, value: &Value) -> Result<(), DocError> {
        let mut doc = self.doc.borrow_mut();
        let mut item: &mut Item = doc.as_item_mut();
        for (i, key) in path.iter().enumerate() {
            let not_table = || DocError::NotAnObject { key: path[..=i].join(".") };
            let parent = item.as_table_like_mut().ok_or_else(not_table)?;
            item = parent.entry(key).or_insert_with(|| {
                let mut new = Table::new();
                new.set_implicit(true);
                Item::Table(new)
            });
            if !item.is_table_like() {
                return Err(not_table());
            }
        }
        // Inside an inline table (`mcp_servers = { … }`) the entry is inline too.
        let inline = item.is_inline_table();
        let Some(table) = item.as_table_like_mut() else { return Ok(()) };
        let object = value.as_object().cloned().unwrap_or_default();
        let entry = if inline || table.get(name).is_some_and(Item::is_inline_table) {
            Item::Value(toml_edit::Value::InlineTable(inline_table(&object)))
        } else {
            let mut new = Table::new();
            for (k, v) in &object {
                new.insert(k, Item::Value(to_toml(v)));
            }
            if let Some(old) = table.get(name).and_then(Item::as_table) {
                new.set_position(old.position());
                *new.decor_mut() = old.decor().clone();
            }
            Item::Table(new)
        };
        table.insert(name, entry);
        Ok(())
    }

    /// Removes entry `name` under `path`; answers whether it was there.
    pub fn remove(&self, path: &[String], name: &str) -> Result<bool, DocError> {
        let mut doc = self.doc.borrow_mut();
        let mut table: &mut dyn TableLike = doc.as_table_mut();
        for (i, key) in path.iter().enumerate() {
            let Some(item) = table.get_mut(key) else { return Ok(false) };
            table = item
                .as_table_like_mut()
                .ok_or_else(|| DocError::NotAnObject { key: path[..=i].join(".") })?;
        }
        Ok(table.remove(name).is_some())
    }
}

fn find<'a>(root: &'a Table, path: &[String]) -> Result<Option<&'a dyn TableLike>, DocError> {
    let mut table: &dyn TableLike = root;
    for (i, key) in path.iter().enumerate() {
        let Some(item) = table.get(key) else { return Ok(None) };
        table = item
            .as_table_like()
            .ok_or_else(|| DocError::NotAnObject { key: path[..=i].join(".") })?;
    }
    Ok(Some(table))
}

fn to_json(item: &Item) -> Value {
    match item {
        Item::None => Value::Null,
        Item::Value(value) => value_json(value),
        Item::Table(table) => {
            Value::Object(table.iter().map(|(k, v)| (k.to_owned(), to_json(v))).collect())
        }
        Item::ArrayOfTables(tables) => Value::Array(
            tables
                .iter()
                .map(|t| Value::Object(t.iter().map(|(k, v)| (k.to_owned(), to_json(v))).collect()))
                .collect(),
        ),
    }
}

fn value_json(value: &toml_edit::Value) -> Value {
    use toml_edit::Value as T;
    match value {
        T::String(s) => Value::String(s.value().clone()),
        T::Integer(i) => Value::from(*i.value()),
        T::Float(f) => serde_json::Number::from_f64(*f.value()).map_or(Value::Null, Value::Number),
        T::Boolean(b) => Value::Bool(*b.value()),
        T::Datetime(d) => Value::String(d.value().to_string()),
        T::Array(items) => Value::Array(items.iter().map(value_json).collect()),
        T::InlineTable(table) => Value::Object(
            table.iter().map(|(k, v)| (k.to_owned(), value_json(v))).collect::<Map<_, _>>(),
        ),
    }
}

fn to_toml(value: &Value) -> toml_edit::Value {
    match value {
        // TOML has no null: an entry never holds one.
        Value::Null => toml_edit::Value::from(""),
        Value::Bool(b) => toml_edit::Value::from(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml_edit::Value::from(i),
            None => toml_edit::Value::from(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => toml_edit::Value::from(s.as_str()),
        Value::Array(items) => {
            toml_edit::Value::Array(items.iter().map(to_toml).collect::<toml_edit::Array>())
        }
        Value::Object(map) => toml_edit::Value::InlineTable(inline_table(map)),
    }
}

fn inline_table(map: &Map<String, Value>) -> InlineTable {
    let mut table = InlineTable::new();
    for (k, v) in map {
        table.insert(k, to_toml(v));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn servers() -> Vec<String> {
        vec!["mcp_servers".to_owned()]
    }

    #[test]
    fn a_server_goes_after_the_others_and_leaves_without_a_trace() {
        let text = "# top\nmodel = \"o3\"  # why\n\n[mcp_servers.other]\ncommand = \"x\"\n\n\
                    # later\n[profiles.a]\nk = 1\n";
        let doc = TomlDoc::parse(text).unwrap();
        let entry = json!({"url": "http://127.0.0.1:1/mcp", "http_headers": {"A": "b"}});
        doc.put(&servers(), "serena", &entry).unwrap();
        let expected = text.replace(
            "\n# later",
            "\n[mcp_servers.serena]\nurl = \"http://127.0.0.1:1/mcp\"\nhttp_headers = { A = \
             \"b\" }\n\n# later",
        );
        assert_eq!(doc.text(), expected);
        assert_eq!(doc.get(&servers(), "serena").unwrap(), Some(entry));
        doc.put(&servers(), "serena", &json!({"url": "http://127.0.0.1:2/mcp"})).unwrap();
        assert!(doc.text().contains("[mcp_servers.serena]\nurl = \"http://127.0.0.1:2/mcp\"\n\n"));
        assert!(doc.remove(&servers(), "serena").unwrap());
        assert_eq!(doc.text(), text);
    }

    #[test]
    fn an_inline_servers_table_gets_an_inline_entry() {
        let text = "mcp_servers = { other = { command = \"x\" } }\n[p]\nk=1\n";
        let doc = TomlDoc::parse(text).unwrap();
        doc.put(&servers(), "serena", &json!({"url": "u"})).unwrap();
        assert_eq!(
            doc.text(),
            "mcp_servers = { other = { command = \"x\" } , serena = { url = \"u\" } }\n[p]\nk=1\n"
        );
        doc.remove(&servers(), "serena").unwrap();
        assert_eq!(doc.text(), text);
    }

    #[test]
    fn malformed_toml_is_refused_with_where_and_a_servers_value_that_is_no_table() {
        let err = TomlDoc::parse("a = 1\n[mcp_servers.s]\nurl = \"x\"\nurl = \"y\"\n").err();
        let Some(DocError::Malformed { line, column, message }) = err else { panic!("{err:?}") };
        assert_eq!((line, column), (4, 1), "{message}");
        assert!(message.contains("duplicate key"), "{message}");
        let doc = TomlDoc::parse("mcp_servers = 3\n").unwrap();
        let err = doc.put(&servers(), "s", &json!({})).unwrap_err();
        assert_eq!(err, DocError::NotAnObject { key: "mcp_servers".into() });
    }
}

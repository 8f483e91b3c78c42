//! One interface over the syntaxes clients keep their servers in: strict JSON, JSONC (comments
//! and trailing commas) and TOML, each edited in place so that every other byte stays.

use serde_json::Value;

use super::document::{DocError, Document, Looseness};
use super::toml_doc::TomlDoc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Json,
    /// JSON with comments, no trailing commas (Gemini CLI's settings).
    JsonComments,
    /// JSON with comments and trailing commas.
    Jsonc,
    Toml,
}

impl Syntax {
    pub fn name(self) -> &'static str {
        match self {
            Syntax::Json => "JSON",
            Syntax::JsonComments => "JSON with comments",
            Syntax::Jsonc => "JSONC",
            Syntax::Toml => "TOML",
        }
    }

    /// The extension of a backup of such a file.
    pub fn extension(self) -> &'static str {
        match self {
            Syntax::Json | Syntax::JsonComments | Syntax::Jsonc => "json",
            Syntax::Toml => "toml",
        }
    }
}

/// A parsed client file.
pub enum Doc {
    Json(Document),
    Toml(TomlDoc),
}

impl Doc {
    /// Parses `text`; empty text is an empty document.
    pub fn parse(text: &str, syntax: Syntax) -> Result<Doc, DocError> {
        Ok(match syntax {
            Syntax::Json => Doc::Json(Document::parse_as(text, Looseness::Strict)?),
            Syntax::JsonComments => Doc::Json(Document::parse_as(text, Looseness::Comments)?),
            Syntax::Jsonc => {
                Doc::Json(Document::parse_as(text, Looseness::CommentsAndTrailingCommas)?)
            }
            Syntax::Toml => Doc::Toml(TomlDoc::parse(text)?),
        })
    }

    pub fn text(&self) -> String {
        match self {
            Doc::Json(doc) => doc.text(),
            Doc::Toml(doc) => doc.text(),
        }
    }

    pub fn get(&self, path: &[String], name: &str) -> Result<Option<Value>, DocError> {
        match self {
            Doc::Json(doc) => doc.get(path, name),
            Doc::Toml(doc) => doc.get(path, name),
        }
    }

    pub fn entries(&self, path: &[String]) -> Result<Vec<(String, Value)>, DocError> {
        match self {
            Doc::Json(doc) => doc.entries(path),
            Doc::Toml(doc) => doc.entries(path),
        }
    }

    pub fn put(&self, path: &[String], name: &str, value: &Value) -> Result<(), DocError> {
        match self {
            Doc::Json(doc) => doc.put(path, name, value),
            Doc::Toml(doc) => doc.put(path, name, value),
        }
    }

    pub fn remove(&self, path: &[String], name: &str) -> Result<bool, DocError> {
        match self {
            Doc::Json(doc) => doc.remove(path, name),
            Doc::Toml(doc) => doc.remove(path, name),
        }
    }
}

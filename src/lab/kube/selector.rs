//! Label and field selectors, as the API server reads them from a query.

use std::collections::BTreeMap;

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector (`app=serena-mcp,tier!=db`, `env in (a,b)`, `key`, `!key`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector(Vec<Requirement>);

impl Selector {
    pub fn parse(raw: &str) -> Result<Selector, String> {
        let mut reqs = Vec::new();
        for part in split_top_level(raw) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            reqs.push(parse_requirement(part)?);
        }
        Ok(Selector(reqs))
    }

    pub fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k));
        self.0.iter().all(|req| match req {
            Requirement::Equals(k, v) => get(k) == Some(v),
            Requirement::NotEquals(k, v) => get(k) != Some(v),
            Requirement::In(k, vs) => get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|v| !vs.contains(v)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        })
    }
}

/// Splits on commas that are not inside `( … )`.
fn split_top_level(raw: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (i, c) in raw.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&raw[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&raw[start..]);
    parts
}

fn parse_requirement(part: &str) -> Result<Requirement, String> {
    let set = |rest: &str| -> Result<Vec<String>, String> {
        let inner = rest
            .trim()
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(|| format!("unable to parse requirement: {part:?}"))?;
        Ok(inner.split(',').map(|v| v.trim().to_owned()).collect())
    };
    if let Some((k, v)) = part.split_once("!=") {
        return Ok(Requirement::NotEquals(k.trim().into(), v.trim().into()));
    }
    if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
        return Ok(Requirement::Equals(k.trim().into(), v.trim().into()));
    }
    if let Some((k, rest)) = part.split_once(" notin ") {
        return Ok(Requirement::NotIn(k.trim().into(), set(rest)?));
    }
    if let Some((k, rest)) = part.split_once(" in ") {
        return Ok(Requirement::In(k.trim().into(), set(rest)?));
    }
    if let Some(k) = part.strip_prefix('!') {
        return Ok(Requirement::NotExists(k.trim().into()));
    }
    if part.contains([' ', '(', ')']) {
        return Err(format!("unable to parse requirement: {part:?}"));
    }
    Ok(Requirement::Exists(part.into()))
}

/// The field selectors the lab understands: `metadata.name` and `metadata.namespace`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    name: Option<String>,
    namespace: Option<String>,
}

impl FieldSelector {
    pub fn parse(raw: &str) -> Result<FieldSelector, String> {
        let mut sel = FieldSelector::default();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once("==")
                .or_else(|| part.split_once('='))
                .ok_or_else(|| format!("invalid field selector: {part:?}"))?;
            match k.trim() {
                "metadata.name" => sel.name = Some(v.trim().to_owned()),
                "metadata.namespace" => sel.namespace = Some(v.trim().to_owned()),
                other => return Err(format!("field label not supported: {other}")),
            }
        }
        Ok(sel)
    }

    pub fn matches(&self, name: &str, namespace: &str) -> bool {
        self.name.as_deref().is_none_or(|n| n == name)
            && self.namespace.as_deref().is_none_or(|n| n == namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn equality_set_and_existence() {
        let l = labels(&[("app", "serena-mcp"), ("tier", "web")]);
        let yes = ["app=serena-mcp", "app==serena-mcp,tier!=db", "tier in (web, api)", "app", "!x"];
        for s in yes {
            assert!(Selector::parse(s).unwrap().matches(Some(&l)), "{s}");
        }
        let no = ["app=other", "tier notin (web)", "missing", "!app", "app=serena-mcp,tier=db"];
        for s in no {
            assert!(!Selector::parse(s).unwrap().matches(Some(&l)), "{s}");
        }
        assert!(Selector::parse("").unwrap().matches(None));
        assert!(Selector::parse("a in b").is_err());
    }

    #[test]
    fn field_selectors() {
        let f = FieldSelector::parse("metadata.name=p1").unwrap();
        assert!(f.matches("p1", "mcp") && !f.matches("p2", "mcp"));
        assert!(FieldSelector::parse("status.phase=Running").is_err());
    }
}

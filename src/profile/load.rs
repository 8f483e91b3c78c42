//! Loading profiles: the built-ins compiled in, then the user's directory on top.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::check;
use super::locate::{Position, locate};
use super::model::Profile;
use super::read;

/// The built-in profiles, in the order the seed document presents the routes.
const BUILT_INS: [(&str, &str); 4] = [
    ("serena-direct.yaml", include_str!("../../profiles/serena-direct.yaml")),
    ("gateway-port-forward.yaml", include_str!("../../profiles/gateway-port-forward.yaml")),
    ("gateway-loadbalancer.yaml", include_str!("../../profiles/gateway-loadbalancer.yaml")),
    ("router.yaml", include_str!("../../profiles/router.yaml")),
];

/// Where a profile came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    BuiltIn { file: &'static str },
    User(PathBuf),
}

impl Source {
    /// How the source is named in messages: `profiles/x.yaml (built-in)` or the user's path.
    pub fn label(&self) -> String {
        match self {
            Source::BuiltIn { file } => format!("profiles/{file} (built-in)"),
            Source::User(path) => path.display().to_string(),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::BuiltIn { .. } => f.write_str("built-in"),
            Source::User(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A profile file that could not be used: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ProfileError {
    pub file: String,
    /// [`Position::WHOLE_FILE`] when the file could not be read at all.
    pub position: Position,
    pub message: String,
}

impl fmt::Display for ProfileError {
    /// `file:line:column: message`, or `file: message` for the file as a whole.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ProfileError { file, position, message } = self;
        if *position == Position::WHOLE_FILE {
            write!(f, "{file}: {message}")
        } else {
            write!(f, "{file}:{}:{}: {message}", position.line, position.column)
        }
    }
}

/// One row of the catalog: a profile, or the error that keeps it from loading.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The profile's name, or for a file that does not parse, its best guess.
    pub name: String,
    pub source: Source,
    /// A user profile that took the place of the built-in of the same name.
    pub replaces_builtin: bool,
    pub profile: Result<Profile, ProfileError>,
}

/// Where user profiles live.
#[derive(Debug, Clone)]
pub enum UserDir {
    /// `$XDG_CONFIG_HOME/mcp-connect/profiles`: may not exist yet.
    Default(PathBuf),
    /// `--profiles DIR`: must exist.
    Explicit(PathBuf),
}

impl UserDir {
    pub fn path(&self) -> &Path {
        match self {
            UserDir::Default(path) | UserDir::Explicit(path) => path,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("profiles directory {} does not exist", .0.display())]
    MissingDir(PathBuf),
    #[error("cannot read profiles directory {}: {cause}", .path.display())]
    Unreadable { path: PathBuf, cause: io::Error },
}

impl LoadError {
    pub fn fix(&self) -> String {
        match self {
            LoadError::MissingDir(path) => format!(
                "create it (mkdir -p {}) or pass an existing directory to --profiles",
                path.display()
            ),
            LoadError::Unreadable { path, .. } => {
                format!("check the permissions of {}", path.display())
            }
        }
    }
}

/// Every profile that is known, valid or not.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    entries: Vec<Entry>,
}

impl Catalog {
    /// The built-ins, with the user's profiles from `dir` on top.
    pub fn load(dir: &UserDir) -> Result<Catalog, LoadError> {
        let (path, must_exist) = (dir.path(), matches!(dir, UserDir::Explicit(_)));
        let files = match profile_files(path) {
            Err(cause) if cause.kind() == io::ErrorKind::NotFound => {
                if must_exist {
                    return Err(LoadError::MissingDir(path.to_owned()));
                }
                Vec::new()
            }
            Err(cause) => return Err(LoadError::Unreadable { path: path.to_owned(), cause }),
            Ok(files) => files,
        };
        let mut catalog = Catalog::builtin();
        for file in files {
            let text = read::read(&file);
            catalog.add_user(file, text);
        }
        Ok(catalog)
    }

    /// The built-in profiles alone.
    pub fn builtin() -> Catalog {
        let entries = BUILT_INS
            .iter()
            .map(|(file, text)| {
                let source = Source::BuiltIn { file };
                let profile = parse(text, &source.label());
                let stem = file.trim_end_matches(".yaml");
                Entry { name: guess_name(text, stem), source, replaces_builtin: false, profile }
            })
            .collect();
        Catalog { entries }
    }

    /// Adds the user file at `path`: its text, or why it could not be read (an entry all the
    /// same, so that no file is skipped without a word).
    fn add_user(&mut self, path: PathBuf, text: Result<String, String>) {
        let source = Source::User(path.clone());
        let label = source.label();
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let (name, profile) = match text {
            Ok(text) => {
                let name = guess_name(&text, &stem);
                let profile = parse(&text, &label)
                    .and_then(|p| self.unclaimed(&name, &text, &label).map(|()| p));
                (name, profile)
            }
            Err(message) => {
                (stem, Err(ProfileError { file: label, position: Position::WHOLE_FILE, message }))
            }
        };
        match self.entries.iter().position(|e| e.name == name) {
            Some(i) if matches!(self.entries[i].source, Source::BuiltIn { .. }) => {
                self.entries[i] = Entry { name, source, replaces_builtin: true, profile };
            }
            _ => self.entries.push(Entry { name, source, replaces_builtin: false, profile }),
        }
    }

    /// Two user files may not claim one name: the first in file-name order keeps it.
    fn unclaimed(&self, name: &str, text: &str, label: &str) -> Result<(), ProfileError> {
        let first =
            self.entries.iter().find(|e| e.name == name && matches!(e.source, Source::User(_)));
        match first {
            None => Ok(()),
            Some(first) => Err(ProfileError {
                file: label.to_owned(),
                position: locate(text, &["name"]).unwrap_or(Position::START),
                message: format!(
                    "duplicate profile name `{name}`, already used by {}; expected a name no \
                     other profile file uses",
                    first.source.label()
                ),
            }),
        }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry a name refers to (the first, where a duplicate follows it).
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    pub fn errors(&self) -> impl Iterator<Item = &ProfileError> {
        self.entries.iter().filter_map(|e| e.profile.as_ref().err())
    }

    /// The names of the profiles that load, in catalog order.
    pub fn valid_names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().filter(|e| e.profile.is_ok()).map(|e| e.name.as_str())
    }
}

/// Every entry of a directory named `*.yaml` or `*.yml`, sorted by name: files, and also
/// what only looks like one (a directory, a FIFO, a dangling link), for the reader to refuse
/// in words.
fn profile_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let is_yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        // Emacs marks a file being edited with `.#NAME`, a link to nowhere: not a profile.
        let lock = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with(".#"));
        if is_yaml && !lock {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The name a file means to have, even when the rest of it is broken.
pub(super) fn guess_name(text: &str, fallback: &str) -> String {
    #[derive(Deserialize)]
    struct NameOnly {
        name: String,
    }
    match serde_yaml::from_str::<NameOnly>(text) {
        Ok(n) if !n.name.trim().is_empty() => n.name,
        _ => fallback.to_owned(),
    }
}

/// Parses and checks one profile; `file` names it in the error.
pub fn parse(text: &str, file: &str) -> Result<Profile, ProfileError> {
    let error = |position: Position, message: String| ProfileError {
        file: file.to_owned(),
        position,
        message,
    };
    if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Err(error(
            Position::START,
            "the file is empty, expected a profile: a mapping with at least `name`, `title` and \
             `link`"
                .to_owned(),
        ));
    }
    let profile: Profile = serde_yaml::from_str(text).map_err(|e| {
        let position = e.location().map(Position::from).unwrap_or(Position::START);
        error(position, explain(&e))
    })?;
    check::check(&profile).map_err(|failed| {
        let keys: Vec<&str> = failed.keys.iter().map(String::as_str).collect();
        let position = locate(text, &keys).unwrap_or(Position::START);
        error(position, failed.message)
    })?;
    Ok(profile)
}

/// serde_yaml's message without its trailing position, with what was expected where it
/// does not say.
pub(crate) fn explain(err: &serde_yaml::Error) -> String {
    let mut message = err.to_string();
    if let Some(loc) = err.location() {
        let suffix = format!(" at line {} column {}", loc.line(), loc.column());
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_owned();
        }
    }
    if message.contains("expected") {
        return message;
    }
    if let Some(field) = message.split("missing field `").nth(1).and_then(|s| s.split('`').next()) {
        return format!("{message}, expected `{field}: …` in this mapping");
    }
    format!("{message}, expected well-formed YAML (check indentation, quoting and `: ` after keys)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    const GOOD: &str =
        "name: NAME\ntitle: A title\nlink:\n  direct:\n    url: http://127.0.0.1:9000\n";

    fn good(name: &str) -> String {
        GOOD.replace("NAME", name)
    }

    fn load(dir: &Path) -> Catalog {
        Catalog::load(&UserDir::Explicit(dir.to_owned())).expect("the directory loads")
    }

    fn error_of<'c>(catalog: &'c Catalog, path: &Path) -> &'c ProfileError {
        let source = Source::User(path.to_owned());
        let entry = catalog.entries().iter().find(|e| e.source == source);
        let entry = entry.unwrap_or_else(|| panic!("{} is listed", path.display()));
        entry.profile.as_ref().expect_err("an error")
    }

    #[test]
    fn a_byte_order_mark_is_no_part_of_the_first_key_nor_of_positions() {
        let dir = tempfile::tempdir().unwrap();
        let bom = |text: &str| format!("\u{feff}{text}");
        fs::write(dir.path().join("bom.yaml"), bom(&good("with-bom"))).unwrap();
        let broken = bom(&good("broken-bom").replace("http://", "ftp://"));
        fs::write(dir.path().join("broken.yaml"), broken).unwrap();

        let catalog = load(dir.path());
        let profile = catalog.get("with-bom").expect("listed").profile.as_ref().expect("valid");
        assert_eq!(profile.title.as_str(), "A title");
        // Columns count from the first character after the mark, as an editor shows them.
        let err = error_of(&catalog, &dir.path().join("broken.yaml")).to_string();
        assert!(err.contains("broken.yaml:5:10: ") && err.contains("URL scheme \"ftp\""), "{err}");
    }

    #[test]
    fn every_entry_that_cannot_be_read_is_listed_with_its_path_and_why() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name);
        fs::write(at("mine.yaml"), good("mine")).unwrap();
        fs::create_dir(at("x.yaml")).unwrap();
        symlink(at("nowhere.yaml"), at("dangling.yaml")).unwrap();
        symlink(at("loop-b.yaml"), at("loop-a.yml")).unwrap();
        symlink(at("loop-a.yml"), at("loop-b.yaml")).unwrap();
        fs::File::create(at("huge.yaml")).unwrap().set_len(200 << 20).unwrap();
        fs::write(at("notes.txt"), "not a profile").unwrap();
        symlink("root@host.1234:1700000000", at(".#mine.yaml")).unwrap();

        let catalog = load(dir.path());
        let cases = [
            ("x.yaml", "it is a directory"),
            ("dangling.yaml", "it is a symbolic link to"),
            ("loop-a.yml", "it is a symbolic link that loops"),
            ("loop-b.yaml", "it is a symbolic link that loops"),
            ("huge.yaml", "the file is 209715200 bytes (200.0 MiB)"),
        ];
        for (file, says) in cases {
            let err = error_of(&catalog, &at(file)).to_string();
            let prefix = format!("{}: ", at(file).display());
            assert!(err.starts_with(&prefix), "`{err}` names the file alone, no line");
            assert!(err.contains(says) && err.contains("expected"), "{file}: {err}");
        }
        let user = catalog.entries().iter().filter(|e| matches!(e.source, Source::User(_)));
        assert_eq!(user.count(), cases.len() + 1, "every *.yaml and *.yml entry, nothing else");
        let valid: Vec<&str> = catalog.valid_names().collect();
        assert_eq!(
            valid,
            ["serena-direct", "gateway-port-forward", "gateway-loadbalancer", "router", "mine"]
        );
    }
}

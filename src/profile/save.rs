//! Saving a changed profile as a user profile: checked again exactly as loading will check it,
//! written atomically, and whatever file it replaces kept as a private backup first.

use std::path::{Path, PathBuf};

use super::load::{guess_name, parse};
use super::model::Profile;
use crate::files;
use crate::trouble::Trouble;

/// Where user profiles are saved, and where the files they replace are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileStore {
    /// The user profiles directory (`--profiles DIR` or `$XDG_CONFIG_HOME/mcp-connect/profiles`).
    pub dir: PathBuf,
    /// `$XDG_STATE_HOME/mcp-connect/backups/profiles`.
    pub backups: PathBuf,
}

/// A profile written to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub file: PathBuf,
    /// The earlier content of `file`, when there was a file.
    pub backup: Option<PathBuf>,
}

impl ProfileStore {
    pub fn new(dir: PathBuf, state: &Path) -> ProfileStore {
        ProfileStore { dir, backups: state.join("backups").join("profiles") }
    }

    /// Writes `profile` over `from` (the user file it was loaded from), or as `DIR/NAME.yaml`
    /// when it was a built-in.
    pub fn save(&self, profile: &Profile, from: Option<&Path>) -> Result<Saved, Trouble> {
        let file =
            from.map_or_else(|| self.dir.join(format!("{}.yaml", profile.name)), Path::to_owned);
        let text = self.render(profile, &file)?;
        let io = |what: &str, path: &Path, err: std::io::Error| Trouble {
            cause: format!("cannot {what} {}: {err}", path.display()),
            fix: format!("check the permissions of {}", path.parent().unwrap_or(path).display()),
        };
        let found = files::read(&file).map_err(|e| io("read", &file, e))?;
        let backup = match &found {
            Some(found) => {
                let other = guess_name(&found.text, "");
                if from.is_none() && other != profile.name.as_str() {
                    return Err(Trouble {
                        cause: format!("{} already holds the profile `{other}`", file.display()),
                        fix: "rename that file, or give this profile another name".to_owned(),
                    });
                }
                let dir = self.backups.join(profile.name.as_str());
                Some(
                    files::backup(&dir, &found.text, "yaml")
                        .map_err(|e| io("back up", &file, e))?,
                )
            }
            None => None,
        };
        let mode = found.map_or(0o644, |f| f.mode);
        files::write_atomic(&file, &text, mode).map_err(|e| io("write", &file, e))?;
        Ok(Saved { file, backup })
    }

    /// The file's text, refused unless it loads back as exactly `profile`.
    fn render(&self, profile: &Profile, file: &Path) -> Result<String, Trouble> {
        let body = serde_yaml::to_string(profile).map_err(|e| Trouble {
            cause: format!("cannot write the profile as YAML: {e}"),
            fix: "report this as a bug in mcp-connect".to_owned(),
        })?;
        let text = format!(
            "# Saved by mcp-connect. `mcp-connect profiles` checks this file; what it replaced is \
             kept under\n# {}.\n{body}",
            self.backups.display()
        );
        match parse(&text, &file.display().to_string()) {
            Ok(back) if back == *profile => Ok(text),
            Ok(_) => Err(Trouble {
                cause: "the profile does not read back as it was written".to_owned(),
                fix: "report this as a bug in mcp-connect".to_owned(),
            }),
            Err(err) => Err(Trouble {
                cause: format!("the changed profile is not valid: {}", err.message),
                fix: "change the value it names and save again".to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::profile::{Catalog, KubeName, Link, Port, UserDir};

    fn builtin(name: &str) -> Profile {
        Catalog::builtin().get(name).unwrap().profile.clone().unwrap()
    }

    fn store(root: &Path) -> ProfileStore {
        ProfileStore::new(root.join("profiles"), &root.join("state"))
    }

    fn edit(profile: &mut Profile, context: &str, namespace: &str, port: u16) {
        let Link::PortForward(pf) = &mut profile.link else { panic!("not a forward") };
        pf.context = Some(context.to_owned());
        pf.namespace = KubeName::try_from(namespace).unwrap();
        pf.local_port = Port::new(port).unwrap();
    }

    #[test]
    fn every_builtin_saves_and_loads_back_as_a_user_profile_that_replaces_it() {
        let root = tempfile::tempdir().unwrap();
        let store = store(root.path());
        for entry in Catalog::builtin().entries() {
            let profile = entry.profile.clone().unwrap();
            let saved = store.save(&profile, None).unwrap();
            assert_eq!(saved.backup, None);
            let mode = std::fs::metadata(&saved.file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644, "a profile holds no secret");
        }
        let catalog = Catalog::load(&UserDir::Explicit(store.dir.clone())).unwrap();
        assert_eq!(catalog.errors().count(), 0);
        for (entry, builtin) in catalog.entries().iter().zip(Catalog::builtin().entries()) {
            assert!(entry.replaces_builtin, "{}", entry.name);
            assert_eq!(entry.profile, builtin.profile);
        }
    }

    #[test]
    fn saving_a_user_profile_again_rewrites_its_file_and_keeps_the_old_text() {
        let root = tempfile::tempdir().unwrap();
        let store = store(root.path());
        let mut profile = builtin("serena-direct");
        edit(&mut profile, "staging", "team-a", 18080);
        let first = store.save(&profile, None).unwrap();
        let before = std::fs::read_to_string(&first.file).unwrap();
        edit(&mut profile, "prod", "team-b", 18081);
        let second = store.save(&profile, Some(&first.file)).unwrap();
        assert_eq!(second.file, first.file);
        let backup = second.backup.expect("a backup of the first save");
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), before);
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let catalog = Catalog::load(&UserDir::Explicit(store.dir.clone())).unwrap();
        assert_eq!(catalog.get("serena-direct").unwrap().profile.as_ref().unwrap(), &profile);
    }

    #[test]
    fn a_file_of_another_profile_at_the_target_name_is_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let store = store(root.path());
        std::fs::create_dir_all(&store.dir).unwrap();
        let target = store.dir.join("serena-direct.yaml");
        std::fs::write(&target, "name: mine\n").unwrap();
        let err = store.save(&builtin("serena-direct"), None).unwrap_err();
        assert!(err.cause.contains("already holds the profile `mine`"), "{err:?}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "name: mine\n");
    }

    #[test]
    fn an_invalid_change_is_refused_with_the_loader_s_reason_and_nothing_is_written() {
        let root = tempfile::tempdir().unwrap();
        let store = store(root.path());
        let mut profile = builtin("serena-direct");
        // A TLS section on a plain-HTTP forward is what the loader refuses.
        profile.tls = builtin("gateway-port-forward").tls;
        let err = store.save(&profile, None).unwrap_err();
        assert!(err.cause.contains("`tls` is set but the link speaks plain HTTP"), "{err:?}");
        assert!(!store.dir.join("serena-direct.yaml").exists());
    }
}

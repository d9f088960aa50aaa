//! Licence contracts: the TOML format, its validation, and the set with its content hash.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::LicenseError;

/// What a licence permits, in ccREL terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Permit {
    Reproduction,
    Distribution,
    DerivativeWorks,
    /// ccREL's "permits commercial derivatives, but only non-commercial distribution"; no
    /// licence in the built-in set uses it, and evaluation never requires it.
    Sharing,
}

/// What a licence requires of whoever uses it, in ccREL terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Require {
    Notice,
    Attribution,
    ShareAlike,
    SourceCode,
}

/// What a licence prohibits, in ccREL terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Prohibit {
    CommercialUse,
}

/// The family a licence belongs to; attribution wording depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    PublicDomain,
    CcBy,
    CcBySa,
    CcByNc,
    CcByNd,
    CcByNcSa,
    CcByNcNd,
    Gfdl,
    Gpl,
    AllRightsReserved,
}

/// How the licence itself must accompany a use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LicenseNotice {
    /// Nothing is owed (public domain) or nothing is granted (all rights reserved).
    None,
    /// A link to (or the address of) the licence is enough, as in every CC licence.
    Link,
    /// A copy of the licence text must be included, as the GNU licences require.
    FullText,
}

/// One licence contract, as validated from its TOML file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct License {
    pub id: String,
    pub name: String,
    pub short_name: String,
    pub family: Family,
    pub version: Option<String>,
    /// The legal code.
    pub url: Option<String>,
    /// The human-readable summary, which Creative Commons asks credits to link to.
    pub deed_url: Option<String>,
    pub aliases: Vec<String>,
    pub permits: Vec<Permit>,
    pub requires: Vec<Require>,
    pub prohibits: Vec<Prohibit>,
    /// Licences an adaptation may be released under (the adapter's licence).
    pub adaptation_licenses: Vec<String>,
    /// The work is free of copyright conditions: a credit is a courtesy, not a condition.
    pub public_domain: bool,
    /// The credit must name the work's title (CC 2.0 and 3.0, GFDL).
    pub requires_title: bool,
    /// An adaptation must say that it changed the work (CC 3.0 and 4.0, GNU licences).
    pub indicate_changes: bool,
    /// An adaptation must credit the use of the work in it, e.g. "French translation of the
    /// Work by Author" (CC 2.0 and 3.0).
    pub adaptation_credit: bool,
    pub license_notice: LicenseNotice,
}

impl License {
    pub fn permits(&self, term: Permit) -> bool {
        self.permits.contains(&term)
    }

    pub fn requires(&self, term: Require) -> bool {
        self.requires.contains(&term)
    }

    pub fn prohibits(&self, term: Prohibit) -> bool {
        self.prohibits.contains(&term)
    }

    /// The address a credit links to: the deed where there is one, else the legal code.
    pub fn link(&self) -> Option<&str> {
        self.deed_url.as_deref().or(self.url.as_deref())
    }
}

/// A validated set of licence contracts and the hash that identifies exactly this set.
#[derive(Debug, Clone)]
pub struct LicenseSet {
    licenses: Vec<License>,
    index: BTreeMap<String, usize>,
    content_hash: String,
}

macro_rules! builtin {
    ($id:literal) => {
        (
            concat!($id, ".toml"),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/contracts/licenses/",
                $id,
                ".toml"
            )),
        )
    };
}

/// The built-in contracts, compiled in so the service works from any directory.
const BUILTIN: &[(&str, &str)] = &[
    builtin!("CC0-1.0"),
    builtin!("CC-PDM-1.0"),
    builtin!("CC-BY-4.0"),
    builtin!("CC-BY-3.0"),
    builtin!("CC-BY-2.0"),
    builtin!("CC-BY-SA-4.0"),
    builtin!("CC-BY-SA-3.0"),
    builtin!("CC-BY-SA-2.0"),
    builtin!("CC-BY-NC-4.0"),
    builtin!("CC-BY-NC-3.0"),
    builtin!("CC-BY-NC-2.0"),
    builtin!("CC-BY-ND-4.0"),
    builtin!("CC-BY-ND-3.0"),
    builtin!("CC-BY-ND-2.0"),
    builtin!("CC-BY-NC-SA-4.0"),
    builtin!("CC-BY-NC-SA-3.0"),
    builtin!("CC-BY-NC-SA-2.0"),
    builtin!("CC-BY-NC-ND-4.0"),
    builtin!("CC-BY-NC-ND-3.0"),
    builtin!("CC-BY-NC-ND-2.0"),
    builtin!("GFDL-1.3-only"),
    builtin!("GPL-3.0-only"),
    builtin!("LicenseRef-All-Rights-Reserved"),
];

impl LicenseSet {
    /// The contracts compiled into the binary from `contracts/licenses/`.
    pub fn builtin() -> Self {
        // Parsed once per process; callers may ask for it per request.
        static PARSED: OnceLock<LicenseSet> = OnceLock::new();
        PARSED
            .get_or_init(|| {
                Self::from_sources(
                    BUILTIN
                        .iter()
                        .map(|(file, text)| (file.to_string(), text.to_string())),
                )
                .expect("the built-in licence contracts are validated by the tests")
            })
            .clone()
    }

    /// Every `*.toml` file in `dir`, one contract each; other files are ignored.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self, LicenseError> {
        let dir = dir.as_ref();
        let unreadable = |source| LicenseError::ContractDirUnreadable {
            path: dir.to_path_buf(),
            source,
        };
        let mut sources = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(unreadable)? {
            let path = entry.map_err(unreadable)?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|source| {
                LicenseError::ContractDirUnreadable {
                    path: path.clone(),
                    source,
                }
            })?;
            let file = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            sources.push((file, text));
        }
        Self::from_sources(sources)
    }

    /// Validates each `(file name, TOML text)` and then the set as a whole.
    pub fn from_sources(
        sources: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, LicenseError> {
        let mut licenses = Vec::new();
        let mut files = Vec::new();
        for (file, text) in sources {
            licenses.push(parse_contract(&file, &text)?);
            files.push(file);
        }

        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        for (i, license) in licenses.iter().enumerate() {
            for name in std::iter::once(&license.id).chain(&license.aliases) {
                let key = name.to_ascii_lowercase();
                if let Some(&j) = index.get(&key) {
                    return Err(LicenseError::DuplicateLicense {
                        id: name.clone(),
                        first: files[j].clone(),
                        second: files[i].clone(),
                    });
                }
                index.insert(key, i);
            }
        }

        for (i, license) in licenses.iter().enumerate() {
            for target in &license.adaptation_licenses {
                let reason = match index.get(&target.to_ascii_lowercase()) {
                    None => format!("`{target}` is not a licence in this set"),
                    // Aliases would make the hash depend on spelling, not meaning.
                    Some(&j) if licenses[j].id != *target => format!(
                        "`{target}` is not spelled as a licence id; write `{}`",
                        licenses[j].id
                    ),
                    Some(_) => continue,
                };
                return Err(invalid(&files[i], "adaptation_licenses", reason));
            }
        }

        // The order of files on disk must not change the hash or the iteration order.
        let mut order: Vec<usize> = (0..licenses.len()).collect();
        order.sort_by(|&a, &b| licenses[a].id.cmp(&licenses[b].id));
        let licenses: Vec<License> = order.iter().map(|&i| licenses[i].clone()).collect();
        let index = licenses
            .iter()
            .enumerate()
            .flat_map(|(i, l)| {
                std::iter::once(&l.id)
                    .chain(&l.aliases)
                    .map(move |n| (n.to_ascii_lowercase(), i))
            })
            .collect();
        let content_hash = content_hash(&licenses);
        Ok(Self {
            licenses,
            index,
            content_hash,
        })
    }

    /// The contract with this identifier or alias, ignoring case as SPDX asks of matchers.
    pub fn get(&self, id: &str) -> Option<&License> {
        self.index
            .get(&id.to_ascii_lowercase())
            .map(|&i| &self.licenses[i])
    }

    /// The contracts, ordered by identifier.
    pub fn iter(&self) -> impl Iterator<Item = &License> {
        self.licenses.iter()
    }

    /// SHA-256 (lower-case hex) over the canonical serialisation of every contract: compact
    /// JSON of the contracts ordered by id, fields in declaration order, list fields sorted.
    pub fn content_hash(&self) -> &str {
        &self.content_hash
    }
}

fn content_hash(licenses: &[License]) -> String {
    let canonical = serde_json::to_vec(licenses).expect("contracts serialise to JSON");
    hex::encode(Sha256::digest(&canonical))
}

fn invalid(file: &str, field: &str, reason: impl Into<String>) -> LicenseError {
    LicenseError::InvalidContract {
        file: file.to_string(),
        field: field.to_string(),
        reason: reason.into(),
    }
}

const FIELDS: &[&str] = &[
    "id",
    "name",
    "short_name",
    "family",
    "version",
    "url",
    "deed_url",
    "aliases",
    "permits",
    "requires",
    "prohibits",
    "adaptation_licenses",
    "public_domain",
    "requires_title",
    "indicate_changes",
    "adaptation_credit",
    "license_notice",
];

/// Reads the table by hand rather than through serde so that every complaint names the field.
fn parse_contract(file: &str, text: &str) -> Result<License, LicenseError> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| invalid(file, "(syntax)", e.message().to_string()))?;
    for key in table.keys() {
        if !FIELDS.contains(&key.as_str()) {
            return Err(invalid(file, key, "unknown field"));
        }
    }
    let fields = Fields {
        file,
        table: &table,
    };

    let id = fields.string("id")?;
    let expected_file = format!("{id}.toml");
    if file != expected_file {
        return Err(invalid(
            file,
            "id",
            format!("`{id}` must live in a file named {expected_file}"),
        ));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(invalid(
            file,
            "id",
            "an SPDX id uses only letters, digits, `-` and `.`",
        ));
    }

    let mut license = License {
        name: fields.string("name")?,
        short_name: fields.string("short_name")?,
        family: fields.keyword("family")?,
        version: fields.optional_string("version")?,
        url: fields.optional_string("url")?,
        deed_url: fields.optional_string("deed_url")?,
        aliases: fields.list("aliases", false)?,
        permits: fields.terms("permits")?,
        requires: fields.terms("requires")?,
        prohibits: fields.terms("prohibits")?,
        adaptation_licenses: fields.list("adaptation_licenses", true)?,
        public_domain: fields.flag("public_domain")?,
        requires_title: fields.flag("requires_title")?,
        indicate_changes: fields.flag("indicate_changes")?,
        adaptation_credit: fields.flag("adaptation_credit")?,
        license_notice: fields.keyword("license_notice")?,
        id,
    };
    license.aliases.sort();
    license.permits.sort();
    license.requires.sort();
    license.prohibits.sort();
    license.adaptation_licenses.sort();

    check_consistency(file, &license)?;
    Ok(license)
}

/// Rules that keep a contract from contradicting itself.
fn check_consistency(file: &str, l: &License) -> Result<(), LicenseError> {
    for (field, url) in [("url", &l.url), ("deed_url", &l.deed_url)] {
        if let Some(url) = url {
            if !url.starts_with("https://") {
                return Err(invalid(file, field, "must be an https:// address"));
            }
        }
    }
    if l.url.is_none() && l.family != Family::AllRightsReserved {
        return Err(invalid(
            file,
            "url",
            "missing; every licence has a legal text",
        ));
    }
    if l.public_domain && !l.requires.is_empty() {
        return Err(invalid(
            file,
            "requires",
            "a public-domain contract cannot require anything",
        ));
    }
    if l.public_domain != (l.family == Family::PublicDomain) {
        return Err(invalid(
            file,
            "public_domain",
            "must be true exactly for the public-domain family",
        ));
    }
    if !l.permits(Permit::DerivativeWorks) && !l.adaptation_licenses.is_empty() {
        return Err(invalid(
            file,
            "adaptation_licenses",
            "must be empty when DerivativeWorks is not permitted",
        ));
    }
    if l.requires(Require::ShareAlike) && l.adaptation_licenses.is_empty() {
        return Err(invalid(
            file,
            "adaptation_licenses",
            "ShareAlike needs at least one licence adaptations may use",
        ));
    }
    let link_needed = !l.public_domain && !l.permits.is_empty();
    if link_needed && l.license_notice == LicenseNotice::None {
        return Err(invalid(
            file,
            "license_notice",
            "a licence that grants something must travel as a link or its full text",
        ));
    }
    Ok(())
}

struct Fields<'a> {
    file: &'a str,
    table: &'a toml::Table,
}

impl Fields<'_> {
    fn string(&self, field: &str) -> Result<String, LicenseError> {
        self.optional_string(field)?
            .ok_or_else(|| invalid(self.file, field, "missing"))
    }

    fn optional_string(&self, field: &str) -> Result<Option<String>, LicenseError> {
        match self.table.get(field) {
            None => Ok(None),
            Some(toml::Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
            Some(toml::Value::String(_)) => Err(invalid(self.file, field, "is empty")),
            Some(other) => Err(invalid(
                self.file,
                field,
                format!("must be a string, not {}", other.type_str()),
            )),
        }
    }

    fn flag(&self, field: &str) -> Result<bool, LicenseError> {
        match self.table.get(field) {
            None => Ok(false),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(other) => Err(invalid(
                self.file,
                field,
                format!("must be true or false, not {}", other.type_str()),
            )),
        }
    }

    /// A list of strings; `required` lists must be present even when empty, so that a
    /// reviewer sees "none" written down rather than forgotten.
    fn list(&self, field: &str, required: bool) -> Result<Vec<String>, LicenseError> {
        let items = match self.table.get(field) {
            None if required => return Err(invalid(self.file, field, "missing")),
            None => return Ok(Vec::new()),
            Some(toml::Value::Array(items)) => items,
            Some(other) => {
                return Err(invalid(
                    self.file,
                    field,
                    format!("must be a list, not {}", other.type_str()),
                ))
            }
        };
        let mut out: Vec<String> = Vec::with_capacity(items.len());
        for item in items {
            let s = item
                .as_str()
                .ok_or_else(|| invalid(self.file, field, "must list only strings"))?;
            if out.iter().any(|o| o == s) {
                return Err(invalid(self.file, field, format!("lists `{s}` twice")));
            }
            out.push(s.to_string());
        }
        Ok(out)
    }

    fn terms<T: for<'de> Deserialize<'de>>(&self, field: &str) -> Result<Vec<T>, LicenseError> {
        self.list(field, true)?
            .into_iter()
            .map(|term| {
                T::deserialize(toml::Value::String(term.clone())).map_err(|_| {
                    invalid(
                        self.file,
                        field,
                        format!("unknown term `{term}`; {}", expected_terms(field)),
                    )
                })
            })
            .collect()
    }

    fn keyword<T: for<'de> Deserialize<'de>>(&self, field: &str) -> Result<T, LicenseError> {
        let value = self.string(field)?;
        T::deserialize(toml::Value::String(value.clone())).map_err(|_| {
            invalid(
                self.file,
                field,
                format!("unknown value `{value}`; {}", expected_terms(field)),
            )
        })
    }
}

fn expected_terms(field: &str) -> &'static str {
    match field {
        "permits" => "expected Reproduction, Distribution, DerivativeWorks or Sharing",
        "requires" => "expected Notice, Attribution, ShareAlike or SourceCode",
        "prohibits" => "expected CommercialUse",
        "family" => {
            "expected public-domain, cc-by, cc-by-sa, cc-by-nc, cc-by-nd, cc-by-nc-sa, \
             cc-by-nc-nd, gfdl, gpl or all-rights-reserved"
        }
        "license_notice" => "expected none, link or full-text",
        _ => "see docs/licenses.md",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "LicenseRef-Test"
name = "Test licence"
short_name = "Test"
family = "cc-by"
version = "1.0"
url = "https://example.org/legal"
permits = ["Reproduction", "Distribution", "DerivativeWorks"]
requires = ["Attribution"]
prohibits = []
adaptation_licenses = ["LicenseRef-Test"]
license_notice = "link"
"#;

    fn load(text: &str) -> Result<LicenseSet, LicenseError> {
        LicenseSet::from_sources([("LicenseRef-Test.toml".to_string(), text.to_string())])
    }

    fn rejected(text: &str) -> (String, String, String) {
        match load(text) {
            Err(LicenseError::InvalidContract {
                file,
                field,
                reason,
            }) => (file, field, reason),
            other => panic!("expected InvalidContract, got {other:?}"),
        }
    }

    #[test]
    fn builtin_set_has_every_licence_the_issue_names() {
        let set = LicenseSet::builtin();
        for id in [
            "CC0-1.0",
            "CC-PDM-1.0",
            "PDM-1.0",
            "GFDL-1.3",
            "GFDL-1.3-only",
            "LicenseRef-All-Rights-Reserved",
        ] {
            assert!(set.get(id).is_some(), "{id} missing");
        }
        for family in ["BY", "BY-SA", "BY-NC", "BY-ND", "BY-NC-SA", "BY-NC-ND"] {
            for version in ["4.0", "3.0", "2.0"] {
                let id = format!("CC-{family}-{version}");
                let license = set.get(&id).unwrap_or_else(|| panic!("{id} missing"));
                assert_eq!(license.version.as_deref(), Some(version));
            }
        }
        assert_eq!(set.get("PDM-1.0").unwrap().id, "CC-PDM-1.0");
        assert_eq!(set.get("cc-by-sa-4.0").unwrap().id, "CC-BY-SA-4.0");
        assert!(set.get("CC-BY-SA-4").is_none());
        assert_eq!(set.iter().count(), 23);
    }

    #[test]
    fn builtin_hash_is_the_reviewed_one() {
        // Changing a contract changes every verdict's cited hash; update this file on purpose.
        let expected = include_str!("../../contracts/license-set.sha256").trim();
        assert_eq!(LicenseSet::builtin().content_hash(), expected);
    }

    #[test]
    fn loading_the_directory_matches_the_builtin_set() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/contracts/licenses");
        let loaded = LicenseSet::load_dir(dir).unwrap();
        assert_eq!(
            loaded.content_hash(),
            LicenseSet::builtin().content_hash(),
            "a file in contracts/licenses/ is missing from the BUILTIN list"
        );
    }

    #[test]
    fn hash_ignores_file_order_and_list_order_but_not_meaning() {
        let a = load(GOOD).unwrap();
        let reordered = GOOD.replace(
            r#"["Reproduction", "Distribution", "DerivativeWorks"]"#,
            r#"["DerivativeWorks", "Reproduction", "Distribution"]"#,
        );
        assert_eq!(load(&reordered).unwrap().content_hash(), a.content_hash());
        let changed = GOOD.replace("prohibits = []", r#"prohibits = ["CommercialUse"]"#);
        assert_ne!(load(&changed).unwrap().content_hash(), a.content_hash());
        assert_eq!(a.content_hash().len(), 64);
    }

    #[test]
    fn missing_field_is_named() {
        let (file, field, reason) =
            rejected(&GOOD.replace("url = \"https://example.org/legal\"\n", ""));
        assert_eq!(file, "LicenseRef-Test.toml");
        assert_eq!(field, "url");
        assert!(reason.contains("missing"), "{reason}");

        let (_, field, _) = rejected(&GOOD.replace("prohibits = []\n", ""));
        assert_eq!(field, "prohibits");
    }

    #[test]
    fn unknown_term_is_named() {
        let (_, field, reason) = rejected(&GOOD.replace("\"Attribution\"]", "\"Atribution\"]"));
        assert_eq!(field, "requires");
        assert!(reason.contains("`Atribution`"), "{reason}");
    }

    #[test]
    fn unknown_adaptation_target_is_named() {
        let (file, field, reason) =
            rejected(&GOOD.replace(r#"["LicenseRef-Test"]"#, r#"["CC-BY-9.0"]"#));
        assert_eq!(file, "LicenseRef-Test.toml");
        assert_eq!(field, "adaptation_licenses");
        assert!(reason.contains("`CC-BY-9.0`"), "{reason}");
        let (_, field, reason) =
            rejected(&GOOD.replace(r#"["LicenseRef-Test"]"#, r#"["licenseref-test"]"#));
        assert_eq!(field, "adaptation_licenses");
        assert!(reason.contains("write `LicenseRef-Test`"), "{reason}");
    }

    #[test]
    fn unknown_field_wrong_type_and_bad_family_are_named() {
        let (_, field, _) = rejected(&format!("{GOOD}colour = \"blue\"\n"));
        assert_eq!(field, "colour");
        let (_, field, _) = rejected(&GOOD.replace("version = \"1.0\"", "version = 1.0"));
        assert_eq!(field, "version");
        let (_, field, reason) = rejected(&GOOD.replace("\"cc-by\"", "\"cc-by-xx\""));
        assert_eq!(field, "family");
        assert!(reason.contains("cc-by-xx"), "{reason}");
        let (_, field, _) = rejected(&GOOD.replace("id = ", "id = \"x\"\nidd = "));
        assert_eq!(field, "idd");
    }

    #[test]
    fn contradictions_and_misfiled_ids_are_rejected() {
        let (_, field, _) = rejected(&GOOD.replace("\"DerivativeWorks\"]", "]"));
        assert_eq!(field, "adaptation_licenses");
        let (_, field, _) =
            rejected(&GOOD.replace("LicenseRef-Test\"\nname", "LicenseRef-Other\"\nname"));
        assert_eq!(field, "id");
        let (_, field, _) = rejected("id = [");
        assert_eq!(field, "(syntax)");
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let err = LicenseSet::from_sources([
            ("LicenseRef-Test.toml".to_string(), GOOD.to_string()),
            ("LicenseRef-Test.toml".to_string(), GOOD.to_string()),
        ])
        .unwrap_err();
        assert!(
            matches!(err, LicenseError::DuplicateLicense { .. }),
            "{err}"
        );
    }

    #[test]
    fn a_broken_file_in_a_directory_is_reported_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("LicenseRef-Test.toml"), GOOD).unwrap();
        std::fs::write(
            dir.path().join("LicenseRef-Broken.toml"),
            GOOD.replace("LicenseRef-Test\"\nname", "LicenseRef-Broken\"\nname")
                .replace("short_name = \"Test\"\n", ""),
        )
        .unwrap();
        std::fs::write(dir.path().join("README.md"), "not a contract").unwrap();
        let err = LicenseSet::load_dir(dir.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid licence contract LicenseRef-Broken.toml: field `short_name`: missing"
        );
    }
}

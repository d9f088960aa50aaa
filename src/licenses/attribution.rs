//! Attribution text following Creative Commons' TASL practice: Title, Author, Source, Licence,
//! plus a note of changes where the licence asks for one.
//!
//! Public-domain works get a courtesy credit that says how the work is marked ("is marked with
//! CC0 1.0"), never that it is licensed. Each output escapes what the creator typed for its own
//! syntax, so a credit cannot inject markup or links.

use serde::{Deserialize, Serialize};

use super::contract::{Family, License, LicenseSet};
use super::LicenseError;

/// What is known about the work being credited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkCredit {
    pub title: String,
    pub creator: String,
    /// Where the work was found; only http and https addresses are accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    pub license_id: String,
}

/// The same credit in four markups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    pub text: String,
    pub html: String,
    pub markdown: String,
    pub wikitext: String,
}

/// Composes the credit for `credit`; `changes` is `Some` when the work was adapted, holding a
/// description of the changes (which is shown where the licence requires changes to be
/// indicated).
pub fn attribution(
    set: &LicenseSet,
    credit: &WorkCredit,
    changes: Option<&str>,
) -> Result<Attribution, LicenseError> {
    let license = set
        .get(&credit.license_id)
        .ok_or_else(|| LicenseError::UnknownLicense(credit.license_id.clone()))?;
    let title = one_line(&credit.title);
    let creator = one_line(&credit.creator);
    let source = match credit.source_url.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => Some(url),
        Some(other) => return Err(LicenseError::InvalidSourceUrl(other.to_string())),
    };
    let change_note = match changes.map(one_line) {
        Some(c) if !c.is_empty() && license.indicate_changes => Some(full_stop(c)),
        _ => None,
    };
    let credit = Credit {
        title: &title,
        creator: &creator,
        source,
        license,
        adapted: changes.is_some(),
        changes: change_note.as_deref(),
    };
    Ok(Attribution {
        text: credit.render(&Plain),
        html: credit.render(&Html),
        markdown: credit.render(&Markdown),
        wikitext: credit.render(&Wikitext),
    })
}

struct Credit<'a> {
    title: &'a str,
    creator: &'a str,
    source: Option<&'a str>,
    license: &'a License,
    adapted: bool,
    changes: Option<&'a str>,
}

impl Credit<'_> {
    fn render(&self, m: &dyn Markup) -> String {
        let l = self.license;
        let license_ref = match l.link() {
            Some(url) => m.license(&l.short_name, url),
            None => m.text(&l.short_name),
        };
        let (verb, tail) = match l.family {
            Family::PublicDomain => ("is marked with", Some(license_ref)),
            Family::AllRightsReserved => ("", None),
            _ => ("is licensed under", Some(license_ref)),
        };
        let mut out = if self.adapted {
            let mut s = format!("This work is adapted from {}", self.subject(m, false));
            match &tail {
                // "is marked with" becomes "marked with" inside the clause.
                Some(t) => s.push_str(&format!(", {} {t}", verb.trim_start_matches("is "))),
                None => s.push_str(". All rights reserved"),
            }
            s
        } else {
            let subject = self.subject(m, true);
            match &tail {
                Some(t) => format!("{subject} {verb} {t}"),
                None => format!("{subject}. All rights reserved"),
            }
        };
        out.push('.');
        if let Some(changes) = self.changes {
            out.push_str(" Changes: ");
            out.push_str(&m.text(changes));
        }
        out
    }

    fn subject(&self, m: &dyn Markup, sentence_start: bool) -> String {
        let title = if self.title.is_empty() {
            let fallback = if sentence_start { "A work" } else { "a work" };
            m.title(fallback, self.source, false)
        } else {
            m.title(self.title, self.source, true)
        };
        let mut s = title;
        if !self.creator.is_empty() {
            s.push_str(" by ");
            s.push_str(&m.text(self.creator));
        }
        if let Some(source) = self.source {
            s.push_str(&m.source_after_subject(source));
        }
        s
    }
}

/// How each output spells the pieces of a credit.
trait Markup {
    /// Text the user supplied, escaped.
    fn text(&self, s: &str) -> String;
    /// The work's title (or the fallback "a work" when `is_title` is false), linked to the
    /// source where the markup has links.
    fn title(&self, title: &str, source: Option<&str>, is_title: bool) -> String;
    /// Plain text has no links, so it writes the source address after the subject.
    fn source_after_subject(&self, _source: &str) -> String {
        String::new()
    }
    fn license(&self, name: &str, url: &str) -> String;
}

struct Plain;
struct Html;
struct Markdown;
struct Wikitext;

impl Markup for Plain {
    fn text(&self, s: &str) -> String {
        s.to_string()
    }
    fn title(&self, title: &str, _source: Option<&str>, is_title: bool) -> String {
        if is_title {
            format!("\"{title}\"")
        } else {
            title.to_string()
        }
    }
    fn source_after_subject(&self, source: &str) -> String {
        format!(" ({source})")
    }
    fn license(&self, name: &str, url: &str) -> String {
        format!("{name} ({url})")
    }
}

impl Markup for Html {
    fn text(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            }
        }
        out
    }
    fn title(&self, title: &str, source: Option<&str>, is_title: bool) -> String {
        let inner = match source {
            Some(url) => format!("<a href=\"{}\">{}</a>", self.text(url), self.text(title)),
            None => self.text(title),
        };
        if is_title {
            format!("<cite>{inner}</cite>")
        } else {
            inner
        }
    }
    fn license(&self, name: &str, url: &str) -> String {
        format!(
            "<a rel=\"license\" href=\"{}\">{}</a>",
            self.text(url),
            self.text(name)
        )
    }
}

impl Markup for Markdown {
    fn text(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if "\\`*_[]()<>&#!|~".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }
    fn title(&self, title: &str, source: Option<&str>, is_title: bool) -> String {
        let inner = match source {
            Some(url) => format!("[{}]({})", self.text(title), percent_encode(url, " ()<>\\")),
            None => self.text(title),
        };
        if is_title {
            format!("*{inner}*")
        } else {
            inner
        }
    }
    fn license(&self, name: &str, url: &str) -> String {
        format!("[{}]({})", self.text(name), percent_encode(url, " ()<>\\"))
    }
}

impl Markup for Wikitext {
    fn text(&self, s: &str) -> String {
        let special = |c: char| "[]{}|<>'~&=#*:;".contains(c);
        if !s.chars().any(special) {
            return s.to_string();
        }
        // Inside nowiki only a literal "</nowiki>" could escape; `<` is written as an entity.
        format!("<nowiki>{}</nowiki>", s.replace('<', "&lt;"))
    }
    fn title(&self, title: &str, source: Option<&str>, is_title: bool) -> String {
        let inner = match source {
            Some(url) => format!(
                "[{} {}]",
                percent_encode(url, " []<>\"'{}|"),
                self.text(title)
            ),
            None => self.text(title),
        };
        if is_title {
            format!("''{inner}''")
        } else {
            inner
        }
    }
    fn license(&self, name: &str, url: &str) -> String {
        format!(
            "[{} {}]",
            percent_encode(url, " []<>\"'{}|"),
            self.text(name)
        )
    }
}

fn percent_encode(url: &str, reserved: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        if reserved.contains(c) {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Credits are one line: control characters, line breaks included, become spaces.
fn one_line(s: &str) -> String {
    let spaced: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn full_stop(mut s: String) -> String {
    if !s.ends_with(['.', '!', '?']) {
        s.push('.');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credit(license_id: &str) -> WorkCredit {
        WorkCredit {
            title: "Harbour at Dawn".into(),
            creator: "Ana Lima".into(),
            source_url: Some("https://example.org/photos/42".into()),
            license_id: license_id.into(),
        }
    }

    fn render(license_id: &str, changes: Option<&str>) -> Attribution {
        attribution(&LicenseSet::builtin(), &credit(license_id), changes).unwrap()
    }

    /// Every licence in the set, verbatim and adapted, in every markup, against the reviewed
    /// table in `contracts/attributions.tsv`.
    #[test]
    fn credits_match_the_known_answer_table() {
        let set = LicenseSet::builtin();
        let table = include_str!("../../contracts/attributions.tsv");
        let mut seen = std::collections::BTreeSet::new();
        for line in table.lines().filter(|l| !l.starts_with('#')).skip(1) {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 6, "malformed row: {line}");
            let changes = (f[1] != "-").then_some(f[1]);
            let a = attribution(&set, &credit(f[0]), changes).unwrap();
            let case = format!("{} changes={}", f[0], f[1]);
            assert_eq!(a.text, f[2], "text, {case}");
            assert_eq!(a.html, f[3], "html, {case}");
            assert_eq!(a.markdown, f[4], "markdown, {case}");
            assert_eq!(a.wikitext, f[5], "wikitext, {case}");
            seen.insert((f[0].to_string(), changes.is_some()));
        }
        for license in set.iter() {
            for adapted in [false, true] {
                assert!(
                    seen.contains(&(license.id.clone(), adapted)),
                    "{} (adapted: {adapted}) has no row",
                    license.id
                );
            }
        }
    }

    #[test]
    fn cc_by_4_0_verbatim_in_every_format() {
        let a = render("CC-BY-4.0", None);
        assert_eq!(
            a.text,
            "\"Harbour at Dawn\" by Ana Lima (https://example.org/photos/42) is licensed under \
             CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)."
        );
        assert_eq!(
            a.html,
            "<cite><a href=\"https://example.org/photos/42\">Harbour at Dawn</a></cite> by Ana Lima \
             is licensed under <a rel=\"license\" href=\"https://creativecommons.org/licenses/by/4.0/\">CC BY 4.0</a>."
        );
        assert_eq!(
            a.markdown,
            "*[Harbour at Dawn](https://example.org/photos/42)* by Ana Lima is licensed under \
             [CC BY 4.0](https://creativecommons.org/licenses/by/4.0/)."
        );
        assert_eq!(
            a.wikitext,
            "''[https://example.org/photos/42 Harbour at Dawn]'' by Ana Lima is licensed under \
             [https://creativecommons.org/licenses/by/4.0/ CC BY 4.0]."
        );
    }

    #[test]
    fn cc_by_sa_4_0_adapted_indicates_changes_in_every_format() {
        let a = render("CC-BY-SA-4.0", Some("cropped and converted to greyscale"));
        assert_eq!(
            a.text,
            "This work is adapted from \"Harbour at Dawn\" by Ana Lima (https://example.org/photos/42), \
             licensed under CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/). \
             Changes: cropped and converted to greyscale."
        );
        assert_eq!(
            a.html,
            "This work is adapted from <cite><a href=\"https://example.org/photos/42\">Harbour at Dawn</a></cite> \
             by Ana Lima, licensed under <a rel=\"license\" href=\"https://creativecommons.org/licenses/by-sa/4.0/\">CC BY-SA 4.0</a>. \
             Changes: cropped and converted to greyscale."
        );
        assert_eq!(
            a.markdown,
            "This work is adapted from *[Harbour at Dawn](https://example.org/photos/42)* by Ana Lima, \
             licensed under [CC BY-SA 4.0](https://creativecommons.org/licenses/by-sa/4.0/). \
             Changes: cropped and converted to greyscale."
        );
        assert_eq!(
            a.wikitext,
            "This work is adapted from ''[https://example.org/photos/42 Harbour at Dawn]'' by Ana Lima, \
             licensed under [https://creativecommons.org/licenses/by-sa/4.0/ CC BY-SA 4.0]. \
             Changes: cropped and converted to greyscale."
        );
    }

    #[test]
    fn cc_by_nc_nd_3_0_names_the_title_when_there_is_one() {
        let a = render("CC-BY-NC-ND-3.0", None);
        assert_eq!(
            a.text,
            "\"Harbour at Dawn\" by Ana Lima (https://example.org/photos/42) is licensed under \
             CC BY-NC-ND 3.0 (https://creativecommons.org/licenses/by-nc-nd/3.0/)."
        );
        // The CC licences owe the title and the creator only "if supplied" by the licensor.
        let untitled = WorkCredit {
            title: " ".into(),
            ..credit("CC-BY-NC-ND-3.0")
        };
        let a = attribution(&LicenseSet::builtin(), &untitled, None).unwrap();
        assert_eq!(
            a.html,
            "<a href=\"https://example.org/photos/42\">A work</a> by Ana Lima is licensed under \
             <a rel=\"license\" href=\"https://creativecommons.org/licenses/by-nc-nd/3.0/\">CC BY-NC-ND 3.0</a>."
        );
    }

    #[test]
    fn cc_by_nc_sa_2_0_adaptation_credit_without_a_change_note() {
        // 2.0 asks for a credit of the adaptation but not for the changes to be listed.
        let a = render("CC-BY-NC-SA-2.0", Some("translated into Portuguese"));
        assert_eq!(
            a.text,
            "This work is adapted from \"Harbour at Dawn\" by Ana Lima (https://example.org/photos/42), \
             licensed under CC BY-NC-SA 2.0 (https://creativecommons.org/licenses/by-nc-sa/2.0/)."
        );
        assert_eq!(
            a.wikitext,
            "This work is adapted from ''[https://example.org/photos/42 Harbour at Dawn]'' by Ana Lima, \
             licensed under [https://creativecommons.org/licenses/by-nc-sa/2.0/ CC BY-NC-SA 2.0]."
        );
    }

    #[test]
    fn cc_by_nc_3_0_adapted_keeps_the_change_note() {
        let a = render("CC-BY-NC-3.0", Some("colour corrected."));
        assert_eq!(
            a.markdown,
            "This work is adapted from *[Harbour at Dawn](https://example.org/photos/42)* by Ana Lima, \
             licensed under [CC BY-NC 3.0](https://creativecommons.org/licenses/by-nc/3.0/). \
             Changes: colour corrected."
        );
    }

    #[test]
    fn public_domain_gets_a_courtesy_credit_not_a_licence_claim() {
        let cc0 = render("CC0-1.0", None);
        assert_eq!(
            cc0.text,
            "\"Harbour at Dawn\" by Ana Lima (https://example.org/photos/42) is marked with \
             CC0 1.0 (https://creativecommons.org/publicdomain/zero/1.0/)."
        );
        assert_eq!(
            cc0.html,
            "<cite><a href=\"https://example.org/photos/42\">Harbour at Dawn</a></cite> by Ana Lima \
             is marked with <a rel=\"license\" href=\"https://creativecommons.org/publicdomain/zero/1.0/\">CC0 1.0</a>."
        );
        let pdm = render("PDM-1.0", Some("restored"));
        assert_eq!(
            pdm.markdown,
            "This work is adapted from *[Harbour at Dawn](https://example.org/photos/42)* by Ana Lima, \
             marked with [Public Domain Mark 1.0](https://creativecommons.org/publicdomain/mark/1.0/)."
        );
        assert_eq!(
            pdm.wikitext,
            "This work is adapted from ''[https://example.org/photos/42 Harbour at Dawn]'' by Ana Lima, \
             marked with [https://creativecommons.org/publicdomain/mark/1.0/ Public Domain Mark 1.0]."
        );
        for a in [&cc0, &pdm] {
            assert!(!a.text.contains("licensed"), "{}", a.text);
        }
        // No creator is owed for a public-domain work.
        let anonymous = WorkCredit {
            creator: String::new(),
            title: String::new(),
            source_url: None,
            ..credit("CC0-1.0")
        };
        let a = attribution(&LicenseSet::builtin(), &anonymous, None).unwrap();
        assert_eq!(
            a.text,
            "A work is marked with CC0 1.0 (https://creativecommons.org/publicdomain/zero/1.0/)."
        );
    }

    #[test]
    fn gnu_licences_link_the_licence_and_note_changes() {
        let a = render("GFDL-1.3", Some("cropped"));
        assert_eq!(
            a.text,
            "This work is adapted from \"Harbour at Dawn\" by Ana Lima (https://example.org/photos/42), \
             licensed under GFDL 1.3 (https://www.gnu.org/licenses/fdl-1.3.html). Changes: cropped."
        );
        assert_eq!(
            a.html,
            "This work is adapted from <cite><a href=\"https://example.org/photos/42\">Harbour at Dawn</a></cite> \
             by Ana Lima, licensed under <a rel=\"license\" href=\"https://www.gnu.org/licenses/fdl-1.3.html\">GFDL 1.3</a>. \
             Changes: cropped."
        );
    }

    #[test]
    fn all_rights_reserved_claims_no_licence() {
        let a = render("LicenseRef-All-Rights-Reserved", None);
        assert_eq!(
            a.text,
            "\"Harbour at Dawn\" by Ana Lima (https://example.org/photos/42). All rights reserved."
        );
        assert_eq!(
            a.html,
            "<cite><a href=\"https://example.org/photos/42\">Harbour at Dawn</a></cite> by Ana Lima. All rights reserved."
        );
        assert_eq!(
            a.markdown,
            "*[Harbour at Dawn](https://example.org/photos/42)* by Ana Lima. All rights reserved."
        );
        assert_eq!(
            a.wikitext,
            "''[https://example.org/photos/42 Harbour at Dawn]'' by Ana Lima. All rights reserved."
        );
    }

    #[test]
    fn hostile_input_is_escaped_in_every_format() {
        let hostile = WorkCredit {
            title: "<script>alert(1)</script> [x](javascript:y) ''bold''".into(),
            creator: "Tom & \"Jerry\"\nO'Neil *star*".into(),
            source_url: Some("https://example.org/a b(c)[d]".into()),
            license_id: "CC-BY-4.0".into(),
        };
        let a = attribution(&LicenseSet::builtin(), &hostile, None).unwrap();
        assert_eq!(
            a.html,
            "<cite><a href=\"https://example.org/a b(c)[d]\">&lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:y) &#39;&#39;bold&#39;&#39;</a></cite> \
             by Tom &amp; &quot;Jerry&quot; O&#39;Neil *star* is licensed under \
             <a rel=\"license\" href=\"https://creativecommons.org/licenses/by/4.0/\">CC BY 4.0</a>."
        );
        assert_eq!(
            a.markdown,
            "*[\\<script\\>alert\\(1\\)\\</script\\> \\[x\\]\\(javascript:y\\) ''bold''](https://example.org/a%20b%28c%29[d])* \
             by Tom \\& \"Jerry\" O'Neil \\*star\\* is licensed under \
             [CC BY 4.0](https://creativecommons.org/licenses/by/4.0/)."
        );
        assert_eq!(
            a.wikitext,
            "''[https://example.org/a%20b(c)%5Bd%5D <nowiki>&lt;script>alert(1)&lt;/script> [x](javascript:y) ''bold''</nowiki>]'' \
             by <nowiki>Tom & \"Jerry\" O'Neil *star*</nowiki> is licensed under \
             [https://creativecommons.org/licenses/by/4.0/ CC BY 4.0]."
        );
        assert!(!a.text.contains('\n'));

        let script = WorkCredit {
            source_url: Some("javascript:alert(1)".into()),
            ..credit("CC-BY-4.0")
        };
        assert!(matches!(
            attribution(&LicenseSet::builtin(), &script, None),
            Err(LicenseError::InvalidSourceUrl(url)) if url == "javascript:alert(1)"
        ));
    }

    #[test]
    fn an_unknown_creator_is_left_out_and_an_unknown_licence_is_an_error() {
        let c = WorkCredit {
            creator: "".into(),
            ..credit("CC-BY-SA-2.0")
        };
        let a = attribution(&LicenseSet::builtin(), &c, Some("cropped")).unwrap();
        assert_eq!(
            a.wikitext,
            "This work is adapted from ''[https://example.org/photos/42 Harbour at Dawn]'', \
             licensed under [https://creativecommons.org/licenses/by-sa/2.0/ CC BY-SA 2.0]."
        );
        let unknown = attribution(&LicenseSet::builtin(), &credit("MIT"), None).unwrap_err();
        assert!(matches!(unknown, LicenseError::UnknownLicense(id) if id == "MIT"));
    }
}

//! Evaluating an intended use against a licence contract and the rights holder's AI usage
//! preferences.
//!
//! Every use evaluated here is a public one: the work, or an adaptation of it, is shared.
//! Private use needs no licence and is not modelled.

use serde::{Deserialize, Serialize};

use super::aipref::{AiPreferences, AiUse, Preference};
use super::contract::{License, LicenseNotice, LicenseSet, Permit, Prohibit, Require};
use super::LicenseError;

/// What the user means to do with the work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntendedUse {
    pub commercial: bool,
    pub adaptation: Adaptation,
    /// Where the use appears, e.g. "web" or "print"; in print a link must be written out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    /// The use is by a machine, in one of the AI usage categories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_use: Option<AiUse>,
}

/// Whether the work is shared as it is or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Adaptation {
    Verbatim,
    /// An adaptation, to be shared under `license` (an id or alias in the set); `None` means
    /// the adapter has not chosen one yet, and the verdict lists what they may choose.
    Adapted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        license: Option<String>,
    },
}

/// The answer to "may I?", citing the contracts it was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub allowed: bool,
    /// Why, in order of evaluation; when not allowed, every failing condition is listed.
    pub reasons: Vec<Reason>,
    /// What the user must do for the use to stay allowed; empty when it is not allowed.
    pub obligations: Vec<Obligation>,
    /// The canonical id of the licence evaluated (aliases are resolved).
    pub license: String,
    /// [`LicenseSet::content_hash`] of the set the verdict was computed from.
    pub contract_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: ReasonCode,
    pub message: String,
}

/// Stable reason codes; their snake_case names are part of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// The licence permits the use on the conditions listed as obligations.
    PermittedByLicense,
    /// The work carries no copyright conditions.
    PublicDomain,
    /// The licence grants no right to copy or share the work.
    NoLicenseGranted,
    /// The use is commercial and the licence prohibits commercial use.
    CommercialUseProhibited,
    /// The licence does not allow adaptations to be shared.
    DerivativesProhibited,
    /// The chosen adapter's licence is one the original allows.
    AdaptationLicenseCompatible,
    /// The chosen adapter's licence is not one the original allows.
    AdaptationLicenseIncompatible,
    /// The rights holder reserved this machine use; the reservation binds even where the
    /// licence would allow the use.
    AiUseReserved,
    /// The rights holder reserved this machine use but excepted users meeting a CC signal.
    AiUseReservedWithException,
    /// The rights holder stated that this machine use is allowed.
    AiUseAllowedByPreference,
    /// The rights holder stated no preference for this machine use.
    AiPreferenceUnstated,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Obligation {
    pub code: ObligationCode,
    pub message: String,
    /// For `share_alike`, the licences the adaptation may be released under.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
}

/// Stable obligation codes; their snake_case names are part of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObligationCode {
    Attribution,
    Title,
    Notice,
    LicenseLink,
    LicenseText,
    IndicateChanges,
    AdaptationCredit,
    ShareAlike,
    SourceCode,
    /// Meet the CC signal the rights holder attached to their AI usage preference.
    AiSignal,
}

/// Evaluates `intended` against the licence `license_id` and, for a machine use, the rights
/// holder's AI usage preferences.
pub fn evaluate(
    set: &LicenseSet,
    license_id: &str,
    intended: &IntendedUse,
    preferences: Option<&AiPreferences>,
) -> Result<Verdict, LicenseError> {
    let license = set
        .get(license_id)
        .ok_or_else(|| LicenseError::UnknownLicense(license_id.to_string()))?;
    let mut e = Evaluation {
        license,
        allowed: true,
        reasons: Vec::new(),
        obligations: Vec::new(),
    };

    e.check_license(set, intended)?;
    if let Some(category) = intended.machine_use {
        e.check_ai_preferences(category, preferences);
    }
    if e.allowed {
        e.collect_obligations(intended);
        let (code, message) = if license.public_domain {
            (
                ReasonCode::PublicDomain,
                format!(
                    "{} places no conditions on the use; a credit is a courtesy",
                    license.short_name
                ),
            )
        } else {
            (
                ReasonCode::PermittedByLicense,
                format!(
                    "{} permits this use on the conditions listed",
                    license.short_name
                ),
            )
        };
        e.reasons.insert(0, Reason { code, message });
    } else {
        e.obligations.clear();
    }

    Ok(Verdict {
        allowed: e.allowed,
        reasons: e.reasons,
        obligations: e.obligations,
        license: license.id.clone(),
        contract_hash: set.content_hash().to_string(),
    })
}

struct Evaluation<'a> {
    license: &'a License,
    allowed: bool,
    reasons: Vec<Reason>,
    obligations: Vec<Obligation>,
}

impl Evaluation<'_> {
    fn deny(&mut self, code: ReasonCode, message: String) {
        self.allowed = false;
        self.note(code, message);
    }

    fn note(&mut self, code: ReasonCode, message: String) {
        self.reasons.push(Reason {
            code,
            message: capitalise(&message),
        });
    }

    fn owe(&mut self, code: ObligationCode, message: String) {
        self.obligations.push(Obligation {
            code,
            message,
            licenses: Vec::new(),
        });
    }

    fn check_license(
        &mut self,
        set: &LicenseSet,
        intended: &IntendedUse,
    ) -> Result<(), LicenseError> {
        let l = self.license;
        let name = &l.short_name;
        if !(l.permits(Permit::Reproduction) && l.permits(Permit::Distribution)) {
            self.deny(
                ReasonCode::NoLicenseGranted,
                format!("{name}: the rights holder grants no right to copy or share the work; ask for permission"),
            );
        }
        if intended.commercial && l.prohibits(Prohibit::CommercialUse) {
            self.deny(
                ReasonCode::CommercialUseProhibited,
                format!("{name} prohibits commercial use"),
            );
        }
        let Adaptation::Adapted { license: target } = &intended.adaptation else {
            return Ok(());
        };
        // Resolve the target first so that a typo is an error even when the answer is "no".
        let target = match target {
            Some(t) => Some(
                set.get(t)
                    .ok_or_else(|| LicenseError::UnknownLicense(t.clone()))?,
            ),
            None => None,
        };
        if !l.permits(Permit::DerivativeWorks) {
            let message = match l.version.as_deref() {
                Some("4.0") => format!(
                    "{name} allows adaptations for private use only; they may not be shared"
                ),
                _ if l.permits.is_empty() => format!("{name}: no adaptation is permitted"),
                _ => format!("{name} does not permit adaptations"),
            };
            self.deny(ReasonCode::DerivativesProhibited, message);
            return Ok(());
        }
        if let Some(target) = target {
            if l.adaptation_licenses.contains(&target.id) {
                self.note(
                    ReasonCode::AdaptationLicenseCompatible,
                    format!(
                        "an adaptation of a {name} work may be released under {}",
                        target.short_name
                    ),
                );
            } else {
                self.deny(
                    ReasonCode::AdaptationLicenseIncompatible,
                    format!(
                        "an adaptation of a {name} work may not be released under {}; allowed: {}",
                        target.short_name,
                        list_or_none(&l.adaptation_licenses)
                    ),
                );
            }
        }
        Ok(())
    }

    fn check_ai_preferences(&mut self, category: AiUse, preferences: Option<&AiPreferences>) {
        let what = category.description();
        let Some((via, declared)) = preferences.and_then(|p| p.resolve(category)) else {
            self.note(
                ReasonCode::AiPreferenceUnstated,
                format!("the rights holder stated no AI usage preference covering {what}"),
            );
            return;
        };
        let stated = if via == category {
            format!("`{}`", via.label())
        } else {
            format!("`{}`, which covers `{}`", via.label(), category.label())
        };
        match (declared.preference, declared.signal) {
            (Preference::Reserved, None) => self.deny(
                ReasonCode::AiUseReserved,
                format!(
                    "the rights holder reserved {what} ({stated}); a machine-readable reservation \
                     binds even where a licence would allow the use (Directive (EU) 2019/790, Art. 4(3))"
                ),
            ),
            (Preference::Reserved, Some(signal)) => {
                self.note(
                    ReasonCode::AiUseReservedWithException,
                    format!(
                        "the rights holder reserved {what} ({stated}) except for users who {}",
                        signal.requirement()
                    ),
                );
                self.owe(
                    ObligationCode::AiSignal,
                    format!("{} ({})", capitalise(signal.requirement()), signal.label()),
                );
            }
            (Preference::Allowed, signal) => {
                self.note(
                    ReasonCode::AiUseAllowedByPreference,
                    format!("the rights holder allowed {what} ({stated})"),
                );
                if let Some(signal) = signal {
                    self.owe(
                        ObligationCode::AiSignal,
                        format!("{} ({})", capitalise(signal.requirement()), signal.label()),
                    );
                }
            }
        }
    }

    fn collect_obligations(&mut self, intended: &IntendedUse) {
        let l = self.license;
        let adapted = matches!(intended.adaptation, Adaptation::Adapted { .. });
        let mut owed = Vec::new();
        if l.requires(Require::Attribution) {
            owed.push(Obligation {
                code: ObligationCode::Attribution,
                message: "Credit the creator and anyone else the licensor names for credit, as far as they are supplied".into(),
                licenses: Vec::new(),
            });
        }
        if l.requires_title {
            owed.push(simple(
                ObligationCode::Title,
                "Name the work's title in the credit, if the licensor supplied one",
            ));
        }
        if l.requires(Require::Notice) {
            owed.push(simple(
                ObligationCode::Notice,
                "Keep the copyright notice and any notice referring to the licence or disclaiming warranties",
            ));
        }
        let in_print = intended
            .medium
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("print"));
        let url = l.link().unwrap_or_default();
        match l.license_notice {
            LicenseNotice::None => {}
            LicenseNotice::Link if in_print => owed.push(simple(
                ObligationCode::LicenseLink,
                &format!("Print the licence's address in full: {url}"),
            )),
            LicenseNotice::Link => owed.push(simple(
                ObligationCode::LicenseLink,
                &format!("Name the licence and link to it: {url}"),
            )),
            LicenseNotice::FullText => owed.push(simple(
                ObligationCode::LicenseText,
                &format!("Include the full text of the licence with every copy: {url}"),
            )),
        }
        if adapted && l.indicate_changes {
            owed.push(simple(
                ObligationCode::IndicateChanges,
                "Say that the work was changed, and keep any earlier note of changes",
            ));
        }
        if adapted && l.adaptation_credit {
            owed.push(simple(
                ObligationCode::AdaptationCredit,
                "Credit the use of the work in the adaptation, e.g. \"Adapted from <title> by <creator>\"",
            ));
        }
        if adapted && l.requires(Require::ShareAlike) {
            owed.push(Obligation {
                code: ObligationCode::ShareAlike,
                message: format!(
                    "Release the adaptation under {}",
                    list_or_none(&l.adaptation_licenses).replace(", ", " or ")
                ),
                licenses: l.adaptation_licenses.clone(),
            });
        }
        if l.requires(Require::SourceCode) {
            owed.push(simple(
                ObligationCode::SourceCode,
                "Make the editable source form available as the licence asks (the GFDL: with more than 100 printed or opaque copies)",
            ));
        }
        // Licence obligations first, then any AI signal noted while checking preferences.
        owed.append(&mut self.obligations);
        self.obligations = owed;
    }
}

fn simple(code: ObligationCode, message: &str) -> Obligation {
    Obligation {
        code,
        message: message.to_string(),
        licenses: Vec::new(),
    }
}

fn list_or_none(ids: &[String]) -> String {
    if ids.is_empty() {
        "none".to_string()
    } else {
        ids.join(", ")
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::licenses::{LicenseSet, Signal};

    fn verbatim(commercial: bool) -> IntendedUse {
        IntendedUse {
            commercial,
            adaptation: Adaptation::Verbatim,
            medium: None,
            machine_use: None,
        }
    }

    fn codes<T, C: Serialize>(items: &[T], code: impl Fn(&T) -> C) -> String {
        let joined = items
            .iter()
            .map(|i| {
                serde_json::to_value(code(i))
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join(",");
        if joined.is_empty() {
            "-".into()
        } else {
            joined
        }
    }

    /// Every licence, commercial or not, verbatim or adapted under every licence in the set
    /// (or none chosen), as a human use, a machine use with no preference, and a machine use
    /// the rights holder reserved: compared with the independently written table.
    #[test]
    fn verdicts_match_the_known_answer_table() {
        let set = LicenseSet::builtin();
        let reserved = AiPreferences::parse_header("train-ai=n").unwrap();
        let table = include_str!("../../contracts/license-verdicts.tsv");
        let mut rows = 0;
        let mut failures = Vec::new();
        for line in table.lines().filter(|l| !l.starts_with('#')).skip(1) {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 7, "malformed row: {line}");
            let adaptation = match f[2] {
                "verbatim" => Adaptation::Verbatim,
                "adapted:-" => Adaptation::Adapted { license: None },
                other => Adaptation::Adapted {
                    license: Some(other.trim_start_matches("adapted:").to_string()),
                },
            };
            let (machine_use, prefs) = match f[3] {
                "none" => (None, None),
                "unstated" => (Some(AiUse::TrainGenAi), None),
                "reserved" => (Some(AiUse::TrainGenAi), Some(&reserved)),
                other => panic!("unknown ai column {other}"),
            };
            let intended = IntendedUse {
                commercial: f[1] == "yes",
                adaptation,
                medium: None,
                machine_use,
            };
            let v = evaluate(&set, f[0], &intended, prefs).unwrap();
            let got = format!(
                "{}\t{}\t{}",
                if v.allowed { "yes" } else { "no" },
                codes(&v.reasons, |r| r.code),
                codes(&v.obligations, |o| o.code)
            );
            let want = f[4..].join("\t");
            if got != want {
                failures.push(format!("{}\n  want {want}\n  got  {got}", f[..4].join(" ")));
            }
            assert_eq!(v.contract_hash, set.content_hash());
            rows += 1;
        }
        let licenses = set.iter().count();
        assert_eq!(
            rows,
            licenses * 2 * (licenses + 2) * 3,
            "the table must cover every case"
        );
        assert!(
            failures.is_empty(),
            "{} verdicts differ:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn share_alike_without_a_chosen_licence_lists_the_choices() {
        let set = LicenseSet::builtin();
        let use_ = IntendedUse {
            adaptation: Adaptation::Adapted { license: None },
            ..verbatim(true)
        };
        let v = evaluate(&set, "CC-BY-SA-4.0", &use_, None).unwrap();
        assert!(v.allowed);
        let sa = v
            .obligations
            .iter()
            .find(|o| o.code == ObligationCode::ShareAlike)
            .unwrap();
        assert_eq!(sa.licenses, ["CC-BY-SA-4.0", "GPL-3.0-only"]);
        assert_eq!(
            sa.message,
            "Release the adaptation under CC-BY-SA-4.0 or GPL-3.0-only"
        );
    }

    #[test]
    fn nd_4_0_explains_that_only_private_adaptations_are_allowed() {
        let set = LicenseSet::builtin();
        let use_ = IntendedUse {
            adaptation: Adaptation::Adapted { license: None },
            ..verbatim(false)
        };
        let v = evaluate(&set, "CC-BY-ND-4.0", &use_, None).unwrap();
        assert!(!v.allowed);
        assert_eq!(
            v.reasons[0].message,
            "CC BY-ND 4.0 allows adaptations for private use only; they may not be shared"
        );
        let v = evaluate(&set, "CC-BY-ND-3.0", &use_, None).unwrap();
        assert_eq!(
            v.reasons[0].message,
            "CC BY-ND 3.0 does not permit adaptations"
        );
    }

    #[test]
    fn a_reservation_binds_even_a_public_domain_work_and_says_via_which_category() {
        let set = LicenseSet::builtin();
        let prefs = AiPreferences::parse_header("all=n").unwrap();
        let use_ = IntendedUse {
            machine_use: Some(AiUse::Inference),
            ..verbatim(false)
        };
        let v = evaluate(&set, "CC0-1.0", &use_, Some(&prefs)).unwrap();
        assert!(!v.allowed);
        assert_eq!(v.reasons.len(), 1);
        assert_eq!(v.reasons[0].code, ReasonCode::AiUseReserved);
        assert!(
            v.reasons[0]
                .message
                .contains("(`all`, which covers `ai-use`)"),
            "{}",
            v.reasons[0].message
        );
        // Search is its own category: a reservation of training does not reach it.
        let prefs = AiPreferences::parse_header("train-ai=n").unwrap();
        let search = IntendedUse {
            machine_use: Some(AiUse::Search),
            ..verbatim(true)
        };
        let v = evaluate(&set, "CC-BY-4.0", &search, Some(&prefs)).unwrap();
        assert!(v.allowed);
        assert_eq!(v.reasons[1].code, ReasonCode::AiPreferenceUnstated);
    }

    #[test]
    fn a_cc_signal_exception_allows_the_use_on_its_condition() {
        let set = LicenseSet::builtin();
        let prefs = AiPreferences::new().set_with_signal(
            AiUse::TrainAi,
            Preference::Reserved,
            Signal::Credit,
        );
        let use_ = IntendedUse {
            machine_use: Some(AiUse::TrainGenAi),
            ..verbatim(false)
        };
        let v = evaluate(&set, "CC-BY-NC-4.0", &use_, Some(&prefs)).unwrap();
        assert!(v.allowed);
        assert_eq!(
            codes(&v.reasons, |r| r.code),
            "permitted_by_license,ai_use_reserved_with_exception"
        );
        let last = v.obligations.last().unwrap();
        assert_eq!(last.code, ObligationCode::AiSignal);
        assert_eq!(last.message, "Give appropriate credit for the use (cc-cr)");
        // The licence still decides: NC forbids commercial training whatever the signal says.
        let commercial = IntendedUse {
            commercial: true,
            ..use_
        };
        assert!(
            !evaluate(&set, "CC-BY-NC-4.0", &commercial, Some(&prefs))
                .unwrap()
                .allowed
        );
    }

    #[test]
    fn in_print_the_licence_address_is_written_out() {
        let set = LicenseSet::builtin();
        let print = IntendedUse {
            medium: Some("Print".into()),
            ..verbatim(true)
        };
        let v = evaluate(&set, "CC-BY-4.0", &print, None).unwrap();
        let link = v
            .obligations
            .iter()
            .find(|o| o.code == ObligationCode::LicenseLink)
            .unwrap();
        assert_eq!(
            link.message,
            "Print the licence's address in full: https://creativecommons.org/licenses/by/4.0/"
        );
    }

    #[test]
    fn unknown_licences_are_errors_and_aliases_resolve() {
        let set = LicenseSet::builtin();
        let err = evaluate(&set, "CC-BY-5.0", &verbatim(false), None).unwrap_err();
        assert!(matches!(err, LicenseError::UnknownLicense(ref id) if id == "CC-BY-5.0"));
        let to_mit = IntendedUse {
            adaptation: Adaptation::Adapted {
                license: Some("MIT".into()),
            },
            ..verbatim(false)
        };
        assert!(matches!(
            evaluate(&set, "CC-BY-ND-4.0", &to_mit, None),
            Err(LicenseError::UnknownLicense(ref id)) if id == "MIT"
        ));
        let v = evaluate(&set, "GFDL-1.3", &verbatim(true), None).unwrap();
        assert_eq!(v.license, "GFDL-1.3-only");
        let to_gpl_alias = IntendedUse {
            adaptation: Adaptation::Adapted {
                license: Some("GPL-3.0".into()),
            },
            ..verbatim(true)
        };
        assert!(
            evaluate(&set, "CC-BY-SA-4.0", &to_gpl_alias, None)
                .unwrap()
                .allowed
        );
        assert!(
            !evaluate(&set, "CC-BY-SA-3.0", &to_gpl_alias, None)
                .unwrap()
                .allowed
        );
    }

    #[test]
    fn verdicts_serialise_with_stable_codes() {
        let set = LicenseSet::builtin();
        let v = evaluate(&set, "CC-BY-NC-4.0", &verbatim(true), None).unwrap();
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["allowed"], false);
        assert_eq!(json["reasons"][0]["code"], "commercial_use_prohibited");
        assert_eq!(
            json["reasons"][0]["message"],
            "CC BY-NC 4.0 prohibits commercial use"
        );
        assert_eq!(json["license"], "CC-BY-NC-4.0");
        assert_eq!(json["contract_hash"], set.content_hash());
        let use_json = serde_json::json!({
            "commercial": false,
            "adaptation": {"kind": "adapted", "license": "CC-BY-SA-4.0"},
            "machine_use": "train-genai"
        });
        let parsed: IntendedUse = serde_json::from_value(use_json).unwrap();
        assert_eq!(parsed.machine_use, Some(AiUse::TrainGenAi));
    }
}

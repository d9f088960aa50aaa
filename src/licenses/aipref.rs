//! AI usage preferences: the categories of draft-ietf-aipref-vocab, their resolution through
//! the category hierarchy, and the `Content-Usage` field of draft-ietf-aipref-attach.
//!
//! The drafts have moved: earlier revisions nested "Generative AI Training" (`train-genai`)
//! inside "AI Training" (`train-ai`), inside "Automated Processing" (`all`, the text and data
//! mining category); later ones added "AI Use" (`ai-use`, an asset as model input at
//! inference) and flattened the tree. This module keeps every label a rights holder may have
//! used and the earlier hierarchy, with `ai-use` and `search` as children of `all`: a
//! preference stated for a broader category covers a narrower one unless the narrower one is
//! stated itself.
//! Unknown labels, parameters and non-token values are ignored, as the vocabulary requires.
//!
//! CC signals (Creative Commons' proposal) attach a reciprocity condition to a preference;
//! it travels as a parameter: `train-genai=n;exceptions=cc-cr` reserves the use except for
//! those who give credit, `train-ai=y;conditions=cc-cr` allows it on that condition.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::sfv::{self, BareItem, Member};
use super::LicenseError;

/// A category of machine use, serialised as its vocabulary label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AiUse {
    /// Automated processing of assets to find patterns, trends and correlations (text and
    /// data mining in the sense of Directive (EU) 2019/790).
    #[serde(rename = "all")]
    Tdm,
    /// Training AI models.
    #[serde(rename = "train-ai")]
    TrainAi,
    /// Training models that generate text, images or other synthetic content.
    #[serde(rename = "train-genai")]
    TrainGenAi,
    /// Using the asset as input to a generative model when answering a request (inference).
    #[serde(rename = "ai-use")]
    Inference,
    /// Search applications that direct users to the asset's location.
    #[serde(rename = "search")]
    Search,
}

impl AiUse {
    pub const ALL: [AiUse; 5] = [
        AiUse::Tdm,
        AiUse::TrainAi,
        AiUse::TrainGenAi,
        AiUse::Inference,
        AiUse::Search,
    ];

    /// The label used in `Content-Usage` and robots.txt.
    pub fn label(self) -> &'static str {
        match self {
            AiUse::Tdm => "all",
            AiUse::TrainAi => "train-ai",
            AiUse::TrainGenAi => "train-genai",
            AiUse::Inference => "ai-use",
            AiUse::Search => "search",
        }
    }

    pub fn from_label(label: &str) -> Option<AiUse> {
        AiUse::ALL.into_iter().find(|u| u.label() == label)
    }

    /// The broader category this one is a proper subset of.
    pub fn parent(self) -> Option<AiUse> {
        match self {
            AiUse::Tdm => None,
            AiUse::TrainGenAi => Some(AiUse::TrainAi),
            AiUse::TrainAi | AiUse::Inference | AiUse::Search => Some(AiUse::Tdm),
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            AiUse::Tdm => "text and data mining",
            AiUse::TrainAi => "AI training",
            AiUse::TrainGenAi => "generative AI training",
            AiUse::Inference => "use as input to a generative AI model",
            AiUse::Search => "search",
        }
    }
}

/// A stated preference; an unstated one is simply absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preference {
    Allowed,
    Reserved,
}

/// A CC signal: what a user must do to rely on an exception or condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Signal {
    /// Give appropriate credit.
    #[serde(rename = "cc-cr")]
    Credit,
    /// Credit, and support the declaring party directly.
    #[serde(rename = "cc-cr-dc")]
    CreditDirectContribution,
    /// Credit, and contribute to the ecosystem the declaring party serves.
    #[serde(rename = "cc-cr-ec")]
    CreditEcosystem,
    /// Credit, and keep the resulting system open.
    #[serde(rename = "cc-cr-op")]
    CreditOpen,
}

impl Signal {
    const ALL: [Signal; 4] = [
        Signal::Credit,
        Signal::CreditDirectContribution,
        Signal::CreditEcosystem,
        Signal::CreditOpen,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Signal::Credit => "cc-cr",
            Signal::CreditDirectContribution => "cc-cr-dc",
            Signal::CreditEcosystem => "cc-cr-ec",
            Signal::CreditOpen => "cc-cr-op",
        }
    }

    pub fn from_label(label: &str) -> Option<Signal> {
        Signal::ALL.into_iter().find(|s| s.label() == label)
    }

    /// What the user must do, for a person.
    pub fn requirement(self) -> &'static str {
        match self {
            Signal::Credit => "give appropriate credit for the use",
            Signal::CreditDirectContribution => {
                "give credit and support the rights holder with money or in kind"
            }
            Signal::CreditEcosystem => {
                "give credit and contribute to the ecosystem the rights holder serves"
            }
            Signal::CreditOpen => "give credit and keep the resulting AI system open",
        }
    }
}

/// A preference as declared for one category, with its optional CC signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Declared {
    pub preference: Preference,
    /// For a reservation, the exception that lifts it; for an allowance, its condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<Signal>,
}

/// A rights holder's AI usage preferences for one work.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AiPreferences {
    declared: BTreeMap<AiUse, Declared>,
}

impl AiPreferences {
    /// No preference stated for any category.
    pub fn new() -> Self {
        Self::default()
    }

    /// States a preference for one category, replacing any earlier one.
    pub fn set(mut self, category: AiUse, preference: Preference) -> Self {
        self.declared.insert(
            category,
            Declared {
                preference,
                signal: None,
            },
        );
        self
    }

    /// States a preference with a CC signal attached.
    pub fn set_with_signal(
        mut self,
        category: AiUse,
        preference: Preference,
        signal: Signal,
    ) -> Self {
        self.declared.insert(
            category,
            Declared {
                preference,
                signal: Some(signal),
            },
        );
        self
    }

    /// The preference stated for exactly this category.
    pub fn declared(&self, category: AiUse) -> Option<&Declared> {
        self.declared.get(&category)
    }

    /// The preference that governs a use, and the category it was stated for: the use's own
    /// if stated, else the nearest broader category's (draft-ietf-aipref-vocab, "Applying
    /// Statements of Preference", in the revisions that had a hierarchy).
    pub fn resolve(&self, category: AiUse) -> Option<(AiUse, &Declared)> {
        let mut current = Some(category);
        while let Some(c) = current {
            if let Some(d) = self.declared.get(&c) {
                return Some((c, d));
            }
            current = c.parent();
        }
        None
    }

    /// Combines statements from several sources: per category, any reservation wins, then any
    /// allowance (draft-ietf-aipref-vocab, "Combining Preferences"). Of two reservations the
    /// one without an exception wins; of two allowances, the one with a condition.
    pub fn combine(&self, other: &AiPreferences) -> AiPreferences {
        let mut out = self.clone();
        for (&category, theirs) in &other.declared {
            let merged = match out.declared.get(&category) {
                None => *theirs,
                Some(ours) => stricter(*ours, *theirs),
            };
            out.declared.insert(category, merged);
        }
        out
    }

    /// The `Content-Usage` field value: a Structured Field Dictionary in category order.
    pub fn to_header(&self) -> String {
        let mut out = String::new();
        for (category, declared) in &self.declared {
            if !out.is_empty() {
                out.push_str(", ");
            }
            let value = match declared.preference {
                Preference::Allowed => "y",
                Preference::Reserved => "n",
            };
            let _ = write!(out, "{}={value}", category.label());
            if let Some(signal) = declared.signal {
                let param = match declared.preference {
                    Preference::Allowed => "conditions",
                    Preference::Reserved => "exceptions",
                };
                let _ = write!(out, ";{param}={}", signal.label());
            }
        }
        out
    }

    /// Reads a `Content-Usage` field value. The drafts say a value that does not parse
    /// expresses no preference; callers that follow them use
    /// [`AiPreferences::from_header_or_none`], and this form is for reporting the fault.
    pub fn parse_header(value: &str) -> Result<Self, LicenseError> {
        let dict = sfv::parse_dictionary(value).map_err(|e| LicenseError::InvalidContentUsage {
            offset: e.offset,
            reason: e.reason.to_string(),
        })?;
        let mut prefs = AiPreferences::new();
        for (key, member) in dict {
            let Some(category) = AiUse::from_label(&key) else {
                continue;
            };
            let Member::Item(item) = member else {
                continue;
            };
            let preference = match &item.value {
                BareItem::Token(t) if t == "y" => Preference::Allowed,
                BareItem::Token(t) if t == "n" => Preference::Reserved,
                _ => continue,
            };
            let param = match preference {
                Preference::Allowed => "conditions",
                Preference::Reserved => "exceptions",
            };
            let signal = item.params.iter().find_map(|(k, v)| match v {
                BareItem::Token(s) | BareItem::String(s) if k == param => Signal::from_label(s),
                _ => None,
            });
            prefs
                .declared
                .insert(category, Declared { preference, signal });
        }
        Ok(prefs)
    }

    /// Reads a `Content-Usage` value, treating one that does not parse as stating nothing.
    pub fn from_header_or_none(value: &str) -> Self {
        Self::parse_header(value).unwrap_or_default()
    }
}

fn rank(d: &Declared) -> u8 {
    match (d.preference, d.signal) {
        (Preference::Reserved, None) => 3,
        (Preference::Reserved, Some(_)) => 2,
        (Preference::Allowed, Some(_)) => 1,
        (Preference::Allowed, None) => 0,
    }
}

fn stricter(a: Declared, b: Declared) -> Declared {
    if rank(&b) > rank(&a) {
        b
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_category_order_with_signals() {
        let prefs = AiPreferences::new()
            .set(AiUse::Search, Preference::Allowed)
            .set(AiUse::TrainAi, Preference::Reserved)
            .set_with_signal(AiUse::Inference, Preference::Reserved, Signal::Credit)
            .set_with_signal(AiUse::Tdm, Preference::Allowed, Signal::CreditOpen);
        assert_eq!(
            prefs.to_header(),
            "all=y;conditions=cc-cr-op, train-ai=n, ai-use=n;exceptions=cc-cr, search=y"
        );
        assert_eq!(AiPreferences::new().to_header(), "");
    }

    #[test]
    fn parses_what_it_formats() {
        let prefs = AiPreferences::new()
            .set(AiUse::TrainGenAi, Preference::Reserved)
            .set_with_signal(
                AiUse::TrainAi,
                Preference::Reserved,
                Signal::CreditEcosystem,
            )
            .set(AiUse::Search, Preference::Allowed);
        assert_eq!(
            AiPreferences::parse_header(&prefs.to_header()).unwrap(),
            prefs
        );
    }

    #[test]
    fn parses_the_drafts_examples() {
        let prefs = AiPreferences::parse_header("train-ai=n, search=y").unwrap();
        assert_eq!(
            prefs.declared(AiUse::TrainAi).map(|d| d.preference),
            Some(Preference::Reserved)
        );
        assert_eq!(
            prefs.declared(AiUse::Search).map(|d| d.preference),
            Some(Preference::Allowed)
        );
        assert_eq!(prefs.declared(AiUse::Tdm), None);
    }

    #[test]
    fn ignores_unknown_labels_values_and_parameters() {
        let prefs = AiPreferences::parse_header(
            "bots=n, train-ai=\"n\", search=maybe, ai-use;x=1, all=y;foo=bar, train-genai=n;exceptions=cc-zz",
        )
        .unwrap();
        assert_eq!(
            prefs,
            AiPreferences::new()
                .set(AiUse::Tdm, Preference::Allowed)
                .set(AiUse::TrainGenAi, Preference::Reserved)
        );
    }

    #[test]
    fn duplicate_keys_keep_the_last_value_and_a_non_token_clears_it() {
        let prefs = AiPreferences::parse_header("train-ai=y, train-ai=n").unwrap();
        assert_eq!(
            prefs.declared(AiUse::TrainAi).unwrap().preference,
            Preference::Reserved
        );
        // The vocabulary's own example: every value ends up something other than a token.
        let prefs =
            AiPreferences::parse_header("train-ai=y, train-ai, search=n, search=\"n\"").unwrap();
        assert_eq!(prefs, AiPreferences::new());
    }

    #[test]
    fn a_value_that_does_not_parse_states_nothing() {
        let err = AiPreferences::parse_header("Train-AI=n").unwrap_err();
        assert!(
            matches!(err, LicenseError::InvalidContentUsage { offset: 0, .. }),
            "{err}"
        );
        assert_eq!(
            AiPreferences::from_header_or_none("train-ai=n,"),
            AiPreferences::new()
        );
    }

    #[test]
    fn a_broader_reservation_covers_narrower_uses() {
        let prefs = AiPreferences::parse_header("train-ai=n").unwrap();
        let (via, d) = prefs.resolve(AiUse::TrainGenAi).unwrap();
        assert_eq!((via, d.preference), (AiUse::TrainAi, Preference::Reserved));
        assert!(prefs.resolve(AiUse::Search).is_none());
        assert!(prefs.resolve(AiUse::Tdm).is_none());

        let prefs = AiPreferences::parse_header("all=n, search=y").unwrap();
        assert_eq!(prefs.resolve(AiUse::Inference).unwrap().0, AiUse::Tdm);
        assert_eq!(prefs.resolve(AiUse::TrainGenAi).unwrap().0, AiUse::Tdm);
        assert_eq!(
            prefs.resolve(AiUse::Search).unwrap().1.preference,
            Preference::Allowed
        );
    }

    #[test]
    fn a_narrower_statement_overrides_a_broader_one() {
        let prefs = AiPreferences::parse_header("train-ai=n, train-genai=y").unwrap();
        let (via, d) = prefs.resolve(AiUse::TrainGenAi).unwrap();
        assert_eq!(
            (via, d.preference),
            (AiUse::TrainGenAi, Preference::Allowed)
        );
    }

    #[test]
    fn combining_keeps_the_most_restrictive() {
        let a =
            AiPreferences::parse_header("train-ai=y, search=y, ai-use=n;exceptions=cc-cr").unwrap();
        let b = AiPreferences::parse_header("train-ai=n, ai-use=n, all=y").unwrap();
        assert_eq!(
            a.combine(&b).to_header(),
            "all=y, train-ai=n, ai-use=n, search=y"
        );
    }

    #[test]
    fn serialises_as_a_map_of_labels() {
        let prefs = AiPreferences::new().set_with_signal(
            AiUse::TrainGenAi,
            Preference::Reserved,
            Signal::Credit,
        );
        let json = serde_json::to_string(&prefs).unwrap();
        assert_eq!(
            json,
            r#"{"train-genai":{"preference":"reserved","signal":"cc-cr"}}"#
        );
        assert_eq!(serde_json::from_str::<AiPreferences>(&json).unwrap(), prefs);
    }
}

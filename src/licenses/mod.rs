//! Licence contracts (pure): evaluating an intended use and composing attribution text.

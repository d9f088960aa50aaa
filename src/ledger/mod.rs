//! The transparency log (pure).

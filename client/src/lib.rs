//! Estafette messaging engine.

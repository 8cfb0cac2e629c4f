//! Estafette wire frames (placeholder until the wire crate lands).

//! Estafette web app.

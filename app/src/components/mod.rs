mod connection_indicator;
mod language_switch;

pub use connection_indicator::ConnectionIndicator;
pub use language_switch::LanguageSwitch;

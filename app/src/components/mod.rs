mod avatar;
mod connection_indicator;
mod directory_search;
mod erase_account;
mod language_switch;
mod live_region;
mod member_picker;
mod message_text;
mod ticks;

pub use avatar::Avatar;
pub use connection_indicator::ConnectionIndicator;
pub use directory_search::{DirectorySearch, shown_name};
pub use erase_account::EraseAccount;
pub use language_switch::LanguageSwitch;
pub use live_region::LiveRegion;
pub use member_picker::MemberPicker;
pub use message_text::MessageText;
pub use ticks::Ticks;

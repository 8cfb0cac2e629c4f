mod chat;
mod group_info;
mod home;
mod join;
mod new_conversation;
mod new_group;
mod onboarding;
mod settings;
mod status;
mod unlock;
mod workspace;

pub use home::Home;
pub use join::JoinPage;
pub use onboarding::Onboarding;
pub use status::{Stopped, Unavailable};
pub use unlock::UnlockPage;
pub use workspace::Workspace;

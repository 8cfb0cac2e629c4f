mod home;

pub use home::Home;

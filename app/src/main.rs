//! Mounts the app; everything else is in the library so tests can use it.
fn main() {
    leptos::mount::mount_to_body(estafette_app::App);
}

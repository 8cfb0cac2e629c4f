//! Mounts the app; everything else is in the library so tests can use it.
fn main() {
    estafette_app::mark("estafette-start");
    leptos::mount::mount_to_body(estafette_app::App);
    estafette_app::mark("estafette-mounted");
}

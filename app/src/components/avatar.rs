use leptos::prelude::*;

/// Up to two initials of a name (or handle), as written: the style sheet
/// shows them in capitals (`text-transform`), which spares the wasm Unicode
/// case tables (about 10 KB gzip).
pub fn initials(name: &str) -> String {
    let words: Vec<&str> = name
        .split(|c: char| c.is_whitespace() || c == '.' || c == '@' || c == '-')
        .filter(|w| !w.is_empty())
        .collect();
    let first = |w: &&str| w.chars().next();
    let letters: String = match words.as_slice() {
        [] => "?".into(),
        [one] => first(one).into_iter().collect(),
        [one, .., last] if name.contains(' ') => {
            first(one).into_iter().chain(first(last)).collect()
        }
        [one, two, ..] => first(one).into_iter().chain(first(two)).collect(),
    };
    letters
}

/// A stable colour index (0–7) for a handle.
fn hue(handle: &str) -> u32 {
    handle
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 8
}

/// A round badge with initials; decorative (the name is always next to it).
#[component]
pub fn Avatar(#[prop(into)] name: String, #[prop(into)] handle: String) -> impl IntoView {
    let class = format!("avatar hue-{}", hue(&handle));
    view! { <span class=class aria-hidden="true">{initials(&name)}</span> }
}

#[cfg(test)]
mod tests {
    use super::initials;

    #[test]
    fn initials_of_names_and_handles() {
        assert_eq!(initials("Marie Curie"), "MC");
        assert_eq!(initials("Jean de la Fontaine"), "JF");
        assert_eq!(initials("marie.curie@recherche.gouv.fr"), "mc");
        assert_eq!(initials("élise"), "é");
        assert_eq!(initials(""), "?");
    }
}

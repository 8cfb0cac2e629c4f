//! Message text as safe pieces: plain text and web links. The chat renders
//! each piece as a text node or an `<a>` built from it, never as HTML.

/// A piece of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Text, shown as is.
    Text(&'a str),
    /// An `http(s)://` link, shown as its own text.
    Link(&'a str),
}

/// Characters that end a sentence rather than a link.
const TRAILING: &[char] = &[
    '.', ',', ';', ':', '!', '?', ')', ']', '}', '\'', '"', '»', '’',
];

/// Splits `text` into text and links. Only `http://` and `https://` become
/// links (never `javascript:`, `data:` or others).
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = find_link_start(rest) {
        let (before, candidate) = rest.split_at(start);
        let end = candidate
            .find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
            .unwrap_or(candidate.len());
        let mut link = candidate.split_at(end).0;
        while let Some(stripped) = link.strip_suffix(TRAILING) {
            // Keep a closing parenthesis that closes one inside the link.
            if link.ends_with(')') && link.matches('(').count() >= link.matches(')').count() {
                break;
            }
            link = stripped;
        }
        let https = link
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
        let scheme_len = if https { 8 } else { 7 };
        if link.len() <= scheme_len {
            // "https://" alone: keep it as text.
            let (text_part, after) = candidate.split_at(scheme_len.min(candidate.len()));
            push_text(&mut out, before);
            push_text(&mut out, text_part);
            rest = after;
            continue;
        }
        push_text(&mut out, before);
        out.push(Piece::Link(link));
        rest = candidate.split_at(link.len()).1;
    }
    push_text(&mut out, rest);
    out
}

fn push_text<'a>(out: &mut Vec<Piece<'a>>, text: &'a str) {
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
}

fn find_link_start(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let http = lower.find("http://");
    let https = lower.find("https://");
    let start = match (http, https) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    // A scheme glued to a word ("xhttp://") is not a link start.
    let glued = text
        .split_at(start)
        .0
        .chars()
        .next_back()
        .is_some_and(char::is_alphanumeric);
    if glued {
        let next = start + 1;
        return find_link_start(text.get(next..)?).map(|i| i + next);
    }
    Some(start)
}

#[cfg(test)]
mod tests {
    use super::Piece::{Link, Text};
    use super::*;

    #[test]
    fn links_are_found_and_punctuation_left_out() {
        assert_eq!(
            pieces("Voir https://www.service-public.fr/particuliers. Merci"),
            vec![
                Text("Voir "),
                Link("https://www.service-public.fr/particuliers"),
                Text(". Merci")
            ]
        );
        assert_eq!(
            pieces("(http://a.fr/x_(y))"),
            vec![Text("("), Link("http://a.fr/x_(y)"), Text(")")]
        );
    }

    #[test]
    fn other_schemes_and_html_stay_text() {
        assert_eq!(
            pieces("javascript:alert(1) <b>x</b>"),
            vec![Text("javascript:alert(1) <b>x</b>")]
        );
        assert_eq!(
            pieces("https://a.fr/<script>"),
            vec![Link("https://a.fr/"), Text("<script>")]
        );
        assert_eq!(
            pieces("https:// rien"),
            vec![Text("https://"), Text(" rien")]
        );
        assert_eq!(pieces("xhttps://a.fr"), vec![Text("xhttps://a.fr")]);
        assert_eq!(pieces("HTTPS://"), vec![Text("HTTPS://")]);
        assert_eq!(pieces("HTTPS://A.FR"), vec![Link("HTTPS://A.FR")]);
    }

    #[test]
    fn odd_input_never_panics_and_round_trips() {
        let parts = [
            "é", "http://", "HTTPS://", "(", ")", ".", " ", "\n", "»", "a", "<", "日本",
        ];
        for a in parts {
            for b in parts {
                for c in parts {
                    for d in parts {
                        let text = format!("{a}{b}{c}{d}");
                        let joined: String = pieces(&text)
                            .iter()
                            .map(|p| match p {
                                Text(t) | Link(t) => *t,
                            })
                            .collect();
                        assert_eq!(joined, text);
                    }
                }
            }
        }
    }

    #[test]
    fn text_round_trips() {
        for text in [
            "",
            "é https://é.fr/é ok",
            "a\nhttp://b.c\nd",
            "HTTPS://A.FR",
        ] {
            let joined: String = pieces(text)
                .iter()
                .map(|p| match p {
                    Text(t) | Link(t) => *t,
                })
                .collect();
            assert_eq!(joined, text);
        }
    }
}

//! Compiles `locales/*.json` into Rust: one `Key` variant per message and one
//! table per locale. A key missing from, or extra in, any locale fails the
//! build, so no user ever sees an untranslated string.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

const LOCALES: [(&str, &str); 2] = [("Fr", "fr"), ("En", "en")];

fn load(code: &str) -> Result<BTreeMap<String, String>, String> {
    let path = Path::new("locales").join(format!("{code}.json"));
    println!("cargo::rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn variant(key: &str) -> String {
    key.split(['.', '_'])
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn escape(text: &str) -> String {
    format!("{text:?}")
}

fn generate() -> Result<String, String> {
    let tables: Vec<(&str, BTreeMap<String, String>)> = LOCALES
        .iter()
        .map(|(name, code)| load(code).map(|t| (*name, t)))
        .collect::<Result<_, _>>()?;
    let reference = tables.first().map(|(_, t)| t.clone()).unwrap_or_default();
    for (name, table) in &tables {
        let missing: Vec<_> = reference
            .keys()
            .filter(|k| !table.contains_key(*k))
            .collect();
        let extra: Vec<_> = table
            .keys()
            .filter(|k| !reference.contains_key(*k))
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            return Err(format!(
                "locale {name}: missing keys {missing:?}, extra keys {extra:?}"
            ));
        }
    }
    let mut out = String::from("/// A user-visible message, one per key of `locales/*.json`.\n");
    out.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq)]\npub enum Key {\n");
    for key in reference.keys() {
        let _ = writeln!(out, "    /// `{key}`\n    {},", variant(key));
    }
    out.push_str("}\n\nimpl Key {\n    /// Every key, in the order of the locale files.\n    pub const ALL: &'static [Key] = &[");
    for key in reference.keys() {
        let _ = write!(out, "Key::{}, ", variant(key));
    }
    out.push_str("];\n}\n\n/// The message for `key` in `locale`.\npub fn text(locale: Locale, key: Key) -> &'static str {\n    match locale {\n");
    for (name, table) in &tables {
        let _ = writeln!(out, "        Locale::{name} => match key {{");
        for (key, value) in table {
            let _ = writeln!(
                out,
                "            Key::{} => {},",
                variant(key),
                escape(value)
            );
        }
        out.push_str("        },\n");
    }
    out.push_str("    }\n}\n");
    Ok(out)
}

fn main() {
    match generate() {
        Ok(code) => {
            let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
            if let Err(e) = std::fs::write(Path::new(&out_dir).join("messages.rs"), code) {
                println!("cargo::error=cannot write messages.rs: {e}");
            }
        }
        Err(e) => println!("cargo::error=translations are inconsistent: {e}"),
    }
}

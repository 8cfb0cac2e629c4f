//! Dates and times in the interface language, through the browser's `Intl`.

use js_sys::{Date, Object, Reflect};
use wasm_bindgen::JsValue;

use crate::i18n::{Key, Locale, text};

fn options(pairs: &[(&str, &str)]) -> Object {
    let object = Object::new();
    for (name, value) in pairs {
        let _ = Reflect::set(&object, &JsValue::from_str(name), &JsValue::from_str(value));
    }
    object
}

fn date(ms: u64) -> Date {
    Date::new(&JsValue::from_f64(ms as f64))
}

/// `14:05` / `2:05 PM`.
pub fn time(ms: u64, locale: Locale) -> String {
    date(ms)
        .to_locale_time_string_with_options(
            locale.tag(),
            &options(&[("hour", "2-digit"), ("minute", "2-digit")]),
        )
        .into()
}

/// The local calendar day of `ms`, to group messages.
pub fn day(ms: u64) -> (u32, u32, u32) {
    let d = date(ms);
    (d.get_full_year(), d.get_month(), d.get_date())
}

fn days_between(earlier: (u32, u32, u32), later: (u32, u32, u32)) -> i64 {
    let midnight = |(y, m, d): (u32, u32, u32)| {
        Date::new_with_year_month_day(y, m as i32, d as i32).get_time()
    };
    ((midnight(later) - midnight(earlier)) / 86_400_000.0).round() as i64
}

/// "Aujourd’hui", "Hier", or "lundi 3 novembre" (with the year when not this year).
pub fn day_label(ms: u64, locale: Locale) -> String {
    let now = Date::now() as u64;
    let (this, today) = (day(ms), day(now));
    match days_between(this, today) {
        0 => text(locale, Key::DayToday).to_owned(),
        1 => text(locale, Key::DayYesterday).to_owned(),
        _ => {
            let mut pairs = vec![("weekday", "long"), ("day", "numeric"), ("month", "long")];
            if this.0 != today.0 {
                pairs.push(("year", "numeric"));
            }
            date(ms)
                .to_locale_date_string(locale.tag(), &options(&pairs))
                .into()
        }
    }
}

/// For the conversation list: the time today, the weekday this week, else the date.
pub fn short_when(ms: u64, locale: Locale) -> String {
    if ms == 0 {
        return String::new();
    }
    let now = Date::now() as u64;
    match days_between(day(ms), day(now)) {
        0 => time(ms, locale),
        1 => text(locale, Key::DayYesterday).to_owned(),
        2..=6 => date(ms)
            .to_locale_date_string(locale.tag(), &options(&[("weekday", "short")]))
            .into(),
        _ => date(ms)
            .to_locale_date_string(
                locale.tag(),
                &options(&[("day", "numeric"), ("month", "short")]),
            )
            .into(),
    }
}

/// A full date and time, for a message's `title` and `datetime`.
pub fn full(ms: u64, locale: Locale) -> String {
    let d = date(ms);
    let day: String = d
        .to_locale_date_string(
            locale.tag(),
            &options(&[("day", "numeric"), ("month", "long"), ("year", "numeric")]),
        )
        .into();
    format!("{day} {}", time(ms, locale))
}

/// ISO 8601, for `<time datetime>`.
pub fn iso(ms: u64) -> String {
    date(ms).to_iso_string().into()
}

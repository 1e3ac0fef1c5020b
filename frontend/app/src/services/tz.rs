//! Today's date and UTC offset in the organisation's time zone, from the
//! browser's tz data (`Intl`), because the domain crate has none.

use js_sys::{Array, Function, Object, Reflect};
use time::{Date, Month, UtcOffset};
use wasm_bindgen::{JsCast as _, JsValue};

fn get(target: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(target, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined())
}

/// Wall-clock parts of `now` in `timezone`; `None` for an unknown zone.
fn parts_in(timezone: &str, now: &js_sys::Date) -> Option<[i32; 6]> {
    let intl = get(&js_sys::global(), "Intl")?;
    let ctor: Function = get(&intl, "DateTimeFormat")?.dyn_into().ok()?;
    let options = Object::new();
    for (k, v) in [
        ("timeZone", timezone),
        ("hourCycle", "h23"),
        ("year", "numeric"),
        ("month", "numeric"),
        ("day", "numeric"),
        ("hour", "numeric"),
        ("minute", "numeric"),
        ("second", "numeric"),
    ] {
        Reflect::set(&options, &JsValue::from_str(k), &JsValue::from_str(v)).ok()?;
    }
    // Reflect::construct reports an unknown zone as an error instead of throwing.
    let format = Reflect::construct(&ctor, &Array::of2(&JsValue::from_str("en-US"), &options)).ok()?;
    let to_parts: Function = get(&format, "formatToParts")?.dyn_into().ok()?;
    let parts: Array = to_parts.call1(&format, now).ok()?.dyn_into().ok()?;
    let mut out = [0i32; 6];
    for part in parts.iter() {
        let kind = get(&part, "type")?.as_string()?;
        let slot = ["year", "month", "day", "hour", "minute", "second"].iter().position(|k| *k == kind);
        if let Some(i) = slot {
            out[i] = get(&part, "value")?.as_string()?.parse().ok()?;
        }
    }
    Some(out)
}

/// The local date and offset in `timezone` now; the browser's own zone if
/// `timezone` is unknown to the browser.
pub fn today_in(timezone: &str) -> (Date, UtcOffset) {
    let now = js_sys::Date::new_0();
    let utc_ms = (now.get_time() / 1000.0).floor() * 1000.0;
    let civil = |y: i32, mo: i32, d: i32| {
        Month::try_from(u8::try_from(mo).ok()?)
            .ok()
            .and_then(|m| Date::from_calendar_date(y, m, u8::try_from(d).ok()?).ok())
    };
    let zoned = parts_in(timezone, &now).and_then(|[y, mo, d, h, mi, s]| {
        let date = civil(y, mo, d)?;
        // Julian day 2440588 is 1970-01-01.
        let local_s = i64::from(date.to_julian_day() - 2_440_588) * 86_400 + i64::from(h * 3600 + mi * 60 + s);
        Some((date, ((local_s as f64 * 1000.0 - utc_ms) / 60_000.0).round() as i32))
    });
    let (date, offset_min) = zoned.unwrap_or_else(|| {
        let date = civil(now.get_full_year() as i32, now.get_month() as i32 + 1, now.get_date() as i32);
        (date.unwrap_or(Date::MIN), -(now.get_timezone_offset().round() as i32))
    });
    let offset = UtcOffset::from_whole_seconds(offset_min * 60).unwrap_or(UtcOffset::UTC);
    (date, offset)
}

//! Randomness and hashing for credentials and ids. The OS generator only:
//! tokens guard data, so they must be unpredictable.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// `n` bytes from the operating system's generator.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    // Without OS randomness no credential is safe: stop rather than go on.
    getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
    bytes
}

/// URL-safe text carrying `n` random bytes (`8 * n` bits).
pub fn random_token(n: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(n))
}

/// `digits` random decimal digits.
pub fn random_digits(digits: usize) -> String {
    let mut out = String::with_capacity(digits);
    while out.len() < digits {
        // Rejecting 250..=255 keeps every digit equally likely.
        for b in random_bytes(digits) {
            if b < 250 && out.len() < digits {
                out.push(char::from(b'0' + b % 10));
            }
        }
    }
    out
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// HMAC-SHA256 (RFC 2104): signed upload forms and download links.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A new id `{prefix}_{time}{random}`: 10 base-32 characters of milliseconds
/// since 1970 then 16 random ones (80 bits). Ids sort by creation time, so
/// key-ordered lists (SQLite rowid-free, DynamoDB sort keys) come out oldest first.
pub fn new_id(prefix: &str, now: OffsetDateTime) -> String {
    let millis = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let mut id = String::with_capacity(prefix.len() + 27);
    id.push_str(prefix);
    id.push('_');
    for shift in (0..10).rev() {
        id.push(char::from(CROCKFORD[((millis >> (shift * 5)) & 31) as usize]));
    }
    for b in random_bytes(10).chunks(5) {
        let v = b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
        for shift in (0..8).rev() {
            id.push(char::from(CROCKFORD[((v >> (shift * 5)) & 31) as usize]));
        }
    }
    id
}

/// Encodes an opaque page cursor.
pub fn encode_cursor(kind: &str, key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{key}"))
}

/// The key inside a cursor of `kind`, or `None` if it is not one.
pub fn decode_cursor(kind: &str, cursor: &str) -> Option<String> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.strip_prefix(kind)?.strip_prefix(':').map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn ids_sort_by_creation_time_and_differ_within_a_millisecond() {
        let a = new_id("ord", datetime!(2026-01-01 00:00 UTC));
        let b = new_id("ord", datetime!(2026-01-01 00:00:00.001 UTC));
        let c = new_id("ord", datetime!(2026-01-01 00:00:00.001 UTC));
        assert!(a < b && b != c, "{a} {b} {c}");
        assert_eq!(a.len(), 3 + 1 + 26);
        assert!(doorstep_domain::OrderId::new(a).is_ok());
    }

    #[test]
    fn tokens_and_pins_have_the_requested_size() {
        assert_eq!(random_token(24).len(), 32);
        let pin = random_digits(8);
        assert!(pin.len() == 8 && pin.bytes().all(|b| b.is_ascii_digit()), "{pin}");
        assert_ne!(random_token(16), random_token(16));
    }

    #[test]
    fn cursors_round_trip_and_reject_other_kinds() {
        let c = encode_cursor("order", "ord_1");
        assert_eq!(decode_cursor("order", &c).as_deref(), Some("ord_1"));
        assert_eq!(decode_cursor("plan", &c), None);
        assert_eq!(decode_cursor("order", "%%%"), None);
    }
}

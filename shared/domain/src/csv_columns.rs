//! Which CSV column fills which order field. Shared by the server's import
//! and the dispatcher's import preview, so both pick the same columns.

/// The order fields a column can fill, with the headers recognised for each
/// (compared lower case, punctuation as spaces).
pub const FIELDS: &[(&str, &[&str])] = &[
    ("external_ref", &["reference", "ref", "external ref", "external reference", "order ref", "order reference", "order number", "order id", "order", "order no", "commande"]),
    ("kind", &["kind", "type", "order type"]),
    ("depot_id", &["depot", "depot id"]),
    ("address.line1", &["address", "street", "address line 1", "address1", "line1", "street address"]),
    ("address.line2", &["address line 2", "address2", "line2", "building"]),
    ("address.postcode", &["postcode", "post code", "zip", "zip code", "zipcode", "postal code", "cp", "code postal"]),
    ("address.city", &["city", "town", "ville"]),
    ("address.country", &["country", "country code"]),
    ("address.lat", &["lat", "latitude"]),
    ("address.lon", &["lon", "lng", "long", "longitude"]),
    ("recipient.name", &["name", "recipient", "recipient name", "customer", "customer name", "client", "client name", "contact", "nom", "destinataire"]),
    ("recipient.phone", &["phone", "telephone", "tel", "mobile", "phone number"]),
    ("recipient.email", &["email", "e mail", "mail", "email address"]),
    ("window_start", &["window start", "time window start", "start", "from", "earliest", "tw start"]),
    ("window_end", &["window end", "time window end", "end", "to", "latest", "tw end"]),
    ("service_time_s", &["service time", "service time s", "service s", "service", "duration"]),
    ("service_time_min", &["service time min", "service min", "service minutes"]),
    ("weight_kg", &["weight", "weight kg", "kg"]),
    ("volume_l", &["volume", "volume l", "litres", "liters"]),
    ("items", &["items", "quantity", "qty", "parcels", "packages"]),
    ("instructions", &["notes", "note", "instructions", "comments", "comment"]),
    ("barcode", &["barcode", "bar code", "ean"]),
];

/// Fields every import needs a column for.
pub const REQUIRED: &[&str] = &["address.line1", "address.postcode", "address.city", "recipient.name"];

/// A header as compared: lower case, words separated by single spaces.
pub fn normalise(header: &str) -> String {
    header
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The column a field takes from its recognised header names, if any.
pub fn recognised_column(field: &str, headers: &[String]) -> Option<usize> {
    let (_, names) = FIELDS.iter().find(|(f, _)| *f == field)?;
    headers.iter().position(|h| names.contains(&normalise(h).as_str()))
}

/// The column named `header` (compared as [`normalise`] does).
pub fn column_named(header: &str, headers: &[String]) -> Option<usize> {
    headers.iter().position(|h| normalise(h) == normalise(header))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn headers_match_whatever_their_case_and_punctuation() {
        let h = headers(&["Order #", "Street Address", "ZIP-code", "Ville", "Customer_Name"]);
        assert_eq!(recognised_column("address.line1", &h), Some(1));
        assert_eq!(recognised_column("address.postcode", &h), Some(2));
        assert_eq!(recognised_column("address.city", &h), Some(3));
        assert_eq!(recognised_column("recipient.name", &h), Some(4));
        assert_eq!(recognised_column("barcode", &h), None);
        assert_eq!(column_named("zip code", &h), Some(2));
    }

    #[test]
    fn every_required_field_is_a_known_field() {
        for r in REQUIRED {
            assert!(FIELDS.iter().any(|(f, _)| f == r), "{r}");
        }
    }
}

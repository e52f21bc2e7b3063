//! Attribute keys, derived from labels: `"Product Name"` becomes `product_name`.

/// Longest key we derive; labels may be longer.
const MAX_KEY_LEN: usize = 60;

/// Keys every object has; a label deriving to one of them gets a suffix.
pub const SYSTEM_KEYS: [&str; 3] = ["id", "created_at", "updated_at"];

/// snake_case of a label: ASCII letters and digits kept (common accented Latin letters
/// transliterated), everything else a single `_`; a leading digit or an empty result gets
/// the prefix `attr_`.
pub fn derive_base(label: &str) -> String {
    let mut key = String::new();
    for c in label.chars().flat_map(char::to_lowercase) {
        match transliterate(c) {
            Some(ascii) => key.push_str(ascii),
            None if c.is_ascii_alphanumeric() => key.push(c),
            None => {
                if !key.ends_with('_') {
                    key.push('_');
                }
            }
        }
    }
    let mut key = key.trim_matches('_').to_owned();
    if key.is_empty() || key.starts_with(|c: char| c.is_ascii_digit()) {
        key.insert_str(0, "attr_");
    }
    key.truncate(MAX_KEY_LEN);
    key.trim_end_matches('_').to_owned()
}

/// The first of `base`, `base_2`, `base_3`… that `taken` does not report as used.
pub fn unique_key(base: &str, taken: impl Fn(&str) -> bool) -> String {
    let used = |k: &str| taken(k) || SYSTEM_KEYS.contains(&k);
    if !used(base) {
        return base.to_owned();
    }
    (2..)
        .map(|n| {
            let suffix = format!("_{n}");
            let stem = &base[..base.len().min(MAX_KEY_LEN - suffix.len())];
            format!("{stem}{suffix}")
        })
        .find(|k| !used(k))
        .expect("an unused suffix exists")
}

fn transliterate(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'å' | 'ā' => "a",
        'ä' | 'æ' => "ae",
        'ç' | 'č' | 'ć' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' => "e",
        'ì' | 'í' | 'î' | 'ï' => "i",
        'ñ' | 'ń' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ø' => "o",
        'ö' | 'œ' => "oe",
        'ù' | 'ú' | 'û' => "u",
        'ü' => "ue",
        'ý' | 'ÿ' => "y",
        'ß' => "ss",
        'ł' => "l",
        'š' | 'ś' => "s",
        'ž' | 'ź' | 'ż' => "z",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_snake_case_from_labels() {
        let cases = [
            ("Product Name", "product_name"),
            ("  Inventory -- Count!  ", "inventory_count"),
            ("Größe (cm)", "groesse_cm"),
            ("Crème brûlée", "creme_brulee"),
            ("2nd Contact", "attr_2nd_contact"),
            ("!!!", "attr"),
            ("日本", "attr"),
            ("ID", "id"),
            ("camelCase", "camelcase"),
        ];
        for (label, key) in cases {
            assert_eq!(derive_base(label), key, "{label}");
        }
    }

    #[test]
    fn long_labels_are_cut_at_60() {
        let key = derive_base(&"word ".repeat(30));
        assert!(key.len() <= 60 && !key.ends_with('_'), "{key}");
    }

    #[test]
    fn collisions_get_numbered_suffixes() {
        let taken = ["product_name", "product_name_2"];
        assert_eq!(unique_key("product_name", |k| taken.contains(&k)), "product_name_3");
        assert_eq!(unique_key("price", |_| false), "price");
    }

    #[test]
    fn system_keys_are_never_derived() {
        assert_eq!(unique_key("id", |_| false), "id_2");
        assert_eq!(unique_key("created_at", |_| false), "created_at_2");
    }

    #[test]
    fn suffixes_keep_keys_within_60_characters() {
        let base = "a".repeat(60);
        let key = unique_key(&base, |k| k == base);
        assert_eq!(key.len(), 60);
        assert!(key.ends_with("_2"));
    }
}

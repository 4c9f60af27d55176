//! Human sizes: `10G`, `512M`, `1.5T`, plain bytes.

/// Why a text is not a size.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SizeError {
    /// The text as given.
    #[error("`{0}` does not start with a number")]
    NotANumber(String),
    /// The unit, upper-cased.
    #[error("unknown size unit `{0}`")]
    UnknownUnit(String),
    #[error("size must be greater than zero")]
    Zero,
}

impl SizeError {
    /// How to write a size (the setting that holds it is added by the caller).
    pub fn hint(&self) -> &'static str {
        "use a size such as `10G`, `500M` or `2T`"
    }
}

/// Parses a size with an optional binary unit suffix (`K`, `M`, `G`, `T`,
/// optionally followed by `B` or `iB`).
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| SizeError::NotANumber(text.to_owned()))?;
    let unit = unit.trim().to_ascii_uppercase();
    let unit = unit.trim_end_matches("IB").trim_end_matches('B');
    let mult: u64 = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        other => return Err(SizeError::UnknownUnit(other.to_owned())),
    };
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let bytes = (value * mult as f64) as u64;
    if bytes == 0 {
        return Err(SizeError::Zero);
    }
    Ok(bytes)
}

/// Formats bytes for people: `1.5 GiB`, `12.0 MiB`, `900 B`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    #[allow(clippy::cast_precision_loss)]
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10G").unwrap(), 10 << 30);
        assert_eq!(parse_size("512m").unwrap(), 512 << 20);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("0"), Err(SizeError::Zero));
        assert_eq!(
            parse_size("ten").unwrap_err().to_string(),
            "`ten` does not start with a number"
        );
        assert_eq!(
            parse_size("3x").unwrap_err().to_string(),
            "unknown size unit `X`"
        );
        assert_eq!(format_size(900), "900 B");
        assert_eq!(format_size(3 << 29), "1.5 GiB");
    }
}

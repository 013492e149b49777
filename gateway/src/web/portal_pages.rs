//! What the portal's pages show that is not text: the QR code of a new phone's key (its
//! modules; the template draws it), and the key itself grouped for typing. The pages are templates (`portal_templates.rs`,
//! `gateway/templates/portal/`).

/// A QR code drawn by the page's template as inline SVG: one path of unit squares on a
/// white square of `size` units (the code and a quiet zone of four around it).
#[derive(Debug, Clone)]
pub struct Qr {
    pub size: usize,
    /// SVG path data (`M4,4h1v1h-1z...`): numbers and letters only.
    pub path: String,
}

/// The QR code of `uri`. The page gives it its text alternative (WCAG 1.1.1): the SVG is
/// an image named in the page's language, and the key itself is shown as text under it.
pub fn qr(uri: &str) -> Result<Qr, qrcode::types::QrError> {
    use std::fmt::Write as _;
    const QUIET: usize = 4;
    let code = qrcode::QrCode::new(uri.as_bytes())?;
    let width = code.width();
    let mut path = String::new();
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (x, y) = (i % width + QUIET, i / width + QUIET);
            // Writing to a String cannot fail.
            let _ = write!(path, "M{x},{y}h1v1h-1z");
        }
    }
    Ok(Qr {
        size: width + 2 * QUIET,
        path,
    })
}

/// The key in base32, in groups of four (`ABCD EFGH ...`): easier to read and to type.
pub fn grouped_secret(seed: &[u8]) -> String {
    let secret = data_encoding::BASE32_NOPAD.encode(seed);
    secret
        .as_bytes()
        .chunks(4)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_is_a_path_and_the_key_is_grouped() {
        let qr = qr("otpauth://totp/x?secret=ABC").expect("qr");
        assert_eq!(
            (qr.size - 8 - 17) % 4,
            0,
            "a version's width and the quiet zone"
        );
        assert!(
            qr.path.starts_with("M4,4h1v1h-1z"),
            "a finder pattern's corner"
        );
        assert!(
            qr.path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ",-".contains(c))
        );
        assert_eq!(grouped_secret(&[0u8; 10]), "AAAA AAAA AAAA AAAA");
    }
}

//! The QR code of a new phone's key, drawn by the page's template as inline SVG (macro
//! `m::qr`), and the key itself grouped for typing (the code's text alternative, WCAG
//! 1.1.1). Used by My devices (add a phone) and the activation page.

use std::fmt::Write as _;

/// A QR code as SVG drawing data: `size` modules square (the quiet zone included), drawn
/// `pixels` wide, dark modules as one path of runs. Only numbers and path commands: the
/// template escapes it like any text.
#[derive(Debug, Clone)]
pub struct Qr {
    pub size: usize,
    pub pixels: usize,
    pub path: String,
}

impl Qr {
    /// The quiet zone around the code (ISO/IEC 18004: four modules).
    const QUIET: usize = 4;

    pub fn of(text: &str) -> Result<Self, qrcode::types::QrError> {
        let code = qrcode::QrCode::new(text.as_bytes())?;
        let width = code.width();
        let dark: Vec<bool> = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        let mut path = String::new();
        for (y, row) in dark.chunks(width).enumerate() {
            let mut x = 0;
            while x < row.len() {
                if row[x] {
                    let start = x;
                    while x < row.len() && row[x] {
                        x += 1;
                    }
                    let run = x - start;
                    let _ = write!(
                        path,
                        "M{} {}h{run}v1h-{run}z",
                        start + Self::QUIET,
                        y + Self::QUIET
                    );
                } else {
                    x += 1;
                }
            }
        }
        let size = width + 2 * Self::QUIET;
        // Whole pixels per module, at least 200 pixels wide.
        let pixels = size * 200usize.div_ceil(size);
        Ok(Self { size, pixels, path })
    }
}

/// The key of a phone as text, in groups of four (`ABCD EFGH ...`).
pub fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The key of a phone in base32, in groups of four.
pub fn grouped_secret(seed: &[u8]) -> String {
    grouped(&data_encoding::BASE32_NOPAD.encode(seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_is_drawn_from_its_modules() {
        let qr = Qr::of("otpauth://totp/Gateway:ann?secret=JBSWY3DPEHPK3PXP").expect("qr");
        let code =
            qrcode::QrCode::new(b"otpauth://totp/Gateway:ann?secret=JBSWY3DPEHPK3PXP").expect("qr");
        assert_eq!(qr.size, code.width() + 8);
        assert!(qr.pixels >= 200 && qr.pixels.is_multiple_of(qr.size));
        // Every dark module is in exactly one run.
        let dark = code
            .to_colors()
            .iter()
            .filter(|c| **c == qrcode::Color::Dark)
            .count();
        // `Mx yhNv1h-Nz`: a run of N.
        let drawn: usize = qr
            .path
            .split('M')
            .skip(1)
            .map(|run| {
                let n = run
                    .split_once('h')
                    .expect("h")
                    .1
                    .split_once('v')
                    .expect("v")
                    .0;
                n.parse::<usize>().expect("a run")
            })
            .sum();
        assert_eq!(drawn, dark);
        assert!(
            qr.path
                .chars()
                .all(|c| c.is_ascii_digit() || "Mhvz -".contains(c))
        );
    }

    #[test]
    fn the_key_is_grouped_in_fours() {
        assert_eq!(grouped_secret(&[0u8; 10]), "AAAA AAAA AAAA AAAA");
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }
}

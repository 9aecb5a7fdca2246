//! Record certificates (Art. 14, 15, 17) as PDF documents.
//!
//! A [`Document`] is laid out in points on A4 pages. Text is set in WenQuanYi Micro Hei
//! (Apache-2.0, vendored in `fonts/`), of which each document embeds only the glyphs it
//! uses (a subset, compressed), under Identity-H encoding with a ToUnicode map so that
//! the text can be searched and extracted. A QR code is drawn as vector squares.

mod font;
mod layout;

pub use layout::{Document, Line, render};

/// Why a document could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the embedded font cannot be read: {0}")]
    Font(String),
    #[error("the QR code cannot hold this text: {0}")]
    Qr(String),
}

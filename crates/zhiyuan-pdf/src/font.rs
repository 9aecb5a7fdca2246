//! The embedded CJK font: glyph lookup, advance widths, and per-document subsets.

use std::collections::BTreeMap;
use std::io::Write;

use crate::PdfError;

/// WenQuanYi Micro Hei (face 0 of the collection).
static FONT: &[u8] = include_bytes!("../fonts/wqy-microhei.ttc");

/// The font, parsed once per document.
pub struct Font {
    face: ttf_parser::Face<'static>,
    units: f32,
}

/// The glyphs a document uses: original glyph id -> the character it shows.
#[derive(Default)]
pub struct Usage(pub BTreeMap<u16, char>);

impl Font {
    pub fn load() -> Result<Self, PdfError> {
        let face = ttf_parser::Face::parse(FONT, 0).map_err(|e| PdfError::Font(e.to_string()))?;
        let units = f32::from(face.units_per_em());
        Ok(Self { face, units })
    }

    /// The glyph for `c` (the font's notdef glyph when it has none).
    pub fn glyph(&self, c: char) -> u16 {
        self.face.glyph_index(c).map_or(0, |g| g.0)
    }

    /// Advance width of glyph `g` in thousandths of the font size.
    pub fn advance(&self, g: u16) -> f32 {
        let a = self
            .face
            .glyph_hor_advance(ttf_parser::GlyphId(g))
            .unwrap_or(0);
        f32::from(a) * 1000.0 / self.units
    }

    /// Width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| self.advance(self.glyph(c)))
            .sum::<f32>()
            * size
            / 1000.0
    }

    pub fn ascent(&self) -> f32 {
        f32::from(self.face.ascender()) * 1000.0 / self.units
    }

    pub fn descent(&self) -> f32 {
        f32::from(self.face.descender()) * 1000.0 / self.units
    }

    pub fn bbox(&self) -> [f32; 4] {
        let b = self.face.global_bounding_box();
        let s = 1000.0 / self.units;
        [
            f32::from(b.x_min) * s,
            f32::from(b.y_min) * s,
            f32::from(b.x_max) * s,
            f32::from(b.y_max) * s,
        ]
    }
}

/// A subset of the font for the glyphs of `usage`, with the mapping from original to
/// new glyph ids.
pub struct Subset {
    pub data: Vec<u8>,
    pub remapper: subsetter::GlyphRemapper,
}

pub fn subset(usage: &Usage) -> Result<Subset, PdfError> {
    let mut remapper = subsetter::GlyphRemapper::new();
    for g in usage.0.keys() {
        remapper.remap(*g);
    }
    let data = subsetter::subset(FONT, 0, &remapper).map_err(|e| PdfError::Font(e.to_string()))?;
    Ok(Subset { data, remapper })
}

/// Deflates a stream (FlateDecode).
pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    // Writing to a Vec cannot fail.
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

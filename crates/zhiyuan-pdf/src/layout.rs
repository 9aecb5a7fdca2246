//! Laying a document out on A4 pages and writing the PDF.

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::PdfError;
use crate::font::{Font, Usage, deflate, subset};

const WIDTH: f32 = 595.28;
const HEIGHT: f32 = 841.89;
const MARGIN: f32 = 56.0;
const QR_SIZE: f32 = 92.0;
/// The narrowest column of field labels; wider labels widen it, up to half the text.
const LABEL_WIDTH: f32 = 104.0;

/// One line of a document, top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A centred title.
    Title(String),
    /// A label (with its punctuation: `姓名：`, `Name:`) and its value, which wraps.
    Field(String, String),
    /// A heading above a section.
    Heading(String),
    /// A table's header row, shaded.
    Header(Vec<String>),
    /// A table row; cells too wide are cut with an ellipsis.
    Row(Vec<String>),
    /// A paragraph that wraps.
    Text(String),
    /// Vertical space.
    Gap,
}

/// A certificate to render.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The PDF's title metadata.
    pub title: String,
    pub lines: Vec<Line>,
    /// Table column widths, as fractions of the text width, for rows with as many cells;
    /// other rows split the width evenly.
    pub columns: Vec<f32>,
    /// The text of the QR code on the first page (e.g. the verification address).
    pub qr: String,
    pub qr_caption: String,
    /// Printed at the foot of every page, before the page number.
    pub footer: String,
    /// The page number's words, with `{page}` and `{pages}` in place of the numbers:
    /// `第 {page} 页 / 共 {pages} 页`, `Page {page} of {pages}`.
    pub page_numbers: String,
}

/// What goes on a page, before glyphs are known.
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
    },
    Shade {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
    Qr {
        x: f32,
        y: f32,
    },
}

struct Pages<'f> {
    font: &'f Font,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Pages<'_> {
    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Room for `h` points, or a new page.
    fn need(&mut self, h: f32) {
        if self.y - h < MARGIN + 24.0 {
            self.pages.push(Vec::new());
            self.y = HEIGHT - MARGIN;
        }
    }

    fn text(&mut self, x: f32, size: f32, text: impl Into<String>) {
        let y = self.y - size;
        self.ops().push(Op::Text {
            x,
            y,
            size,
            text: text.into(),
        });
    }

    /// Splits `text` into lines no wider than `width` at `size`: between words at their
    /// spaces, between any two Chinese characters, and inside a word only when the word
    /// alone is wider than a line. A line broken at spaces neither ends nor begins with one.
    fn wrap(&self, text: &str, width: f32, size: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut w = 0.0;
        // The byte offset in `line` of its last place to break, if it has one.
        let mut brk: Option<usize> = None;
        for c in text.chars() {
            if c == ' ' && line.is_empty() && !lines.is_empty() {
                continue;
            }
            let wide = is_wide(c);
            if wide {
                brk = Some(line.len());
            }
            let cw = self.font.width(c.encode_utf8(&mut [0; 4]), size);
            if w + cw > width && !line.is_empty() && c != ' ' {
                let rest = match brk.filter(|&b| b > 0) {
                    Some(b) => line.split_off(b),
                    None => String::new(),
                };
                lines.push(line.trim_end().to_owned());
                line = rest.trim_start().to_owned();
                w = self.font.width(&line, size);
                brk = None;
                if w + cw > width && !line.is_empty() {
                    // The word moved down is still too wide with `c`: cut it here.
                    lines.push(std::mem::take(&mut line));
                    w = 0.0;
                }
            }
            line.push(c);
            w += cw;
            if c == ' ' || wide {
                brk = Some(line.len());
            }
        }
        let last = line.trim_end();
        if !last.is_empty() || lines.is_empty() {
            lines.push(last.to_owned());
        }
        lines
    }

    /// `text` cut with an ellipsis to fit `width`.
    fn fit(&self, text: &str, width: f32, size: f32) -> String {
        if self.font.width(text, size) <= width {
            return text.to_owned();
        }
        let mut out = String::new();
        for c in text.chars() {
            if self.font.width(&format!("{out}{c}…"), size) > width {
                break;
            }
            out.push(c);
        }
        out.push('…');
        out
    }
}

/// Whether a line may break on either side of `c`: Chinese, Japanese and Korean characters
/// and full-width forms, which are written without spaces between words.
fn is_wide(c: char) -> bool {
    c >= '\u{2E80}'
}

fn lay_out(doc: &Document, font: &Font) -> Vec<Vec<Op>> {
    let text_width = WIDTH - 2.0 * MARGIN;
    let mut p = Pages {
        font,
        pages: vec![vec![Op::Qr {
            x: WIDTH - MARGIN - QR_SIZE,
            y: HEIGHT - MARGIN - QR_SIZE,
        }]],
        y: HEIGHT - MARGIN,
    };
    let caption_size = 8.0;
    let caption_width = font.width(&doc.qr_caption, caption_size);
    p.ops().push(Op::Text {
        x: WIDTH - MARGIN - QR_SIZE / 2.0 - caption_width / 2.0,
        y: HEIGHT - MARGIN - QR_SIZE - 12.0,
        size: caption_size,
        text: doc.qr_caption.clone(),
    });
    let label_size = 11.0;
    let label_width = doc
        .lines
        .iter()
        .filter_map(|l| match l {
            Line::Field(label, _) => Some(font.width(label, label_size) + 8.0),
            _ => None,
        })
        .fold(LABEL_WIDTH, f32::max)
        .min(text_width / 2.0);
    // Keep the first lines clear of the QR code.
    let beside_qr = text_width - QR_SIZE - 16.0;
    for line in &doc.lines {
        let width = if p.pages.len() == 1 && p.y > HEIGHT - MARGIN - QR_SIZE - 24.0 {
            beside_qr
        } else {
            text_width
        };
        match line {
            Line::Title(t) => {
                let size = 20.0;
                p.need(size * 2.0);
                let w = font.width(t, size);
                p.text(MARGIN + (width - w).max(0.0) / 2.0, size, t.clone());
                p.y -= size * 2.0;
            }
            Line::Heading(t) => {
                let size = 12.5;
                p.need(size * 2.2);
                p.y -= size * 0.6;
                p.text(MARGIN, size, t.clone());
                p.y -= size * 1.6;
            }
            Line::Field(label, value) => {
                let size = label_size;
                let lines = p.wrap(value, width - label_width, size);
                p.need(size * 1.7 * lines.len() as f32);
                p.text(MARGIN, size, p.fit(label, label_width - 4.0, size));
                for l in lines {
                    p.text(MARGIN + label_width, size, l);
                    p.y -= size * 1.7;
                }
            }
            Line::Text(t) => {
                let size = 10.0;
                for l in p.wrap(t, width, size) {
                    p.need(size * 1.6);
                    p.text(MARGIN, size, l);
                    p.y -= size * 1.6;
                }
            }
            Line::Header(cells) | Line::Row(cells) => {
                let size = 9.5;
                let h = size * 1.9;
                p.need(h);
                if matches!(line, Line::Header(_)) {
                    let y = p.y - h + size * 0.35;
                    p.ops().push(Op::Shade {
                        x: MARGIN,
                        y,
                        w: text_width,
                        h,
                    });
                }
                let even = vec![1.0 / cells.len().max(1) as f32; cells.len()];
                let widths = if cells.len() == doc.columns.len() {
                    &doc.columns
                } else {
                    &even
                };
                let mut x = MARGIN + 4.0;
                for (cell, frac) in cells.iter().zip(widths) {
                    let w = frac * text_width - 8.0;
                    let shown = p.fit(cell, w, size);
                    p.text(x, size, shown);
                    x += frac * text_width;
                }
                p.y -= h;
            }
            Line::Gap => p.y -= 10.0,
        }
    }
    let total = p.pages.len();
    for (i, page) in p.pages.iter_mut().enumerate() {
        page.push(Op::Text {
            x: MARGIN,
            y: MARGIN - 20.0,
            size: 8.0,
            text: format!(
                "{}    {}",
                doc.footer,
                doc.page_numbers
                    .replace("{page}", &(i + 1).to_string())
                    .replace("{pages}", &total.to_string())
            ),
        });
    }
    p.pages
}

/// Renders `doc` as a PDF.
pub fn render(doc: &Document) -> Result<Vec<u8>, PdfError> {
    let font = Font::load()?;
    let pages = lay_out(doc, &font);

    // The glyphs used, then the font subset that holds them.
    let mut usage = Usage::default();
    for op in pages.iter().flatten() {
        if let Op::Text { text, .. } = op {
            for c in text.chars() {
                usage.0.entry(font.glyph(c)).or_insert(c);
            }
        }
    }
    let sub = subset(&usage)?;
    let gid = |c: char| sub.remapper.get(font.glyph(c)).unwrap_or(0);

    let qr = qrcode::QrCode::new(doc.qr.as_bytes()).map_err(|e| PdfError::Qr(e.to_string()))?;
    let qr_modules = qr.width();
    let qr_dark = qr.to_colors();

    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let catalog = alloc();
    let tree = alloc();
    let info = alloc();
    let type0 = alloc();
    let cid = alloc();
    let descriptor = alloc();
    let file = alloc();
    let cmap_ref = alloc();
    let font_name = Name(b"F1");
    let base_font = Name(b"ZHIYUA+WenQuanYiMicroHei");

    pdf.catalog(catalog).pages(tree);
    pdf.document_info(info)
        .title(TextStr(&doc.title))
        .producer(TextStr("zhiyuan"));

    let page_refs: Vec<(Ref, Ref)> = pages.iter().map(|_| (alloc(), alloc())).collect();
    pdf.pages(tree)
        .kids(page_refs.iter().map(|(p, _)| *p))
        .count(page_refs.len() as i32);

    for (ops, (page_ref, content_ref)) in pages.iter().zip(&page_refs) {
        let mut page = pdf.page(*page_ref);
        page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT))
            .parent(tree)
            .contents(*content_ref);
        page.resources().fonts().pair(font_name, type0);
        page.finish();

        let mut content = Content::new();
        for op in ops {
            match op {
                Op::Shade { x, y, w, h } => {
                    content.save_state();
                    content.set_fill_gray(0.9);
                    content.rect(*x, *y, *w, *h);
                    content.fill_nonzero();
                    content.restore_state();
                }
                Op::Qr { x, y } => {
                    let m = QR_SIZE / qr_modules as f32;
                    content.save_state();
                    content.set_fill_gray(0.0);
                    for (i, color) in qr_dark.iter().enumerate() {
                        if *color == qrcode::Color::Dark {
                            let (col, row) = (i % qr_modules, i / qr_modules);
                            content.rect(
                                x + col as f32 * m,
                                y + QR_SIZE - (row + 1) as f32 * m,
                                m,
                                m,
                            );
                        }
                    }
                    content.fill_nonzero();
                    content.restore_state();
                }
                Op::Text { x, y, size, text } => {
                    let bytes: Vec<u8> = text.chars().flat_map(|c| gid(c).to_be_bytes()).collect();
                    content.begin_text();
                    content.set_font(font_name, *size);
                    content.next_line(*x, *y);
                    content.show(Str(&bytes));
                    content.end_text();
                }
            }
        }
        let data = deflate(&content.finish().into_vec());
        pdf.stream(*content_ref, &data).filter(Filter::FlateDecode);
    }

    pdf.type0_font(type0)
        .base_font(base_font)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap_ref);
    let system = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    let mut c = pdf.cid_font(cid);
    c.subtype(CidFontType::Type2)
        .base_font(base_font)
        .system_info(system)
        .font_descriptor(descriptor)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    let mut widths: Vec<f32> = vec![0.0; usize::from(sub.remapper.num_gids())];
    for g in usage.0.keys() {
        if let Some(new) = sub.remapper.get(*g) {
            widths[usize::from(new)] = font.advance(*g);
        }
    }
    c.widths().consecutive(0, widths);
    c.finish();
    let [x0, y0, x1, y1] = font.bbox();
    pdf.font_descriptor(descriptor)
        .name(base_font)
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(x0, y0, x1, y1))
        .italic_angle(0.0)
        .ascent(font.ascent())
        .descent(font.descent())
        .cap_height(font.ascent() * 0.8)
        .stem_v(80.0)
        .font_file2(file);
    let compressed = deflate(&sub.data);
    pdf.stream(file, &compressed).filter(Filter::FlateDecode);
    let mut cmap = pdf_writer::types::UnicodeCmap::new(
        Name(b"Custom"),
        SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"UCS"),
            supplement: 0,
        },
    );
    for (g, c) in &usage.0 {
        if let Some(new) = sub.remapper.get(*g) {
            cmap.pair(new, *c);
        }
    }
    let cmap = cmap.finish();
    pdf.cmap(cmap_ref, &cmap);
    Ok(pdf.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(rows: usize) -> Document {
        let mut lines = vec![
            Line::Title("志愿服务记录证明".into()),
            Line::Field("姓名：".into(), "陈志愿".into()),
            Line::Field("证件号码：".into(), "4401**********123X".into()),
            Line::Heading("服务记录".into()),
            Line::Header(vec![
                "日期".into(),
                "活动".into(),
                "时长".into(),
                "记录单位".into(),
            ]),
        ];
        for i in 0..rows {
            lines.push(Line::Row(vec![
                "2026-11-02".into(),
                format!("社区环境清洁第{i}次活动（一个很长很长很长很长很长的名称）"),
                "2.5 小时".into(),
                "华工社区志愿服务队".into(),
            ]));
        }
        Document {
            title: "志愿服务记录证明".into(),
            lines,
            columns: vec![0.18, 0.47, 0.12, 0.23],
            qr: "https://zhiyuan.example.gd/verify/ZY-ABCD-EFGH-JKMN-PQRS".into(),
            qr_caption: "扫码核验".into(),
            footer: "证明编号 ZY-ABCD-EFGH-JKMN-PQRS".into(),
            page_numbers: "第 {page} 页 / 共 {pages} 页".into(),
        }
    }

    #[test]
    fn chinese_text_is_extractable_from_the_rendered_pdf() {
        let bytes = render(&sample(3)).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
        for expected in [
            "志愿服务记录证明",
            "陈志愿",
            "4401**********123X",
            "扫码核验",
        ] {
            assert!(text.contains(expected), "{expected} missing from:\n{text}");
        }
        // A subset, not the 5 MB font.
        assert!(bytes.len() < 200_000, "{} bytes", bytes.len());
    }

    fn wrapped(text: &str, width: f32) -> Vec<String> {
        let font = Font::load().unwrap();
        let p = Pages {
            font: &font,
            pages: Vec::new(),
            y: 0.0,
        };
        let lines = p.wrap(text, width, 10.0);
        for l in &lines {
            assert!(font.width(l, 10.0) <= width, "{l:?} is wider than {width}");
        }
        lines
    }

    #[test]
    fn english_wraps_between_words_and_chinese_between_characters() {
        let english = "Scan the QR code or visit the address below to verify that this \
                       certificate is genuine and valid.";
        let lines = wrapped(english, 120.0);
        assert!(lines.len() > 2, "{lines:?}");
        for l in &lines {
            assert_eq!(l.trim(), l, "no line begins or ends with a space");
        }
        assert_eq!(lines.join(" "), english, "every word whole, in order");
        // At any width, down to less than a word's: no line wider (`wrapped` checks).
        for width in (20..=200).step_by(3) {
            for text in [
                english,
                "I WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW",
                "i mmmmmmmmmmmmmmmmmmmmmm",
            ] {
                let lines = wrapped(text, width as f32);
                assert_eq!(
                    lines.concat().replace(' ', ""),
                    text.replace(' ', ""),
                    "at {width}"
                );
            }
        }

        let chinese = "本证明依据《志愿服务记录与证明出具办法（试行）》免费出具，所载服务时长为实际服务时间。";
        let lines = wrapped(chinese, 120.0);
        assert!(lines.len() > 2, "{lines:?}");
        assert_eq!(lines.concat(), chinese);
        assert!(
            lines[..lines.len() - 1]
                .iter()
                .all(|l| l.chars().count() == 12),
            "a Chinese line is filled, not cut at the first break: {lines:?}"
        );

        // An address between Chinese words moves to the next line whole when it fits there.
        let mixed = "扫描二维码或访问 https://zhiyuan.example.gd/verify/ZY-ABCD 可核验";
        let lines = wrapped(mixed, 200.0);
        assert!(
            lines
                .iter()
                .any(|l| l.contains("https://zhiyuan.example.gd/verify/ZY-ABCD")),
            "{lines:?}"
        );
        assert_eq!(lines.concat().replace(' ', ""), mixed.replace(' ', ""));
    }

    #[test]
    fn a_word_wider_than_the_line_is_cut_inside_it() {
        let word = "https://zhiyuan.example.gd/verify/ZY-ABCD-EFGH-JKMN-PQRS";
        let lines = wrapped(word, 60.0);
        assert!(lines.len() > 1, "{lines:?}");
        assert_eq!(lines.concat(), word);
    }

    #[test]
    fn long_labels_widen_their_column_and_pages_are_numbered_in_the_documents_words() {
        let mut doc = sample(1);
        doc.lines.insert(
            1,
            Line::Field(
                "Identity document number:".into(),
                "4401**********123X".into(),
            ),
        );
        doc.page_numbers = "Page {page} of {pages}".into();
        let font = Font::load().unwrap();
        let x_of = |wanted: &str| {
            lay_out(&doc, &font)[0]
                .iter()
                .find_map(|op| match op {
                    Op::Text { x, text, .. } if text == wanted => Some(*x),
                    _ => None,
                })
                .unwrap_or_else(|| panic!("{wanted} not laid out whole"))
        };
        let label_ends =
            x_of("Identity document number:") + font.width("Identity document number:", 11.0);
        assert!(
            x_of("4401**********123X") > label_ends,
            "the value starts after its label"
        );
        let text = pdf_extract::extract_text_from_mem(&render(&doc).unwrap()).unwrap();
        assert!(text.contains("Page 1 of 1"), "{text}");
    }

    #[test]
    fn long_tables_flow_onto_further_pages_with_page_numbers() {
        let one = pdf_extract::extract_text_from_mem(&render(&sample(3)).unwrap()).unwrap();
        assert!(one.contains("第 1 页 / 共 1 页"), "{one}");
        let text = pdf_extract::extract_text_from_mem(&render(&sample(120)).unwrap()).unwrap();
        let pages: usize = text
            .split("/ 共 ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(pages >= 3, "120 rows fill at least three pages");
        for page in 1..=pages {
            assert!(
                text.contains(&format!("第 {page} 页 / 共 {pages} 页")),
                "page {page}"
            );
        }
        assert!(text.contains("…"), "long cells are cut");
    }
}

//! Reading uploaded tables (CSV or XLSX) into rows of text, each with the line number a
//! person sees in a spreadsheet, for row-by-row reports.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use zhiyuan_domain::Reason;

use crate::error::{Result, ServiceError};

/// The formats tables are uploaded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// UTF-8 (with or without BOM), GB18030 or Big5, as Excel writes it on Chinese
    /// systems (mainland; Hong Kong, Macao and Taiwan).
    Csv,
    /// The first sheet of an Office Open XML workbook.
    Xlsx,
}

impl TableFormat {
    pub const ALL: [Self; 2] = [Self::Csv, Self::Xlsx];

    /// The media type a table in this format is sent with (`Content-Type`, without
    /// parameters).
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// The file name's extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }
}

/// A table: the header row, and the data rows with their line numbers (the header is
/// line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

/// Reads a table, skipping blank rows.
pub fn read_table(bytes: &[u8], format: TableFormat) -> Result<Table> {
    let mut lines = match format {
        TableFormat::Csv => read_csv(bytes)?,
        TableFormat::Xlsx => read_xlsx(bytes)?,
    }
    .into_iter()
    .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()));
    let (_, header) = lines
        .next()
        .ok_or_else(|| ServiceError::because("file", Reason::NoHeader))?;
    Ok(Table {
        header: header.into_iter().map(|h| h.trim().to_owned()).collect(),
        rows: lines.collect(),
    })
}

fn read_csv(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            legacy_text(bytes).ok_or_else(|| ServiceError::because("file", Reason::NotText))?
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    let mut lines = Lines::new(&text);
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            ServiceError::because("file", Reason::NotCsv { line })
        })?;
        let line = record
            .position()
            .map_or(0, |p| lines.of_record_at(p.byte() as usize));
        out.push((line, record.iter().map(str::to_owned).collect()));
    }
    Ok(out)
}

/// Text that is not UTF-8, as Excel saves a CSV under a Chinese locale: GB18030 on the
/// mainland, Big5 in Hong Kong, Macao and Taiwan. Both use two-byte characters of the same
/// shape, so Big5 always decodes as GB18030 too, into the wrong characters. Text that only
/// one decodes is in that one. Otherwise it is Big5 when many of its characters (Big5 puts
/// two in five of them there) lie outside the rows that Simplified Chinese text in GB18030
/// uses: its own text decodes as Big5 only by chance, and then stays within them.
fn legacy_text(bytes: &[u8]) -> Option<String> {
    let gb = encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes);
    let big5 = encoding_rs::BIG5.decode_without_bom_handling_and_without_replacement(bytes);
    let text = match (gb, big5) {
        (Some(gb), Some(big5)) => {
            let (outside, pairs) = outside_gb2312(bytes);
            if outside * 4 > pairs { big5 } else { gb }
        }
        (gb, big5) => gb.or(big5)?,
    };
    Some(text.into_owned())
}

/// Of the multi-byte characters in `bytes` read with GB18030's shapes, how many lie
/// outside GB2312's rows (both bytes 0xA1–0xFE), and how many there are.
fn outside_gb2312(bytes: &[u8]) -> (usize, usize) {
    let (mut outside, mut all, mut i) = (0, 0, 0);
    let gb2312 = |b: u8| (0xA1..=0xFE).contains(&b);
    while i < bytes.len() {
        let lead = bytes[i];
        if lead < 0x80 {
            i += 1;
            continue;
        }
        let trail = bytes.get(i + 1).copied().unwrap_or(0);
        all += 1;
        if !(gb2312(lead) && gb2312(trail)) {
            outside += 1;
        }
        // GB18030's four-byte characters have a digit second.
        i += if trail.is_ascii_digit() { 4 } else { 2 };
    }
    (outside, all)
}

/// Line numbers as a spreadsheet shows them. The CSV reader's own count is off after a
/// CRLF (as Excel on Windows ends lines) or a blank line: a record's position is where
/// the reader stood before the line ends ahead of it, and those it counts only later.
struct Lines<'t> {
    text: &'t [u8],
    /// Newlines before `at`.
    seen: usize,
    at: usize,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str) -> Self {
        Self {
            text: text.as_bytes(),
            seen: 0,
            at: 0,
        }
    }

    /// The line of the record the reader placed at byte `at` (records come in order).
    fn of_record_at(&mut self, at: usize) -> usize {
        let rest = self.text.get(at..).unwrap_or_default();
        let start = at
            + rest
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
        let start = start.max(self.at).min(self.text.len());
        self.seen += self.text[self.at..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.at = start;
        self.seen + 1
    }
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>> {
    let bad = |e: &dyn std::fmt::Display| {
        tracing::debug!(error = %e, "an unreadable workbook");
        ServiceError::because("file", Reason::NotAWorkbook)
    };
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).map_err(|e| bad(&e))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| ServiceError::because("file", Reason::NotAWorkbook))?
        .map_err(|e| bad(&e))?;
    let first_row = range.start().map_or(0, |(r, _)| r as usize);
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, row)| (first_row + i + 1, row.iter().map(cell_text).collect()))
        .collect())
}

/// A cell as text; dates become `YYYY-MM-DD`.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => excel_date(d.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.chars().take(10).collect(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// An Excel serial date (1900 system, day 60 being the fictitious 1900-02-29) as text.
fn excel_date(serial: f64) -> String {
    let base = time::macros::date!(1899 - 12 - 30);
    let days = serial.floor() as i64;
    base.checked_add(time::Duration::days(days))
        .map_or_else(|| serial.to_string(), |d| d.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_in_utf8_with_bom_and_in_gb18030_read_the_same() {
        let text = "志愿者编号,服务内容\n1234567890123,清扫\n\n,\n9876543210987,\"陪伴, 聊天\"\n";
        let utf8 = read_table(format!("\u{FEFF}{text}").as_bytes(), TableFormat::Csv).unwrap();
        let (gbk, _, _) = encoding_rs::GB18030.encode(text);
        let legacy = read_table(&gbk, TableFormat::Csv).unwrap();
        assert_eq!(utf8, legacy);
        assert_eq!(utf8.header, ["志愿者编号", "服务内容"]);
        assert_eq!(
            utf8.rows[1],
            (5, vec!["9876543210987".into(), "陪伴, 聊天".into()])
        );
    }

    /// A CSV saved by Excel in Hong Kong is Big5: its Traditional Chinese is read as such,
    /// not as the GB18030 characters the same bytes would also make. Mainland files in
    /// GB18030, with or without Traditional characters in them, stay GB18030.
    #[test]
    fn csv_in_big5_reads_as_traditional_chinese() {
        let hk = "志願者編號,活動名稱,服務時數（小時）,負責人\n1234567890123,關愛長者,2.5,陳大文\n";
        let (big5, _, unmappable) = encoding_rs::BIG5.encode(hk);
        assert!(!unmappable);
        let t = read_table(&big5, TableFormat::Csv).unwrap();
        assert_eq!(
            t.header,
            ["志願者編號", "活動名稱", "服務時數（小時）", "負責人"]
        );
        assert_eq!(t.rows[0].1[3], "陳大文");
        for mainland in [
            "志愿者编号,活动名称,负责人\n1234567890123,义务植树,陈志愿\n",
            "志愿者编号,活动名称,负责人\n1234567890123,關愛長者活动,陳大文\n",
        ] {
            let (gb, _, _) = encoding_rs::GB18030.encode(mainland);
            let t = read_table(&gb, TableFormat::Csv).unwrap();
            assert_eq!(t.rows[0].1.join(","), mainland.lines().nth(1).unwrap());
        }
    }

    /// Lines ended the Windows way (CRLF, as Excel writes them) are numbered as with LF:
    /// the row after the header is line 2, and a cell quoted over two lines counts both.
    #[test]
    fn csv_lines_are_numbered_alike_whatever_ends_them() {
        let text = "a,b\n1,x\n\n2,\"one\ntwo\"\n3,y\n";
        let lines = |text: &str| -> Vec<usize> {
            let table = read_table(text.as_bytes(), TableFormat::Csv).unwrap();
            table.rows.iter().map(|(line, _)| *line).collect()
        };
        assert_eq!(lines(text), [2, 4, 6]);
        assert_eq!(lines(&text.replace('\n', "\r\n")), [2, 4, 6]);
        assert_eq!(
            lines(&format!("\r\n\n{text}")),
            [4, 6, 8],
            "blank lines first"
        );
    }

    #[test]
    fn xlsx_cells_read_as_text_with_dates_as_iso() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "服务日期").unwrap();
        sheet.write_string(0, 1, "服务时长").unwrap();
        let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 11, 2).unwrap();
        let format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        sheet
            .write_datetime_with_format(1, 0, &date, &format)
            .unwrap();
        sheet.write_number(1, 1, 2.5).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let t = read_table(&bytes, TableFormat::Xlsx).unwrap();
        assert_eq!(
            t.rows,
            vec![(2, vec!["2026-11-02".to_owned(), "2.5".to_owned()])]
        );
    }

    #[test]
    fn broken_files_are_refused_with_a_reason() {
        assert!(read_table(b"", TableFormat::Csv).is_err());
        assert!(read_table(b"not a zip", TableFormat::Xlsx).is_err());
        assert!(read_table(&[0xff, 0xfe, 0x00, 0xd8], TableFormat::Csv).is_err());
    }
}

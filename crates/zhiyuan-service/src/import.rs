//! Reading uploaded tables (CSV or XLSX) into rows of text, each with the line number a
//! person sees in a spreadsheet, for row-by-row reports.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};

use crate::error::{Result, ServiceError};

/// The formats tables are uploaded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// UTF-8 (with or without BOM) or GB18030, as Excel writes it on Chinese systems.
    Csv,
    /// The first sheet of an Office Open XML workbook.
    Xlsx,
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
        .ok_or_else(|| ServiceError::invalid("file", "the file has no header row"))?;
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
            let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
            if had_errors {
                return Err(ServiceError::invalid(
                    "file",
                    "the file is neither UTF-8 nor GB18030 text",
                ));
            }
            text.into_owned()
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            ServiceError::invalid("file", format!("line {line}: not valid CSV ({e})"))
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        out.push((line, record.iter().map(str::to_owned).collect()));
    }
    Ok(out)
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>> {
    let bad = |e: &dyn std::fmt::Display| {
        ServiceError::invalid("file", format!("not a readable XLSX workbook ({e})"))
    };
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).map_err(|e| bad(&e))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| ServiceError::invalid("file", "the workbook has no sheet"))?
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

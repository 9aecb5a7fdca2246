//! Batch entry of service records from an uploaded table: the good rows land, each bad
//! row is reported with its line and reason, and re-uploading the same file adds nothing
//! twice (each row's content, under the team, is its dedupe key).

use std::collections::HashMap;

use rust_xlsxwriter::{
    DataValidation, DataValidationRule, Format, Formula, Workbook, XlsxError, column_number_to_name,
};
use sha2::{Digest, Sha256};
use time::{Date, Month};
use zhiyuan_domain::clock::china_date;
use zhiyuan_domain::hours::{HoursPolicy, hours};
use zhiyuan_domain::ids::{OrgId, VolunteerId};
use zhiyuan_domain::lang::Lang;
use zhiyuan_domain::site::parse_text;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_domain::{FieldError, Reason};
use zhiyuan_store::{BatchOutcome, NewRecord, RecordId, RecordSource, RecordStatus};

use crate::error::{Result, ServiceError, on_blocking_pool};
use crate::import::{Table, TableFormat, read_table};
use crate::{Ctx, Zhiyuan};

/// Most rows accepted in one upload.
pub const MAX_ROWS: usize = 100_000;

/// What happened to one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    Inserted(RecordId),
    /// The same row was recorded before (or earlier in this file).
    Duplicate,
    /// Refused: the field at fault and why, to be said in the reader's language.
    Invalid(FieldError),
}

/// The report of an upload, one entry per data row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub rows: Vec<(usize, RowOutcome)>,
    pub inserted: usize,
    pub duplicates: usize,
    pub invalid: usize,
}

/// A column of an upload. Its name is its English header; the template (see
/// [`record_template`]) heads it in the caller's language, and an upload may head it in any
/// of the three or with another name people write.
struct Column {
    name: &'static str,
    zh_hans: &'static str,
    zh_hk: &'static str,
    /// Other headers accepted.
    also: &'static [&'static str],
    /// A cell as one would fill it in, in Simplified Chinese, Hong Kong's Traditional
    /// Chinese and English (the template's instructions show it).
    example: [&'static str; 3],
    /// What its cells hold: how the template formats them, so that a spreadsheet keeps
    /// what is typed, and what it tells and checks as they are filled in.
    cells: Cells,
}

/// What a column's cells hold.
#[derive(Clone, Copy)]
enum Cells {
    /// A volunteer number, in a text cell: typed into a general cell, its 13 digits would
    /// be shown, and saved to CSV, as `4.34292E+12`.
    VolunteerNumber,
    /// Text of up to this many characters, required.
    Text(u32),
    /// The day of the service, not after today.
    Date,
    /// The time given (hours in the template, or minutes): more than none, within the
    /// daily cap.
    Time,
}

impl Column {
    /// Its header in each language, in the order of [`Lang::ALL`].
    fn headers(&self) -> [&'static str; 3] {
        [self.zh_hans, self.zh_hk, self.name]
    }

    fn header(&self, lang: Lang) -> &'static str {
        lang.pick(self.headers())
    }

    fn accepts(&self, header: &str) -> bool {
        self.headers()
            .iter()
            .chain(self.also)
            .any(|a| header.eq_ignore_ascii_case(a))
    }

    /// What the column's cells want, in `lang`: what the template's cells say when
    /// selected, and its instructions sheet.
    fn guidance(&self, lang: Lang, policy: HoursPolicy) -> String {
        match self.cells {
            Cells::VolunteerNumber => match lang {
                Lang::ZhHans => "志愿者登记时取得的13位编号".to_owned(),
                Lang::ZhHk => "志願者登記時取得的13位編號".to_owned(),
                Lang::En => "The volunteer's 13-digit number, given at registration".to_owned(),
            },
            Cells::Text(max) => match lang {
                Lang::ZhHans => format!("必填，不超过{max}个字"),
                Lang::ZhHk => format!("必填，不超過{max}個字"),
                Lang::En => format!("Required; at most {max} characters"),
            },
            Cells::Date => match lang {
                Lang::ZhHans => "服务当天的日期，如 2026-11-05，不晚于今天".to_owned(),
                Lang::ZhHk => "服務當日的日期，如 2026-11-05，不遲於今日".to_owned(),
                Lang::En => "The day of the service, e.g. 2026-11-05, not after today".to_owned(),
            },
            Cells::Time => {
                let hours = hours(policy.daily_cap_minutes);
                match lang {
                    Lang::ZhHans => {
                        format!("实际服务的小时数，如 2.5；每人每天最多 {hours} 小时")
                    }
                    Lang::ZhHk => format!("實際服務的時數，如 2.5；每人每日最多 {hours} 小時"),
                    Lang::En => format!(
                        "Hours actually given, e.g. 2.5; at most {hours} a day for one volunteer"
                    ),
                }
            }
        }
    }

    /// What a spreadsheet checks in this column's cells of the template (its column
    /// `col`), and says, in `lang`, when one is selected and when what is typed is refused.
    fn validation(
        &self,
        col: u16,
        lang: Lang,
        policy: HoursPolicy,
    ) -> std::result::Result<DataValidation, XlsxError> {
        // The column's cell in the first row below the header; the spreadsheet moves it
        // along with each cell checked.
        let cell = format!("{}2", column_number_to_name(col));
        let rule = match self.cells {
            Cells::VolunteerNumber => {
                DataValidation::new().allow_text_length(DataValidationRule::EqualTo(13))
            }
            Cells::Text(max) => {
                DataValidation::new().allow_text_length(DataValidationRule::Between(1, max))
            }
            Cells::Date => DataValidation::new().allow_custom(Formula::new(format!(
                "AND(ISNUMBER({cell}),{cell}<=TODAY())"
            ))),
            // As the upload counts it: hours to whole minutes, more than none, within the cap.
            Cells::Time => {
                let (cap, minutes) = (policy.daily_cap_minutes, format!("ROUND({cell}*60,0)"));
                DataValidation::new().allow_custom(Formula::new(format!(
                    "AND(ISNUMBER({cell}),{minutes}>=1,{minutes}<={cap})"
                )))
            }
        };
        let says = self.guidance(lang, policy);
        rule.set_input_title(self.header(lang))?
            .set_input_message(&says)?
            .set_error_title(self.header(lang))?
            .set_error_message(says)
    }
}

/// The columns of an upload; `hours` and `minutes` are alternatives (the template offers
/// hours).
const COLUMNS: [Column; 8] = [
    Column {
        name: "volunteer_number",
        zh_hans: "志愿者编号",
        zh_hk: "志願者編號",
        also: &["volunteer", "义工编号", "義工編號"],
        example: ["4401060000011", "4401060000011", "4401060000011"],
        cells: Cells::VolunteerNumber,
    },
    Column {
        name: "activity_name",
        zh_hans: "活动名称",
        zh_hk: "活動名稱",
        also: &[],
        example: ["社区环境清洁", "社區環境清潔", "Community clean-up"],
        cells: Cells::Text(100),
    },
    Column {
        name: "service_date",
        zh_hans: "服务日期",
        zh_hk: "服務日期",
        also: &["date"],
        example: ["2026-11-05", "2026-11-05", "2026-11-05"],
        cells: Cells::Date,
    },
    Column {
        name: "place",
        zh_hans: "服务地点",
        zh_hk: "服務地點",
        also: &[],
        example: ["华工社区中心广场", "南沙濱海公園", "Riverside Park"],
        cells: Cells::Text(200),
    },
    Column {
        name: "content",
        zh_hans: "服务内容",
        zh_hk: "服務內容",
        also: &[],
        example: ["清扫公共区域", "清理垃圾", "Litter picking"],
        cells: Cells::Text(500),
    },
    Column {
        name: "hours",
        zh_hans: "服务时长（小时）",
        zh_hk: "服務時數（小時）",
        also: &[
            "服务时长",
            "服务时长(小时)",
            "时长",
            "服務時數",
            "服務時數(小時)",
            "服務時長",
            "時數",
            "時長",
        ],
        example: ["2.5", "2.5", "2.5"],
        cells: Cells::Time,
    },
    Column {
        name: "minutes",
        zh_hans: "分钟",
        zh_hk: "分鐘",
        also: &[],
        example: ["150", "150", "150"],
        cells: Cells::Time,
    },
    Column {
        name: "responsible_person",
        zh_hans: "负责人",
        zh_hk: "負責人",
        also: &[],
        example: ["陈志愿", "黃主任", "Chan Tai Man"],
        cells: Cells::Text(50),
    },
];

/// Column names to their places in an upload's header row.
struct Columns(HashMap<&'static str, usize>);

impl Columns {
    fn find(header: &[String]) -> Result<Self> {
        let mut found = HashMap::new();
        for c in &COLUMNS {
            if let Some(i) = header.iter().position(|h| c.accepts(h)) {
                found.insert(c.name, i);
            }
        }
        // Each column the header lacks, as the template heads it; time is in hours or
        // minutes, and the template offers hours.
        let time = found.contains_key("hours") || found.contains_key("minutes");
        let missing: Vec<[&'static str; 3]> = template_columns()
            .filter(|c| match c.name {
                "hours" => !time,
                name => !found.contains_key(name),
            })
            .map(Column::headers)
            .collect();
        if !missing.is_empty() {
            return Err(ServiceError::because(
                "file",
                Reason::MissingColumns(missing),
            ));
        }
        Ok(Self(found))
    }

    fn get<'r>(&self, row: &'r [String], name: &str) -> &'r str {
        self.0
            .get(name)
            .and_then(|i| row.get(*i))
            .map_or("", |s| s.trim())
    }

    /// Text column `name` of `row`, within its length (the one the template states).
    fn text(&self, row: &[String], name: &'static str) -> std::result::Result<String, FieldError> {
        let max = COLUMNS.iter().find_map(|c| match c.cells {
            Cells::Text(max) if c.name == name => Some(max as usize),
            _ => None,
        });
        // A name that is not a text column's leaves no room: every row would say so.
        parse_text(self.get(row, name), max.unwrap_or(0)).map_err(|e| e.under(name))
    }
}

/// An empty table for batch entry, headed in `lang`: a workbook whose volunteer numbers
/// are text cells and dates date cells, or a CSV (UTF-8 with a byte-order mark, which
/// Excel needs to open Chinese text as UTF-8). Filled in, it uploads as it is. In the
/// workbook, selecting a cell says what its column wants, and a spreadsheet refuses what
/// the upload would (a number that is not 13 digits, text too long, a day after today,
/// time beyond `policy`'s daily cap) as it is typed, in `lang`.
pub(crate) fn record_template(
    lang: Lang,
    format: TableFormat,
    policy: HoursPolicy,
) -> Result<Vec<u8>> {
    match format {
        TableFormat::Csv => {
            let header: Vec<&str> = template_columns().map(|c| c.header(lang)).collect();
            Ok(format!("\u{FEFF}{}\r\n", header.join(",")).into_bytes())
        }
        TableFormat::Xlsx => record_workbook(lang, policy)
            .map_err(|e| ServiceError::Internal(format!("the template workbook: {e}").into())),
    }
}

/// The template's file name in `lang`, without its extension.
pub fn record_template_name(lang: Lang) -> &'static str {
    match lang {
        Lang::ZhHans => "志愿服务记录批量录入模板",
        Lang::ZhHk => "志願服務記錄批量錄入範本",
        Lang::En => "records-template",
    }
}

/// The file name, in `lang` and without its extension, of an upload's refused rows.
pub fn refused_rows_name(lang: Lang) -> &'static str {
    match lang {
        Lang::ZhHans => "未录入的记录",
        Lang::ZhHk => "未錄入的記錄",
        Lang::En => "refused-rows",
    }
}

/// The template's columns, in order: all but `minutes` (hours are offered).
fn template_columns() -> impl Iterator<Item = &'static Column> {
    COLUMNS.iter().filter(|c| c.name != "minutes")
}

/// The name of the template's sheet of records, in `lang`.
fn records_sheet(lang: Lang) -> &'static str {
    match lang {
        Lang::ZhHans => "志愿服务记录",
        Lang::ZhHk => "志願服務記錄",
        Lang::En => "Records",
    }
}

fn record_workbook(lang: Lang, policy: HoursPolicy) -> std::result::Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet().set_name(records_sheet(lang))?;
    let bold = Format::new().set_bold();
    for (i, c) in template_columns().enumerate() {
        let col = i as u16;
        let (cells, width) = match c.cells {
            // Excel's own Text format (built-in 49, `@`).
            Cells::VolunteerNumber | Cells::Text(_) => (Format::new().set_num_format_index(49), 24),
            Cells::Date => (Format::new().set_num_format("yyyy-mm-dd"), 14),
            Cells::Time => (Format::new().set_num_format("0.0#"), 16),
        };
        sheet.write_string_with_format(0, col, c.header(lang), &bold)?;
        sheet.set_column_width(col, width)?;
        sheet.set_column_format(col, &cells)?;
        // The rows an upload may hold, below the header.
        let checks = c.validation(col, lang, policy)?;
        sheet.add_data_validation(1, col, MAX_ROWS as u32, col, &checks)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    instructions(book.add_worksheet(), lang, policy, &bold)?;
    book.save_to_buffer()
}

/// The template's second sheet: each column, what it wants and an example, then how an
/// upload goes. An upload reads the first sheet only.
fn instructions(
    sheet: &mut rust_xlsxwriter::Worksheet,
    lang: Lang,
    policy: HoursPolicy,
    bold: &Format,
) -> std::result::Result<(), XlsxError> {
    let cap = hours(policy.daily_cap_minutes);
    let header = |name: &'static str| {
        COLUMNS
            .iter()
            .find(|c| c.name == name)
            .map_or(name, |c| c.header(lang))
    };
    let (hours, minutes) = (header("hours"), header("minutes"));
    sheet.set_name(lang.pick(["填写说明", "填寫說明", "How to fill in"]))?;
    sheet.set_column_width(0, 20)?;
    sheet.set_column_width(1, 60)?;
    sheet.set_column_width(2, 20)?;
    for (col, words) in [
        ["列名", "欄名", "Column"],
        ["填写要求", "填寫要求", "What it holds"],
        ["示例", "示例", "Example"],
    ]
    .into_iter()
    .enumerate()
    {
        sheet.write_string_with_format(0, col as u16, lang.pick(words), bold)?;
    }
    let mut row = 1;
    for c in template_columns() {
        sheet.write_string(row, 0, c.header(lang))?;
        sheet.write_string(row, 1, c.guidance(lang, policy))?;
        sheet.write_string(row, 2, lang.pick(c.example))?;
        row += 1;
    }
    let notes = [
        match lang {
            Lang::ZhHans => format!(
                "在“{}”工作表中每行填写一条记录，第一行的列名请勿更改。",
                records_sheet(lang)
            ),
            Lang::ZhHk => format!(
                "在「{}」工作表中每行填寫一項紀錄，第一行的欄名請勿更改。",
                records_sheet(lang)
            ),
            Lang::En => format!(
                "On the {} sheet, one record per row; keep the first row's headers.",
                records_sheet(lang)
            ),
        },
        match lang {
            Lang::ZhHans => format!(
                "每位志愿者每天最多计入 {cap} 小时，已录入的时长一并计算。\
                 也可把“{hours}”列换成“{minutes}”列，填写整数分钟，如 150。"
            ),
            Lang::ZhHk => format!(
                "每位志願者每日最多計入 {cap} 小時，已錄入的時數一併計算。\
                 亦可把「{hours}」欄換成「{minutes}」欄，填寫整數分鐘，如 150。"
            ),
            Lang::En => format!(
                "At most {cap} hours a day count for one volunteer, with those already \
                 recorded. The {hours} column may be replaced by a {minutes} column of whole \
                 minutes, e.g. 150."
            ),
        },
        match lang {
            Lang::ZhHans => {
                "有误的行不录入，其余照常录入；结果逐行说明原因，也可下载未录入的记录，改正后重新上传。"
                    .to_owned()
            }
            Lang::ZhHk => {
                "有誤的行不錄入，其餘照常錄入；結果逐行說明原因，亦可下載未錄入的紀錄，改正後重新上載。"
                    .to_owned()
            }
            Lang::En => "Rows with mistakes are not recorded and the rest are; the result \
                         gives each row's reason, and the refused rows can be downloaded, \
                         fixed and uploaded again."
                .to_owned(),
        },
        match lang {
            Lang::ZhHans => "同一文件重复上传，已录入的记录不会重复计入。".to_owned(),
            Lang::ZhHk => "同一檔案重複上載，已錄入的紀錄不會重複計入。".to_owned(),
            Lang::En => "Uploading the same file again records nothing twice.".to_owned(),
        },
    ];
    row += 1;
    for (i, note) in notes.iter().enumerate() {
        sheet.write_string(row, 0, format!("{}. {note}", i + 1))?;
        row += 1;
    }
    Ok(())
}

/// The two columns a table of refused rows adds: the row's line in the upload, and why it
/// was refused. An upload ignores them (they are no column of [`COLUMNS`]), and a table of
/// refused rows uploaded and refused again has them once, anew.
const LINE_AND_REASON: [[&str; 3]; 2] = [["原行号", "原行號", "line"], ["原因", "原因", "reason"]];

/// The rows of an upload (`file`, in `uploaded`) that `refused` names by line, as a table
/// in `format` to fix and upload again: each row as it was sent, under the header it was
/// sent with, then its line in the upload and why, in `lang`, beginning with the column at
/// fault as the upload headed it.
fn refused_table(
    file: &[u8],
    uploaded: TableFormat,
    refused: &HashMap<usize, FieldError>,
    lang: Lang,
    format: TableFormat,
) -> Result<Vec<u8>> {
    let table = read_table(file, uploaded)?;
    let cols = Columns::find(&table.header)?;
    // The upload's columns, but those a table of refused rows added.
    let kept: Vec<usize> = (0..table.header.len())
        .filter(|i| {
            let h = table.header[*i].trim();
            !LINE_AND_REASON
                .iter()
                .flatten()
                .any(|w| h.eq_ignore_ascii_case(w))
        })
        .collect();
    let column_of = |field: &str| {
        // A day over the cap is refused on `minutes`, which an upload in hours lacks.
        let at = cols.0.get(field).or_else(|| match field {
            "minutes" => cols.0.get("hours"),
            _ => None,
        });
        at.map_or(field, |i| table.header[*i].trim()).to_owned()
    };
    let header: Vec<String> = kept
        .iter()
        .map(|i| table.header[*i].clone())
        .chain(LINE_AND_REASON.map(|w| lang.pick(w).to_owned()))
        .collect();
    let colon = match lang {
        Lang::En => ": ",
        Lang::ZhHans | Lang::ZhHk => "：",
    };
    let rows: Vec<Vec<String>> = table
        .rows
        .iter()
        .filter_map(|(line, cells)| {
            let why = refused.get(line)?;
            let cells = kept
                .iter()
                .map(|i| cells.get(*i).cloned().unwrap_or_default());
            let reason = format!("{}{colon}{}", column_of(&why.field), why.say(lang));
            Some(cells.chain([line.to_string(), reason]).collect())
        })
        .collect();
    let written = match format {
        TableFormat::Csv => refused_csv(&header, &rows),
        TableFormat::Xlsx => refused_workbook(&header, &rows).map_err(|e| e.to_string()),
    };
    written.map_err(|e| ServiceError::Internal(format!("the refused rows: {e}").into()))
}

/// A CSV as Excel opens it: UTF-8 with a byte-order mark, lines ending in CRLF.
fn refused_csv(header: &[String], rows: &[Vec<String>]) -> std::result::Result<Vec<u8>, String> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer("\u{FEFF}".as_bytes().to_vec());
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        out.write_record(row).map_err(|e| e.to_string())?;
    }
    out.into_inner().map_err(|e| e.to_string())
}

/// A workbook of text cells (a volunteer number stays 13 digits, a date as written).
fn refused_workbook(
    header: &[String],
    rows: &[Vec<String>],
) -> std::result::Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format_index(49);
    for (col, name) in header.iter().enumerate() {
        let col = col as u16;
        sheet.write_string_with_format(0, col, name, &bold)?;
        sheet.set_column_width(col, 18)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (col, cell) in row.iter().enumerate() {
            sheet.write_string_with_format(r as u32 + 1, col as u16, cell, &text)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    book.save_to_buffer()
}

/// One row, parsed.
struct Row {
    number: VolunteerNumber,
    record: NewRecord,
}

/// A date as spreadsheets in China write it: `2026-11-05`, `2026/11/5` (what Excel writes
/// to CSV under a Chinese locale), `2026.11.5` or `2026年11月5日`, the month and day with or
/// without a leading zero. The record keeps the date itself, so the same day written two
/// ways is the same row.
fn parse_table_date(input: &str) -> std::result::Result<Date, FieldError> {
    let invalid = || FieldError::because("", Reason::NotADate);
    let text = input.trim();
    let (year, month, day) = if let Some((year, rest)) = text.split_once('年') {
        let (month, day) = rest.split_once('月').ok_or_else(invalid)?;
        (year, month, day.strip_suffix('日').ok_or_else(invalid)?)
    } else {
        let separator = text
            .chars()
            .find(|c| matches!(c, '-' | '/' | '.'))
            .ok_or_else(invalid)?;
        let mut parts = text.split(separator);
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(year), Some(month), Some(day), None) => (year, month, day),
            _ => return Err(invalid()),
        }
    };
    let number = |part: &str, digits: std::ops::RangeInclusive<usize>| {
        if digits.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse::<u16>().map_err(|_| invalid())
        } else {
            Err(invalid())
        }
    };
    let month = Month::try_from(number(month, 1..=2)? as u8).map_err(|_| invalid())?;
    Date::from_calendar_date(
        i32::from(number(year, 4..=4)?),
        month,
        number(day, 1..=2)? as u8,
    )
    .map_err(|_| invalid())
}

/// `text` without a trailing unit from `units`, as people type `2小时` or `90分钟`.
fn without_unit<'t>(text: &'t str, units: &[&str]) -> &'t str {
    units
        .iter()
        .find_map(|unit| text.strip_suffix(unit))
        .unwrap_or(text)
        .trim_end()
}

/// The row's time: its minutes, else its hours (a number, `2.5` or `2.5小时`).
fn minutes_of(cols: &Columns, row: &[String]) -> std::result::Result<i64, FieldError> {
    let minutes = cols.get(row, "minutes");
    if !minutes.is_empty() {
        return without_unit(minutes, &["分钟", "分鐘", "分", "min"])
            .parse::<i64>()
            .map_err(|_| FieldError::because("minutes", Reason::NotMinutes));
    }
    let hours: f64 = without_unit(cols.get(row, "hours"), &["小时", "小時", "h", "H"])
        .parse()
        .map_err(|_| FieldError::because("hours", Reason::NotHours))?;
    if !hours.is_finite() {
        return Err(FieldError::because("hours", Reason::NotHours));
    }
    Ok((hours * 60.0).round() as i64)
}

/// The dedupe key of an uploaded row: `batch:{date}:{team}:` and 32 hex digits (128 bits)
/// of a SHA-256 over the team, the volunteer's number, the date and the row's other `facts`
/// (in this order, as keys have always been hashed). Keys begin with the date so that an
/// upload's keys, which are about recent days, go to one end of the key index instead of
/// all over it: a hash alone made every upload write pages across the whole index, slower
/// the more had been uploaded before. (Keys were once `batch:` and all 64 digits;
/// migration 0018 rewrote them into this form.)
fn entry_key(org: OrgId, number: VolunteerNumber, date: Date, facts: &[&str]) -> String {
    let (org, number, date) = (org.0.to_string(), number.to_string(), date.to_string());
    let mut h = Sha256::new();
    for part in [org.as_str(), &number, &date]
        .into_iter()
        .chain(facts.iter().copied())
    {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    let digest = format!("{:x}", h.finalize());
    format!("batch:{date}:{org}:{}", &digest[..32])
}

fn parse_row(
    cols: &Columns,
    row: &[String],
    org: OrgId,
    ctx: &Ctx,
) -> std::result::Result<Row, FieldError> {
    let at = |f: &'static str| move |e: FieldError| e.under(f);
    let number = VolunteerNumber::parse(cols.get(row, "volunteer_number"))
        .map_err(at("volunteer_number"))?;
    let activity_name = cols.text(row, "activity_name")?;
    let service_date =
        parse_table_date(cols.get(row, "service_date")).map_err(at("service_date"))?;
    if service_date > china_date(ctx.now) {
        return Err(FieldError::because("service_date", Reason::InTheFuture));
    }
    let place = cols.text(row, "place")?;
    let content = cols.text(row, "content")?;
    let responsible_person = cols.text(row, "responsible_person")?;
    let minutes = minutes_of(cols, row)?;
    let key = entry_key(
        org,
        number,
        service_date,
        &[
            &activity_name,
            &place,
            &content,
            &minutes.to_string(),
            &responsible_person,
        ],
    );
    Ok(Row {
        number,
        record: NewRecord {
            volunteer: VolunteerId(0),
            org,
            project: None,
            shift: None,
            activity_name,
            service_date,
            place,
            content,
            minutes,
            responsible_person,
            source: RecordSource::Entry,
            status: RecordStatus::Effective,
            flags: vec![],
            dedupe_key: Some(key),
            created_at: ctx.now,
            created_by: ctx.account(),
        },
    })
}

/// The rows of an uploaded table read: each line with the outcome of the rows refused, and
/// the rows that parsed by their index among the lines.
type ParsedRows = (Vec<(usize, Option<RowOutcome>)>, Vec<(usize, Row)>);

/// An uploaded table read: its rows, where its columns are, and the volunteer numbers its
/// rows give, to be looked up while the rows are parsed.
struct Upload {
    table: Table,
    cols: Columns,
    numbers: Vec<VolunteerNumber>,
}

/// Reads the table in `file`: refused whole when it holds more rows than an upload may, or
/// lacks a column.
fn read_upload(file: &[u8], format: TableFormat) -> Result<Upload> {
    let table = read_table(file, format)?;
    if table.rows.len() > MAX_ROWS {
        return Err(ServiceError::because(
            "file",
            Reason::TooManyRows { max: MAX_ROWS },
        ));
    }
    let cols = Columns::find(&table.header)?;
    let numbers = table
        .rows
        .iter()
        .filter_map(|(_, cells)| VolunteerNumber::parse(cols.get(cells, "volunteer_number")).ok())
        .collect();
    Ok(Upload {
        table,
        cols,
        numbers,
    })
}

/// Parses the rows of `upload` for team `org`, as `ctx` enters them.
fn parse_rows(upload: &Upload, org: OrgId, ctx: &Ctx, policy: HoursPolicy) -> ParsedRows {
    let rows = &upload.table.rows;
    let mut outcomes: Vec<(usize, Option<RowOutcome>)> = Vec::with_capacity(rows.len());
    let mut parsed: Vec<(usize, Row)> = Vec::new();
    for (i, (line, cells)) in rows.iter().enumerate() {
        match parse_row(&upload.cols, cells, org, ctx).and_then(|r| {
            policy.check_entered(r.record.minutes)?;
            Ok(r)
        }) {
            Ok(row) => {
                outcomes.push((*line, None));
                parsed.push((i, row));
            }
            Err(e) => outcomes.push((*line, Some(RowOutcome::Invalid(e)))),
        }
    }
    (outcomes, parsed)
}

/// Reads the table in `file` and parses its rows for team `org`, as `ctx` enters them.
#[cfg(test)]
fn read_rows(
    file: &[u8],
    format: TableFormat,
    org: OrgId,
    ctx: &Ctx,
    policy: HoursPolicy,
) -> Result<ParsedRows> {
    read_upload(file, format).map(|upload| parse_rows(&upload, org, ctx, policy))
}

impl Zhiyuan {
    /// The table for batch entry in `format`, headed and explained in `lang`, its time
    /// checked against this platform's daily cap (see [`record_template`]).
    pub fn record_template(&self, lang: Lang, format: TableFormat) -> Result<Vec<u8>> {
        record_template(lang, format, self.0.config.hours)
    }

    /// The rows of an upload (`file`, in `uploaded`) that its `report` refused, as a table
    /// in `format` to fix and upload again as it is: each row as it was sent, then its line
    /// in the upload and why, in `lang`. Reads the file again, on the blocking pool.
    pub async fn refused_rows(
        &self,
        file: impl AsRef<[u8]> + Send + 'static,
        uploaded: TableFormat,
        report: &BatchReport,
        lang: Lang,
        format: TableFormat,
    ) -> Result<Vec<u8>> {
        let refused: HashMap<usize, FieldError> = report
            .rows
            .iter()
            .filter_map(|(line, outcome)| match outcome {
                RowOutcome::Invalid(why) => Some((*line, why.clone())),
                _ => None,
            })
            .collect();
        on_blocking_pool(move || refused_table(file.as_ref(), uploaded, &refused, lang, format))
            .await
    }

    /// Enters the records of an uploaded table (`file`, a CSV or XLSX) for team `org`. The
    /// caller's right is checked before the file is read, and the file is read on the
    /// blocking pool: 100,000 rows take a few tenths of a second of CPU (a large workbook,
    /// longer), which would otherwise hold an async worker. Its volunteers are looked up
    /// while its rows are parsed, on the other core.
    pub async fn enter_batch(
        &self,
        ctx: &Ctx,
        org: OrgId,
        file: impl AsRef<[u8]> + Send + 'static,
        format: TableFormat,
    ) -> Result<BatchReport> {
        let started = std::time::Instant::now();
        let o = self.load_org_record(org).await?;
        ctx.require(|p| p.can_run_projects(&o.facts()))?;
        let policy = self.0.config.hours;
        let mut upload = on_blocking_pool(move || read_upload(file.as_ref(), format)).await?;
        // Volunteers (and, in the store, what each day already holds) are looked up once
        // for the whole file.
        let numbers = std::mem::take(&mut upload.numbers);
        let reader = ctx.clone();
        let ((mut outcomes, parsed), ids) = tokio::try_join!(
            on_blocking_pool(move || Ok(parse_rows(&upload, org, &reader, policy))),
            async { Ok(self.0.store.volunteer_ids(&numbers).await?) },
        )?;
        let row_count = outcomes.len();
        let mut valid: Vec<(usize, NewRecord)> = Vec::with_capacity(parsed.len());
        for (i, mut row) in parsed {
            match ids.get(&row.number) {
                Some(id) => {
                    row.record.volunteer = *id;
                    valid.push((i, row.record));
                }
                None => {
                    outcomes[i].1 = Some(RowOutcome::Invalid(FieldError::because(
                        "volunteer_number",
                        Reason::NoSuchVolunteer,
                    )));
                }
            }
        }
        // A row repeated in the file is recorded once. Whether each row fits under the
        // daily cap is decided by the store, in the write's own transaction.
        let first: Vec<bool> = {
            let mut seen = std::collections::HashSet::with_capacity(valid.len());
            valid
                .iter()
                .map(|(_, r)| seen.insert(r.dedupe_key.as_deref().unwrap_or_default()))
                .collect()
        };
        let mut accepted: Vec<(usize, NewRecord)> = Vec::with_capacity(valid.len());
        for ((i, r), first) in valid.into_iter().zip(first) {
            match first {
                true => accepted.push((i, r)),
                false => outcomes[i].1 = Some(RowOutcome::Duplicate),
            }
        }
        // Written by volunteer and day: the indexes by volunteer then take the rows in one
        // sweep instead of at random pages. Each row keeps its line for the report.
        accepted.sort_by_key(|(_, r)| (r.volunteer, r.service_date));
        let (lines, records): (Vec<(usize, Date)>, Vec<NewRecord>) = accepted
            .into_iter()
            .map(|(i, r)| ((i, r.service_date), r))
            .unzip();
        let mut audit = ctx.audit("record.batch", "organisation", org.0, Some(o.org.region));
        audit.details = serde_json::json!({ "rows": row_count, "accepted": records.len() });
        let writing = std::time::Instant::now();
        let results = if records.is_empty() {
            Vec::new()
        } else {
            let cap = Some(self.day_cap());
            self.0.store.insert_records(records, cap, &audit).await?
        };
        let written = writing.elapsed();
        for ((i, day), result) in lines.into_iter().zip(results) {
            outcomes[i].1 = Some(match result {
                BatchOutcome::Inserted(id) => RowOutcome::Inserted(id),
                BatchOutcome::Duplicate => RowOutcome::Duplicate,
                BatchOutcome::OverCap => RowOutcome::Invalid(FieldError::because(
                    "minutes",
                    Reason::DayOverCap {
                        day,
                        cap_minutes: policy.daily_cap_minutes,
                    },
                )),
            });
        }
        let mut report = BatchReport::default();
        for (line, outcome) in outcomes {
            // Every row was judged above; a row without an outcome would be a bug here.
            let outcome = outcome.ok_or_else(|| {
                ServiceError::Internal(format!("batch row on line {line} has no outcome").into())
            })?;
            match &outcome {
                RowOutcome::Inserted(_) => report.inserted += 1,
                RowOutcome::Duplicate => report.duplicates += 1,
                RowOutcome::Invalid(_) => report.invalid += 1,
            }
            report.rows.push((line, outcome));
        }
        tracing::info!(
            organisation = org.0,
            inserted = report.inserted,
            duplicates = report.duplicates,
            invalid = report.invalid,
            ms = started.elapsed().as_millis() as u64,
            store_ms = written.as_millis() as u64,
            "batch entry"
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use sha2::{Digest, Sha256};
    use zhiyuan_domain::ids::OrgId;
    use zhiyuan_domain::volunteer_number::VolunteerNumber;

    use super::{
        Columns, MAX_ROWS, Reason, entry_key, minutes_of, parse_row, parse_table_date, read_rows,
        record_template, template_columns,
    };
    use crate::Ctx;
    use crate::import::{TableFormat, read_table};
    use zhiyuan_domain::hours::HoursPolicy;
    use zhiyuan_domain::lang::Lang;

    /// The template, in every language and both formats, reads back as an empty table
    /// whose header the upload recognises, headed in that language.
    #[test]
    fn every_template_uploads_as_it_is_headed_in_its_language() {
        for lang in Lang::ALL {
            for format in [TableFormat::Csv, TableFormat::Xlsx] {
                let bytes = record_template(lang, format, HoursPolicy::default()).unwrap();
                let table = read_table(&bytes, format).unwrap();
                assert!(table.rows.is_empty(), "{lang:?} {format:?}");
                let cols = Columns::find(&table.header).unwrap();
                assert_eq!(cols.0.len(), 7, "{lang:?} {format:?}: {:?}", table.header);
                let (first, hours) = (&table.header[0], &table.header[5]);
                match lang {
                    Lang::ZhHans => {
                        assert_eq!((&**first, &**hours), ("志愿者编号", "服务时长（小时）"))
                    }
                    Lang::ZhHk => {
                        assert_eq!((&**first, &**hours), ("志願者編號", "服務時數（小時）"))
                    }
                    Lang::En => assert_eq!((&**first, &**hours), ("volunteer_number", "hours")),
                }
            }
        }
        let csv = record_template(Lang::ZhHans, TableFormat::Csv, HoursPolicy::default()).unwrap();
        assert!(
            csv.starts_with(b"\xEF\xBB\xBF"),
            "Excel needs the BOM to read UTF-8"
        );
    }

    /// Headers as people in Hong Kong and Macao write them are recognised, whatever the
    /// template said.
    #[test]
    fn traditional_chinese_headers_are_recognised() {
        let header = [
            "義工編號",
            "活動名稱",
            "服務日期",
            "服務地點",
            "服務內容",
            "服務時數",
            "負責人",
        ]
        .map(String::from);
        let cols = Columns::find(&header).unwrap();
        assert_eq!(cols.0.get("volunteer_number"), Some(&0));
        assert_eq!(cols.0.get("hours"), Some(&5));
        assert_eq!(cols.0.get("responsible_person"), Some(&6));
    }

    /// In the workbook, the volunteer number's column is formatted as text (built-in
    /// number format 49, `@`), so that Excel keeps all 13 digits instead of `4.34292E+12`,
    /// and the date's column as a date.
    #[test]
    fn the_template_workbook_keeps_volunteer_numbers_as_text() {
        let bytes = record_template(Lang::ZhHans, TableFormat::Xlsx, HoursPolicy::default());
        let [sheet, styles] = parts(
            &bytes.unwrap(),
            ["xl/worksheets/sheet1.xml", "xl/styles.xml"],
        );
        // Columns alike are written as one range: `<col min="1" max="2" … style="2"/>`.
        let attr = |tag: &str, name: &str| -> usize {
            let tag = format!(" {tag}");
            let rest = &tag[tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        };
        let style_of = |col: usize| -> usize {
            sheet
                .split("<col ")
                .skip(1)
                .find(|tag| (attr(tag, "min")..=attr(tag, "max")).contains(&col))
                .map(|tag| attr(tag, "style"))
                .unwrap_or_else(|| panic!("column {col}: {sheet}"))
        };
        let xfs = &styles[styles.find("<cellXfs").unwrap()..];
        let xf = |i: usize| format!(" {}", xfs.split("<xf ").nth(i + 1).unwrap());
        // The format a column's cells take: built-in 49 is Text; others are declared.
        let format_of = |col: &str| -> String {
            let col = template_columns().position(|c| c.name == col).unwrap() + 1;
            let id = attr(&xf(style_of(col)), "numFmtId");
            if id == 49 {
                return "@".into();
            }
            let declared = format!("<numFmt numFmtId=\"{id}\" formatCode=\"");
            let rest = &styles[styles.find(&declared).unwrap() + declared.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        };
        assert_eq!(format_of("volunteer_number"), "@");
        assert_eq!(
            format_of("place"),
            "@",
            "free text is not turned into dates"
        );
        assert_eq!(format_of("service_date"), "yyyy-mm-dd");
        assert_eq!(format_of("hours"), "0.0#");
        assert_eq!(format_of("responsible_person"), "@");
    }

    /// The text of the named parts of a workbook.
    fn parts<const N: usize>(book: &[u8], names: [&str; N]) -> [String; N] {
        use std::io::Read;
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(book)).unwrap();
        names.map(|name| {
            let mut text = String::new();
            zip.by_name(name)
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            text
        })
    }

    /// Each column of the workbook, down to the last row an upload may hold, checks what
    /// is typed as the upload would and says what it wants when a cell is selected, in the
    /// caller's language: 13 characters for a volunteer number, text within the length
    /// the upload accepts, a day not after today, hours that come to at least a minute
    /// and no more than this platform's daily cap.
    #[test]
    fn the_template_workbook_checks_each_column_as_the_upload_does() {
        let policy = HoursPolicy {
            daily_cap_minutes: 8 * 60,
            ..HoursPolicy::default()
        };
        let book = record_template(Lang::ZhHk, TableFormat::Xlsx, policy).unwrap();
        let [sheet] = parts(&book, ["xl/worksheets/sheet1.xml"]);
        let checks: Vec<&str> = sheet.split("<dataValidation ").skip(1).collect();
        assert_eq!(checks.len(), 7, "{sheet}");
        let check = |col: char| -> &str {
            let range = format!("sqref=\"{col}2:{col}100001\"");
            checks
                .iter()
                .find(|c| c.contains(&range))
                .unwrap_or_else(|| panic!("{col}: {sheet}"))
        };
        let has = |col: char, parts: &[&str]| {
            let c = check(col);
            for part in parts {
                assert!(c.contains(part), "{col} lacks {part}: {c}");
            }
        };
        has(
            'A',
            &[
                "type=\"textLength\"",
                "operator=\"equal\"",
                "<formula1>13</formula1>",
                "promptTitle=\"志願者編號\"",
                "13位編號",
            ],
        );
        has(
            'B',
            &[
                "type=\"textLength\"",
                "<formula1>1</formula1><formula2>100</formula2>",
                "不超過100個字",
            ],
        );
        has(
            'C',
            &[
                "type=\"custom\"",
                "<formula1>AND(ISNUMBER(C2),C2&lt;=TODAY())</formula1>",
                "不遲於今日",
            ],
        );
        has('E', &["<formula2>500</formula2>"]);
        has(
            'F',
            &[
                "<formula1>AND(ISNUMBER(F2),ROUND(F2*60,0)&gt;=1,ROUND(F2*60,0)&lt;=480)</formula1>",
                "每日最多 8 小時",
            ],
        );
        has('G', &["<formula2>50</formula2>", "promptTitle=\"負責人\""]);

        let en = record_template(Lang::En, TableFormat::Xlsx, policy).unwrap();
        let [sheet] = parts(&en, ["xl/worksheets/sheet1.xml"]);
        assert!(
            sheet.contains("at most 8 a day for one volunteer"),
            "{sheet}"
        );
    }

    /// The workbook's second sheet, named in the caller's language, lists each column
    /// with what it wants and an example, then how an upload goes (the daily cap
    /// included); the examples, as a row under the template's header, upload as they are.
    #[test]
    fn the_template_explains_each_column_with_an_example_that_uploads() {
        use calamine::{Reader, Xlsx};
        let policy = HoursPolicy {
            daily_cap_minutes: 8 * 60,
            ..HoursPolicy::default()
        };
        for (lang, name, first) in [
            (Lang::ZhHans, "填写说明", "志愿者编号"),
            (Lang::ZhHk, "填寫說明", "志願者編號"),
            (Lang::En, "How to fill in", "volunteer_number"),
        ] {
            let bytes = record_template(lang, TableFormat::Xlsx, policy).unwrap();
            let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
            let sheet = book.worksheet_range(name).unwrap();
            let cell = |row: u32, col: u32| {
                sheet
                    .get_value((row, col))
                    .map(ToString::to_string)
                    .unwrap_or_default()
            };
            assert_eq!(cell(1, 0), first, "{lang:?}");
            let columns: Vec<_> = template_columns().collect();
            let mut example = Vec::new();
            for (i, c) in columns.iter().enumerate() {
                let row = i as u32 + 1;
                assert_eq!(cell(row, 0), c.header(lang), "{lang:?}");
                assert_eq!(cell(row, 1), c.guidance(lang, policy), "{lang:?}");
                example.push(cell(row, 2));
            }
            let notes: String = (columns.len() as u32 + 2..columns.len() as u32 + 6)
                .map(|row| cell(row, 0))
                .collect();
            assert!(
                notes.contains(" 8 "),
                "{lang:?}: the cap of 8 hours: {notes}"
            );

            let header: Vec<String> = columns.iter().map(|c| c.header(lang).to_owned()).collect();
            let cols = Columns::find(&header).unwrap();
            let row = parse_row(&cols, &example, OrgId(1), &Ctx::system("test"));
            let row = row.unwrap_or_else(|e| panic!("{lang:?}: {e}"));
            assert_eq!(
                (row.number.to_string(), row.record.minutes),
                ("4401060000011".to_owned(), 150),
                "{lang:?}"
            );
        }
    }

    /// A table of more rows than one upload holds is refused whole, saying the most.
    #[test]
    fn an_upload_of_more_rows_than_allowed_is_refused_whole() {
        let mut csv = String::from("志愿者编号,活动名称,服务日期,服务地点,服务内容,分钟,负责人\n");
        for _ in 0..=MAX_ROWS {
            csv.push_str("4401060000011,植树,2026-11-05,白云山,植树,60,陈志愿\n");
        }
        let refused = read_rows(
            csv.as_bytes(),
            TableFormat::Csv,
            OrgId(1),
            &Ctx::system("test"),
            HoursPolicy::default(),
        );
        match refused {
            Err(crate::ServiceError::Invalid(e)) => assert_eq!(
                (e.0[0].field.as_str(), e.0[0].why.clone()),
                ("file", Some(Reason::TooManyRows { max: MAX_ROWS }))
            ),
            other => panic!("{:?}", other.map(|(rows, _)| rows.len())),
        }
    }

    /// The lengths the template states are the ones an upload holds text to.
    #[test]
    fn uploaded_text_is_held_to_the_lengths_the_template_states() {
        let header = template_columns()
            .map(|c| c.name.to_owned())
            .collect::<Vec<_>>();
        let cols = Columns::find(&header).unwrap();
        for (name, max) in [
            ("activity_name", 100),
            ("place", 200),
            ("content", 500),
            ("responsible_person", 50),
        ] {
            let mut row = vec![String::new(); header.len()];
            let at = header.iter().position(|h| h == name).unwrap();
            row[at] = "长".repeat(max);
            assert_eq!(
                cols.text(&row, name).map(|t| t.chars().count()),
                Ok(max),
                "{name}"
            );
            row[at].push('长');
            let refused = cols.text(&row, name).unwrap_err();
            assert_eq!(
                (refused.field.as_str(), refused.why),
                (name, Some(Reason::TooLong { max }))
            );
            row[at].clear();
            let refused = cols.text(&row, name).unwrap_err();
            assert_eq!(
                (refused.field.as_str(), refused.why),
                (name, Some(Reason::Required))
            );
        }
    }

    /// Keys begin with the date and the team, and keep the hash of keys made before
    /// (`batch:` and 64 hex digits), cut to 32 digits: migration 0018 rewrites stored keys
    /// the same way, so a row uploaded before the change is still a duplicate after it.
    #[test]
    fn an_entry_key_is_the_date_the_team_and_the_hash_keys_always_had() {
        let number = VolunteerNumber::from_index(1, 42);
        let facts = ["社区服务", "社区活动中心", "协助活动", "120", "张三"];
        let mut h = Sha256::new();
        for part in ["7", &number.to_string(), "2026-11-05"]
            .into_iter()
            .chain(facts)
        {
            h.update(part.as_bytes());
            h.update([0x1f]);
        }
        let before = format!("batch:{:x}", h.finalize());
        assert_eq!(before.len(), 70);
        let key = entry_key(OrgId(7), number, date!(2026 - 11 - 05), &facts);
        assert_eq!(key, format!("batch:2026-11-05:7:{}", &before[6..38]));
        let other_day = entry_key(OrgId(7), number, date!(2026 - 11 - 06), &facts);
        let digits = |k: &str| k.rsplit(':').next().map(str::to_owned);
        assert_ne!(digits(&other_day), digits(&key), "the hash covers the date");
    }

    #[test]
    fn time_is_read_with_or_without_its_unit() {
        let header = |time: &str| {
            [
                "volunteer_number",
                "activity_name",
                "service_date",
                "place",
                "content",
                "responsible_person",
                time,
            ]
            .map(String::from)
        };
        let (hours, minutes) = (
            Columns::find(&header("hours")).unwrap(),
            Columns::find(&header("minutes")).unwrap(),
        );
        let row = |time: &str| {
            [""; 6]
                .map(String::from)
                .into_iter()
                .chain([time.into()])
                .collect::<Vec<_>>()
        };
        for (written, expected) in [
            ("2.5", 150),
            ("2.5小时", 150),
            ("2.5 小时", 150),
            ("2.5小時", 150),
            ("3h", 180),
        ] {
            assert_eq!(minutes_of(&hours, &row(written)), Ok(expected), "{written}");
        }
        for (written, expected) in [
            ("90", 90),
            ("90分钟", 90),
            ("90分鐘", 90),
            ("90 分", 90),
            ("90min", 90),
        ] {
            assert_eq!(
                minutes_of(&minutes, &row(written)),
                Ok(expected),
                "{written}"
            );
        }
        for written in ["两小时", "2天", "小时", ""] {
            assert_eq!(
                minutes_of(&hours, &row(written)).map_err(|e| e.field),
                Err("hours".into()),
                "{written}"
            );
        }
        assert!(
            minutes_of(&minutes, &row("1.5分钟")).is_err(),
            "minutes are whole"
        );
    }

    #[test]
    fn dates_are_read_as_chinese_spreadsheets_write_them() {
        for written in [
            "2026-11-05",
            "2026-11-5",
            "2026/11/5",
            "2026/11/05",
            "2026.11.5",
            "2026年11月5日",
            "2026年11月05日",
            " 2026/11/5 ",
        ] {
            assert_eq!(
                parse_table_date(written),
                Ok(date!(2026 - 11 - 05)),
                "{written}"
            );
        }
    }

    #[test]
    fn dates_that_are_not_real_or_mix_their_separators_are_refused() {
        for written in [
            "2026/2/30",
            "2026/13/5",
            "2026-11/5",
            "2026年11-5",
            "26/11/5",
            "5/11/2026",
            "2026/11",
            "2026/11/5/1",
            "2026年11月5",
            "2026/11/5日",
            "2026/+1/5",
            "",
            "二〇二六年十一月五日",
        ] {
            let refused = parse_table_date(written).expect_err(written);
            assert_eq!(refused.why, Some(Reason::NotADate), "{written}");
        }
    }
}

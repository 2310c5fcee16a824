//! Spreadsheets in and out: the ledger's import template, ledger exports and
//! reading uploaded .xlsx / .csv files into rows of text. Every exported text
//! cell is neutralised against formula injection.

use crate::error::{ApiError, ErrorCode, ErrorDetail};
use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use std::collections::HashMap;
use std::io::Cursor;

/// Largest upload accepted (20 MiB).
pub const UPLOAD_LIMIT: usize = 20 * 1024 * 1024;
/// Most data rows in one file.
pub const MAX_ROWS: usize = 100_000;
/// Most an uploaded workbook may unpack to (all its parts together).
pub const MAX_UNPACKED: u64 = 256 * 1024 * 1024;
/// Columns beyond this one are not read.
pub const MAX_COLUMNS: u32 = 256;

/// The ledger columns: field identifier, Chinese header, required, note.
pub const LEDGER_COLUMNS: &[Column] = &[
    ("id_number", "身份证号", true, "18位公民身份号码，请以文本格式填写"),
    ("name", "姓名", true, ""),
    ("phone", "手机号", true, "11位手机号码"),
    ("household_code", "户编号", true, "字母、数字、-、_"),
    ("resettlement_site", "安置点", false, ""),
    ("county_code", "县级代码", true, "6位行政区划代码，如 522328"),
    (
        "categories",
        "人员类别",
        false,
        "搬迁劳动力、返乡劳动力、高校毕业生、特殊困难群体、脱贫人口、监测帮扶对象，多个用顿号分隔",
    ),
    ("skills", "技能", false, "多个用顿号分隔"),
    ("education", "文化程度", false, ""),
    ("graduation_year", "毕业年份", false, "如 2023"),
    ("employment_status", "就业状态", true, "就业、未就业、公益性岗位、自主创业、在校学生、无劳动能力"),
    ("willing_cross_province", "愿意跨省务工", true, "是/否"),
    ("accepts_offers", "接收岗位推送", false, "是/否，默认是"),
    ("seeking_while_employed", "在职仍求职", false, "是/否，默认否：已就业但愿意了解其他岗位"),
    ("min_wage", "期望最低月薪", false, "元/月"),
    ("preferred_county_codes", "意向务工县", false, "6位代码，多个用顿号分隔"),
];

/// The header of `field` as written in files.
pub fn header_of(field: &str) -> String {
    LEDGER_COLUMNS
        .iter()
        .find(|(f, ..)| *f == field)
        .map(|(_, h, ..)| (*h).to_owned())
        .unwrap_or_else(|| field.to_owned())
}

/// Text that a spreadsheet would run as a formula is prefixed with `'`.
pub fn safe_cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_owned(),
    }
}

fn xlsx_err(e: XlsxError) -> ApiError {
    tracing::error!(error = %e, "writing a workbook failed");
    ApiError::new(ErrorCode::Internal)
}

/// A workbook of one sheet: a bold header row and text rows.
pub fn write_table(
    sheet_name: &str,
    headers: &[&str],
    rows: &[Vec<String>],
    notes: Option<&[(&str, &str)]>,
) -> Result<Vec<u8>, ApiError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name(sheet_name).map_err(xlsx_err)?;
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold).map_err(xlsx_err)?;
        ws.set_column_width(c as u16, 16).map_err(xlsx_err)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string((r + 1) as u32, c as u16, safe_cell(v)).map_err(xlsx_err)?;
            }
        }
    }
    ws.set_freeze_panes(1, 0).map_err(xlsx_err)?;
    if let Some(notes) = notes {
        let ns = wb.add_worksheet();
        ns.set_name("填写说明").map_err(xlsx_err)?;
        ns.write_string_with_format(0, 0, "列名", &bold).map_err(xlsx_err)?;
        ns.write_string_with_format(0, 1, "说明", &bold).map_err(xlsx_err)?;
        ns.set_column_width(0, 18).map_err(xlsx_err)?;
        ns.set_column_width(1, 80).map_err(xlsx_err)?;
        for (i, (h, n)) in notes.iter().enumerate() {
            ns.write_string((i + 1) as u32, 0, *h).map_err(xlsx_err)?;
            ns.write_string((i + 1) as u32, 1, *n).map_err(xlsx_err)?;
        }
    }
    wb.save_to_buffer().map_err(xlsx_err)
}

pub fn ledger_template() -> Result<Vec<u8>, ApiError> {
    let headers: Vec<&str> = LEDGER_COLUMNS.iter().map(|(_, h, ..)| *h).collect();
    let notes: Vec<(&str, &str)> = LEDGER_COLUMNS
        .iter()
        .map(|(_, h, req, n)| (*h, if *req { if n.is_empty() { "必填" } else { n } } else { n }))
        .collect();
    write_table("台账", &headers, &[], Some(&notes))
}

/// An uploaded table: headers and data rows as text, with spreadsheet row numbers.
pub struct Table {
    pub headers: Vec<String>,
    /// (row number as in the spreadsheet, cells)
    pub rows: Vec<(usize, Vec<String>)>,
}

fn bad_file(message: impl Into<String>) -> ApiError {
    ApiError::with_message(ErrorCode::MalformedUpload, message)
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        Data::DateTime(dt) => dt.as_datetime().map(|d| d.date().to_string()).unwrap_or_default(),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Read the first sheet of an .xlsx, or a UTF-8 .csv.
pub fn read_table(bytes: &[u8], filename: &str) -> Result<Table, ApiError> {
    let is_zip = bytes.starts_with(b"PK\x03\x04");
    let lower = filename.to_lowercase();
    if is_zip || lower.ends_with(".xlsx") {
        if !is_zip {
            return Err(bad_file("The file is not an .xlsx workbook (save it as Excel .xlsx or CSV UTF-8)."));
        }
        open_xlsx(bytes).and_then(|mut wb| {
            let first = wb.sheet_names().first().cloned().ok_or_else(|| bad_file("The workbook has no sheet."))?;
            stream_table(&mut wb, &first)
        })
    } else {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| bad_file("The CSV file is not UTF-8 text; save it as \"CSV UTF-8\"."))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
        let mut records = rdr.records();
        let headers: Vec<String> = match records.next() {
            Some(Ok(r)) => r.iter().map(|s| s.trim().to_owned()).collect(),
            Some(Err(e)) => return Err(bad_file(format!("The CSV header could not be read: {e}"))),
            None => Vec::new(),
        };
        let mut out = Vec::new();
        for (i, rec) in records.enumerate() {
            let rec = rec.map_err(|e| bad_file(format!("CSV row {} could not be read: {e}", i + 2)))?;
            let cells: Vec<String> = rec.iter().map(|s| s.trim().to_owned()).collect();
            if cells.iter().all(String::is_empty) {
                continue;
            }
            if out.len() >= MAX_ROWS {
                return Err(ApiError::with_message(
                    ErrorCode::PayloadTooLarge,
                    format!("At most {MAX_ROWS} rows per file; split the file."),
                ));
            }
            out.push((i + 2, cells));
        }
        Ok(Table { headers, rows: out })
    }
}

/// Map the file's headers to field identifiers (Chinese header or identifier).
/// Duplicate and missing required columns are refused; unknown columns are ignored.
pub type Column = (&'static str, &'static str, bool, &'static str);

pub fn map_columns(headers: &[String], columns: &'static [Column]) -> Result<HashMap<&'static str, usize>, ApiError> {
    let mut map: HashMap<&'static str, usize> = HashMap::new();
    let mut problems = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim();
        if h.is_empty() {
            continue;
        }
        if let Some((field, header, ..)) = columns.iter().find(|(f, hz, ..)| *hz == h || *f == h)
            && map.insert(field, i).is_some()
        {
            problems.push(ErrorDetail {
                field: (*field).into(),
                problem: format!("the column {header} appears twice"),
                row: Some(1),
                column: Some(h.to_owned()),
            });
        }
    }
    for (field, header, required, _) in columns {
        if *required && !map.contains_key(field) {
            problems.push(ErrorDetail {
                field: (*field).into(),
                problem: format!("the required column {header} is missing"),
                row: Some(1),
                column: Some((*header).to_owned()),
            });
        }
    }
    if problems.is_empty() {
        Ok(map)
    } else {
        Err(ApiError::with_message(
            ErrorCode::ImportRejected,
            "The header row is not the template's; nothing was written.",
        )
        .with_rows(problems))
    }
}

/// Split a list cell on 、 , ， ; ； / and whitespace.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(['、', ',', '，', ';', '；', '/', ' ', '\n'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// 是/否, true/false, 1/0, y/n.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "是" | "true" | "1" | "y" | "yes" | "愿意" => Some(true),
        "否" | "false" | "0" | "n" | "no" | "不愿意" => Some(false),
        _ => None,
    }
}

/// Open an uploaded workbook after checking what it unpacks to: a zip bomb
/// (a small file that inflates to gigabytes) is refused before any part of
/// it is parsed. Declared sizes can lie, so the parts are inflated once and
/// counted, stopping at the limit.
fn open_xlsx(bytes: &[u8]) -> Result<Xlsx<Cursor<&[u8]>>, ApiError> {
    use std::io::Read;
    let too_big = || {
        ApiError::with_message(
            ErrorCode::PayloadTooLarge,
            format!("The workbook unpacks to more than {} MiB; split it into smaller files.", MAX_UNPACKED >> 20),
        )
    };
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| bad_file(format!("The workbook could not be read: {e}")))?;
    let mut declared = 0u64;
    for i in 0..zip.len() {
        let f = zip.by_index_raw(i).map_err(|e| bad_file(format!("The workbook could not be read: {e}")))?;
        declared = declared.saturating_add(f.size());
    }
    if declared > MAX_UNPACKED {
        return Err(too_big());
    }
    let mut left = MAX_UNPACKED;
    for i in 0..zip.len() {
        let f = zip.by_index(i).map_err(|e| bad_file(format!("The workbook could not be read: {e}")))?;
        let n = std::io::copy(&mut f.take(left + 1), &mut std::io::sink())
            .map_err(|e| bad_file(format!("The workbook could not be read: {e}")))?;
        if n > left {
            return Err(too_big());
        }
        left -= n;
    }
    open_workbook_from_rs(Cursor::new(bytes)).map_err(|e| bad_file(format!("The workbook could not be read: {e}")))
}

/// A sheet's cells as text, with spreadsheet row numbers (first row = headers,
/// blank rows skipped), read cell by cell so that a sheet of a million rows
/// is refused at row `MAX_ROWS + 1` instead of being loaded whole.
fn stream_table(wb: &mut Xlsx<Cursor<&[u8]>>, sheet: &str) -> Result<Table, ApiError> {
    let mut reader =
        wb.worksheet_cells_reader(sheet).map_err(|e| bad_file(format!("Sheet {sheet} could not be read: {e}")))?;
    let mut headers: Option<Vec<String>> = None;
    let mut out: Vec<(usize, Vec<String>)> = Vec::new();
    let mut current: Option<(u32, Vec<String>)> = None;
    let mut finish = |row: Option<(u32, Vec<String>)>| -> Result<(), ApiError> {
        let Some((r, cells)) = row else { return Ok(()) };
        if cells.iter().all(String::is_empty) {
            return Ok(());
        }
        if headers.is_none() {
            headers = Some(cells);
            return Ok(());
        }
        if out.len() >= MAX_ROWS {
            return Err(ApiError::with_message(
                ErrorCode::PayloadTooLarge,
                format!("At most {MAX_ROWS} rows per sheet; split the file."),
            ));
        }
        out.push((r as usize + 1, cells));
        Ok(())
    };
    while let Some(cell) = reader.next_cell().map_err(|e| bad_file(format!("Sheet {sheet} could not be read: {e}")))? {
        let (r, c) = cell.get_position();
        if c >= MAX_COLUMNS {
            continue;
        }
        if current.as_ref().is_none_or(|(cr, _)| *cr != r) {
            finish(current.take())?;
            current = Some((r, Vec::new()));
        }
        if let Some((_, cells)) = current.as_mut() {
            let text = cell_text(&Data::from(cell.get_value().clone()));
            if cells.len() <= c as usize {
                cells.resize(c as usize + 1, String::new());
            }
            cells[c as usize] = text;
        }
    }
    finish(current.take())?;
    let headers = headers.unwrap_or_default();
    // Rows as wide as the header, so column look-ups by header position work.
    let width = headers.len();
    for (_, cells) in &mut out {
        if cells.len() < width {
            cells.resize(width, String::new());
        }
    }
    Ok(Table { headers, rows: out })
}

/// Every sheet of an .xlsx upload by name (first row = headers).
pub fn read_sheets(bytes: &[u8]) -> Result<HashMap<String, Table>, ApiError> {
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err(bad_file("The file is not an .xlsx workbook."));
    }
    let mut wb = open_xlsx(bytes)?;
    let mut out = HashMap::new();
    for name in wb.sheet_names() {
        let t = stream_table(&mut wb, &name)?;
        out.insert(name, t);
    }
    Ok(out)
}

/// A cell of a written table: text or a number.
#[derive(Debug, Clone)]
pub enum Cell {
    T(String),
    N(f64),
}

/// A sheet: name, headers, rows.
pub type Sheet<'a> = (&'a str, Vec<&'a str>, Vec<Vec<Cell>>);

/// A workbook of several sheets.
pub fn write_sheets(sheets: &[Sheet<'_>]) -> Result<Vec<u8>, ApiError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    for (name, headers, rows) in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(*name).map_err(xlsx_err)?;
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold).map_err(xlsx_err)?;
            ws.set_column_width(c as u16, 16).map_err(xlsx_err)?;
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                match v {
                    Cell::N(n) => {
                        ws.write_number((r + 1) as u32, c as u16, *n).map_err(xlsx_err)?;
                    }
                    Cell::T(t) if t.is_empty() => {}
                    Cell::T(t) => {
                        ws.write_string((r + 1) as u32, c as u16, safe_cell(t)).map_err(xlsx_err)?;
                    }
                }
            }
        }
        ws.set_freeze_panes(1, 0).map_err(xlsx_err)?;
    }
    wb.save_to_buffer().map_err(xlsx_err)
}

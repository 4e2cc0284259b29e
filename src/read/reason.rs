//! Why a file or sheet was not checked, as a value: the reader decides the reason, the edge
//! renders it in the run's language ([`Reason::text`]). `Display` is the Chinese text, so the
//! default output and the miette reports read as before.

use crate::finding::Lang;

use super::header::HEADER_SCAN_ROWS;
use super::limits::MAX_RATIO;

/// Where a cell limit was hit: the hint names what to split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Sheet,
    File,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    NotFound,
    NoPermission,
    IsDir,
    /// An I/O error, as the operating system words it.
    Io(String),
    EmptyFile,
    ZipDamaged(String),
    ZipEntryDamaged {
        index: usize,
        detail: String,
    },
    ZipBomb {
        name: String,
        size: u64,
    },
    InflatedTooLarge {
        max: u64,
    },
    ZipEmpty,
    ZipNoWorkbook,
    Encrypted,
    CfbDamaged,
    /// A workbook extension on a file that is text.
    NotAWorkbook {
        ext: String,
    },
    FileTooLarge {
        max: u64,
    },
    /// calamine could not open the workbook (its message).
    WorkbookDamaged(String),
    NoSheets,
    Internal,
    /// More shared strings than the sheets could use: a memory bomb, refused before any is
    /// read.
    TooManyStrings {
        part: String,
        max: u64,
    },
    /// A sheet whose declared extent (an .xls DIMENSIONS record, an .ods repeat count) would
    /// make the reader allocate more than the cell limit.
    ExtentTooLarge {
        sheet: String,
        cells: u64,
        max: u64,
    },
    /// A note on a checked sheet: this format's merged ranges are not read, so a value written
    /// once for a merged range reads as blank on its other rows.
    MergesNotRead {
        format: &'static str,
    },
    /// Not a worksheet (chart sheet, dialog sheet); calamine's sheet type.
    NotAWorksheet(String),
    SheetUnreadable(String),
    SheetDamaged(String),
    TooManyCells {
        max: u64,
        unit: Unit,
    },
    ColumnTooLarge,
    RowsOutOfOrder,
    RecordsOutOfOrder,
    /// An exclusion list's ID cell is a number too long for a spreadsheet number to hold: its
    /// last digits are lost, so it would silently match nobody.
    ListIdAsNumber {
        cell: String,
        shown: String,
    },
    /// An exclusion list with no ID column and no ID number of a known form.
    ListWithoutIds,
    NoHeader,
    EmptySheet,
    /// Every sheet was skipped: each sheet with its reason.
    NoSheetHasHeader(Vec<(String, Reason)>),
    CsvParse {
        line: u32,
        detail: String,
    },
    CsvWidth {
        line: u32,
        found: usize,
        width: usize,
    },
    Undecodable {
        encoding: &'static str,
        line: usize,
        forced: bool,
    },
    /// Text already rendered (a masked reason, a hand-built run).
    Plain(String),
}

impl Reason {
    /// The reason in `lang`; Chinese is the text users have always seen.
    pub fn text(&self, lang: Lang) -> String {
        let en = lang == Lang::En;
        let pick = |zh: String, e: String| if en { e } else { zh };
        match self {
            Reason::NotFound => pick("文件不存在".into(), "file not found".into()),
            Reason::NoPermission => pick("没有读取权限".into(), "permission denied".into()),
            Reason::IsDir => pick(
                "这是一个文件夹，不是文件".into(),
                "this is a folder, not a file".into(),
            ),
            Reason::Io(e) | Reason::Plain(e) => e.clone(),
            Reason::EmptyFile => pick(
                "文件是空的（0 字节）".into(),
                "the file is empty (0 bytes)".into(),
            ),
            Reason::ZipDamaged(e) => pick(
                format!("文件已损坏（zip 结构不完整或有误：{e}），可能下载或复制不完整"),
                format!(
                    "the file is damaged (its zip structure is incomplete or wrong: {e}); it may have been downloaded or copied incompletely"
                ),
            ),
            Reason::ZipEntryDamaged { index, detail } => pick(
                format!("文件已损坏（zip 目录第 {index} 项有误：{detail}）"),
                format!("the file is damaged (zip directory entry {index} is wrong: {detail})"),
            ),
            Reason::ZipBomb { name, size } => pick(
                format!(
                    "文件疑似压缩炸弹：其中 {name} 声明解压后 {size} 字节，压缩比超过 {MAX_RATIO}:1，拒绝读取"
                ),
                format!(
                    "refused as a suspected zip bomb: its part {name} declares {size} bytes inflated, a compression ratio above {MAX_RATIO}:1"
                ),
            ),
            Reason::InflatedTooLarge { max } => pick(
                format!(
                    "文件解压后超过上限 {max} 字节（zip 目录声明的大小），拒绝读取；如确需检查，请拆分文件"
                ),
                format!(
                    "refused: the file inflates to more than the limit of {max} bytes (sizes declared in the zip directory); split the file to check it"
                ),
            ),
            Reason::ZipEmpty => pick(
                "zip 文件是空的，不是工作簿".into(),
                "the zip file is empty, not a workbook".into(),
            ),
            Reason::ZipNoWorkbook => pick(
                "这是 zip 压缩包，但里面没有 Excel/ODS 工作簿".into(),
                "this is a zip archive, but it holds no Excel/ODS workbook".into(),
            ),
            Reason::Encrypted => pick(
                "文件已加密（有密码保护），请另存为不加密的文件后再检查".into(),
                "the file is encrypted (password-protected); save it without a password and check again".into(),
            ),
            Reason::CfbDamaged => pick(
                "文件已损坏（.xls 的扇区链有环或指向不存在的扇区），可能下载或复制不完整".into(),
                "the file is damaged (a sector chain of the .xls loops or points past the file); it may have been downloaded or copied incompletely".into(),
            ),
            Reason::NotAWorkbook { ext } => pick(
                format!(
                    "扩展名是 .{ext}，但内容不是工作簿（像是文本文件）；请用 Excel 打开后另存为 .xlsx，或改名为 .csv"
                ),
                format!(
                    "the extension is .{ext}, but the content is not a workbook (it looks like text); open it in Excel and save as .xlsx, or rename it to .csv"
                ),
            ),
            Reason::FileTooLarge { max } => pick(
                format!("文件超过上限 {max} 字节，拒绝读取；如确需检查，请拆分文件"),
                format!(
                    "refused: the file is larger than the limit of {max} bytes; split the file to check it"
                ),
            ),
            Reason::WorkbookDamaged(e) => pick(
                format!("工作簿无法打开（文件可能已损坏）：{e}"),
                format!("the workbook cannot be opened (the file may be damaged): {e}"),
            ),
            Reason::NoSheets => pick(
                "工作簿中没有工作表".into(),
                "the workbook has no sheets".into(),
            ),
            Reason::Internal => pick(
                "读取时发生内部错误（文件内容异常），未能读取".into(),
                "an internal error occurred while reading (unusual file content); not read".into(),
            ),
            Reason::TooManyStrings { part, max } => pick(
                format!(
                    "{part} 中的共享字符串超过上限 {max} 个（多于工作表能引用的单元格），疑似内存炸弹，拒绝读取"
                ),
                format!(
                    "refused as a suspected memory bomb: {part} holds more than {max} shared strings (more than the sheets' cells could use)"
                ),
            ),
            Reason::ExtentTooLarge { sheet, cells, max } => pick(
                format!(
                    "工作表 {sheet} 声明的范围有 {cells} 个单元格，超过上限 {max}，拒绝读取；如确需检查，请拆分工作表"
                ),
                format!(
                    "refused: sheet {sheet} declares an extent of {cells} cells, over the limit of {max}; split the sheet to check it"
                ),
            ),
            Reason::MergesNotRead { format } => pick(
                format!(
                    "未能读取 .{format} 文件中的合并单元格：合并区域只在首行有值（如户信息），其余行按空白检查；如有合并单元格，请另存为 .xlsx 后再检查"
                ),
                format!(
                    "merged cells of the .{format} file could not be read: a merged range's value (such as household fields) is on its first row only and the other rows are checked as blank; if the sheet has merged cells, save it as .xlsx and check again"
                ),
            ),
            Reason::NotAWorksheet(t) => pick(
                format!("不是数据工作表（{t}）"),
                format!("not a data worksheet ({t})"),
            ),
            Reason::SheetUnreadable(e) => pick(
                format!("工作表无法读取：{e}"),
                format!("the sheet cannot be read: {e}"),
            ),
            Reason::SheetDamaged(e) => pick(
                format!("工作表内容损坏：{e}"),
                format!("the sheet's content is damaged: {e}"),
            ),
            Reason::TooManyCells { max, unit } => {
                let (zh, e) = match unit {
                    Unit::Sheet => ("工作表", "sheet"),
                    Unit::File => ("文件", "file"),
                };
                pick(
                    format!("单元格数超过上限 {max}，拒绝读取；如确需检查，请拆分{zh}"),
                    format!("refused: more cells than the limit of {max}; split the {e} to check it"),
                )
            }
            Reason::ColumnTooLarge => pick(
                "某一列的文字超过 2 GB，拒绝读取；请拆分文件".into(),
                "refused: one column holds more than 2 GB of text; split the file".into(),
            ),
            Reason::RowsOutOfOrder => pick(
                "工作表的行顺序错乱".into(),
                "the sheet's rows are out of order".into(),
            ),
            Reason::RecordsOutOfOrder => pick(
                "记录顺序错乱".into(),
                "the records are out of order".into(),
            ),
            Reason::ListWithoutIds => pick(
                "比对名单中没有找到证件号码列或有效的证件号码（表头应有 证件号码、身份证号码 或 公民身份号码 等列名），不予使用".into(),
                "the exclusion list has no ID number column and no valid ID number (its header should name the ID column as the export's does); not used".into(),
            ),
            Reason::ListIdAsNumber { cell, shown } => pick(
                format!(
                    "比对名单 {cell} 的证件号码以数字保存（{shown}），末几位已丢失，无法比对；请把证件号码列设为文本格式、重新填写后再用"
                ),
                format!(
                    "the exclusion list's ID number in {cell} is stored as a number ({shown}) and has lost its last digits, so it cannot be matched; format the ID column as text, re-enter the IDs and use the list again"
                ),
            ),
            Reason::NoHeader => pick(
                format!("没有找到表头（前 {HEADER_SCAN_ROWS} 行中没有与字段名匹配的行）"),
                format!(
                    "no header found (none of the first {HEADER_SCAN_ROWS} rows matches the field names)"
                ),
            ),
            Reason::EmptySheet => pick("工作表是空的".into(), "the sheet is empty".into()),
            Reason::NoSheetHasHeader(sheets) => {
                let sep = if en { "; " } else { "；" };
                let each: Vec<String> = sheets
                    .iter()
                    .map(|(s, r)| {
                        let r = r.text(lang);
                        if en { format!("{s}: {r}") } else { format!("{s}：{r}") }
                    })
                    .collect();
                let each = each.join(sep);
                pick(
                    format!("没有一个工作表有可识别的表头（{each}）"),
                    format!("no sheet has a recognisable header ({each})"),
                )
            }
            Reason::CsvParse { line, detail } => pick(
                format!("第 {line} 行无法解析：{detail}"),
                format!("line {line} cannot be parsed: {detail}"),
            ),
            Reason::CsvWidth { line, found, width } => pick(
                format!(
                    "第 {line} 行有 {found} 个字段，而表头有 {width} 个（可能有多余的逗号或缺少引号）"
                ),
                format!(
                    "line {line} has {found} fields but the header has {width} (an extra comma or a missing quote?)"
                ),
            ),
            Reason::Undecodable {
                encoding,
                line,
                forced,
            } => {
                let (zh, e) = if *forced {
                    ("请检查 --encoding 是否正确", "check that --encoding is right")
                } else {
                    (
                        "请用 --encoding 指定正确的编码，或另存为 UTF-8",
                        "give the right encoding with --encoding, or save the file as UTF-8",
                    )
                };
                pick(
                    format!(
                        "按 {encoding} 编码解码时第 {line} 行有无法识别的字节，为避免乱码不予读取；{zh}"
                    ),
                    format!(
                        "line {line} holds bytes that are not valid {encoding}; not read, to avoid garbled text; {e}"
                    ),
                )
            }
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text(Lang::Zh))
    }
}

impl From<&str> for Reason {
    fn from(s: &str) -> Self {
        Reason::Plain(s.to_string())
    }
}

impl From<String> for Reason {
    fn from(s: String) -> Self {
        Reason::Plain(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_both_languages() {
        let all = [
            Reason::NotFound,
            Reason::EmptyFile,
            Reason::ZipNoWorkbook,
            Reason::Encrypted,
            Reason::CfbDamaged,
            Reason::NoHeader,
            Reason::TooManyStrings {
                part: "xl/sharedStrings.xml".into(),
                max: 9,
            },
            Reason::TooManyCells {
                max: 5,
                unit: Unit::File,
            },
            Reason::NoSheetHasHeader(vec![("notes".into(), Reason::EmptySheet)]),
            Reason::ListWithoutIds,
            Reason::ListIdAsNumber {
                cell: "B5".into(),
                shown: "410101199001011000".into(),
            },
        ];
        for r in all {
            let (zh, en) = (r.text(Lang::Zh), r.text(Lang::En));
            assert_eq!(zh, r.to_string());
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{zh}"
            );
            assert!(en.is_ascii(), "{en}");
        }
    }
}

//! Batch entry of records from CSV and XLSX files.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::participation::{World, world};

async fn upload(w: &World, token: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let (status, report, _) = upload_in(w, token, content_type, body, "en").await;
    (status, report)
}

/// An upload whose report is asked for in `accept_language`, with the report's
/// `Content-Language`.
async fn upload_in(
    w: &World,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
    accept_language: &str,
) -> (StatusCode, Value, String) {
    let headers = [("accept-language", accept_language)];
    let r = send_upload(w, token, content_type, body, &headers).await;
    let (status, language) = (r.status(), header_of(&r, "content-language"));
    (status, r.json().await.unwrap_or(Value::Null), language)
}

async fn send_upload(
    w: &World,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = w
        .app
        .client
        .post(format!(
            "{}/api/v1/organisations/{}/records/batch",
            w.app.base, w.team
        ))
        .bearer_auth(token)
        .header("content-type", content_type);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(body).send().await.unwrap()
}

fn header_of(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn outcomes(report: &Value) -> Vec<(i64, String, Option<String>)> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_i64().unwrap(),
                r["outcome"].as_str().unwrap().to_owned(),
                r["field"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test]
async fn good_rows_land_bad_rows_are_reported_by_line_and_a_reupload_adds_nothing() {
    let w = world().await;
    let (a, a_token) = w.volunteer(111).await;
    let (b, _) = w.volunteer(113).await;
    let typo = format!("{}{}", &a[..12], (a.as_bytes()[12] - b'0' + 1) % 10);
    let csv = format!(
        "volunteer_number,activity_name,service_date,place,content,hours,responsible_person\n\
         {a},义务植树,2026-11-02,白云山,植树,2.5,陈志愿\n\
         {typo},义务植树,2026-11-02,白云山,植树,2,陈志愿\n\
         1000000000009,义务植树,2026-11-02,白云山,植树,2,陈志愿\n\
         {b},义务植树,2026-02-30,白云山,植树,2,陈志愿\n\
         {b},义务植树,2099-01-01,白云山,植树,2,陈志愿\n\
         {b},义务植树,2026-11-02,白云山,植树,,陈志愿\n\
         {b},义务植树,2026-11-02,白云山,植树,13,陈志愿\n\
         {a},义务植树,2026-11-02,白云山,植树,2.5,陈志愿\n\
         {b},关爱老人,2026-11-03,敬老院,陪伴,3,陈志愿\n"
    );
    let (status, report) = upload(&w, &w.coordinator, "text/csv", csv.clone().into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{report:?}");
    assert_eq!(
        outcomes(&report),
        [
            (2, "inserted".into(), None),
            (3, "invalid".into(), Some("volunteer_number".into())),
            (4, "invalid".into(), Some("volunteer_number".into())),
            (5, "invalid".into(), Some("service_date".into())),
            (6, "invalid".into(), Some("service_date".into())),
            (7, "invalid".into(), Some("hours".into())),
            (8, "invalid".into(), Some("minutes".into())),
            (9, "duplicate".into(), None),
            (10, "inserted".into(), None),
        ]
    );
    assert_eq!(
        (report["inserted"].as_i64(), report["invalid"].as_i64()),
        (Some(2), Some(6))
    );
    // Each row holds only what applies to its outcome.
    let rows = &report["rows"];
    let record = rows[0]["record"].as_i64().expect("the record made");
    assert_eq!(
        [&rows[0], &rows[7]],
        [
            &json!({"line": 2, "outcome": "inserted", "record": record}),
            &json!({"line": 9, "outcome": "duplicate"})
        ]
    );
    assert_eq!(
        rows[6],
        json!({"line": 8, "outcome": "invalid", "field": "minutes", "code": "over_daily_cap",
               "reason": "exceeds the cap of 12 hours a day"})
    );
    assert_eq!(w.totals(&a, &a_token).await["minutes"], 150);
    let (_, again) = upload(&w, &w.coordinator, "text/csv", csv.into_bytes()).await;
    assert_eq!(again["inserted"], 0);
    assert_eq!(again["duplicates"], 3);
    assert_eq!(w.totals(&a, &a_token).await["minutes"], 150);
}

/// Each refused row says why as a stable code, and in the language the uploader reads:
/// Hong Kong's Traditional Chinese, Simplified Chinese (also when none is asked for) or
/// English. The daily cap is 12 hours.
#[tokio::test]
async fn each_refused_row_says_why_as_a_code_and_in_the_uploaders_language() {
    let w = world().await;
    let (a, _) = w.volunteer(115).await;
    let typo = format!("{}{}", &a[..12], (a.as_bytes()[12] - b'0' + 1) % 10);
    let csv = format!(
        "volunteer_number,activity_name,service_date,place,content,hours,responsible_person\n\
         {typo},义务植树,2026-11-02,白云山,植树,2,陈志愿\n\
         1000000000009,义务植树,2026-11-02,白云山,植树,2,陈志愿\n\
         {a},义务植树,2026-02-30,白云山,植树,2,陈志愿\n\
         {a},义务植树,2099-01-01,白云山,植树,2,陈志愿\n\
         {a},义务植树,2026-11-02,白云山,植树,两小时,陈志愿\n\
         {a},义务植树,2026-11-02,白云山,植树,13,陈志愿\n\
         {a},,2026-11-02,白云山,植树,2,陈志愿\n"
    );
    let said = |report: &Value| -> Vec<(String, String)> {
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let text = |key: &str| r[key].as_str().unwrap_or_default().to_owned();
                (text("code"), text("reason"))
            })
            .collect()
    };
    let (status, hk, language) = upload_in(
        &w,
        &w.coordinator,
        "text/csv",
        csv.clone().into_bytes(),
        "zh-HK",
    )
    .await;
    assert_eq!(
        (status, language.as_str()),
        (StatusCode::OK, "zh-HK"),
        "{hk:?}"
    );
    assert_eq!(
        said(&hk),
        [
            ("check_digit", "校驗位不正確"),
            ("no_such_volunteer", "查無此志願者"),
            (
                "not_a_date",
                "應為真實日期，寫作 2026-11-05、2026/11/5 或 2026年11月5日"
            ),
            ("in_the_future", "不能遲於今天"),
            ("not_hours", "應為小時數，如 2.5"),
            ("over_daily_cap", "超過每日上限12小時"),
            ("required", "必填"),
        ]
        .map(|(code, reason)| (code.to_owned(), reason.to_owned()))
    );
    let (_, hans, language) =
        upload_in(&w, &w.coordinator, "text/csv", csv.clone().into_bytes(), "").await;
    assert_eq!(language, "zh-CN");
    assert_eq!(
        said(&hans)[3],
        ("in_the_future".into(), "不能晚于今天".into())
    );
    let (_, en) = upload(&w, &w.coordinator, "text/csv", csv.into_bytes()).await;
    assert_eq!(
        said(&en)[5],
        (
            "over_daily_cap".into(),
            "exceeds the cap of 12 hours a day".into()
        )
    );
}

/// Two uploads at once, each giving one volunteer 8 hours on the same day: whatever each
/// saw before writing, one lands and the other's row is refused on `minutes` (the daily
/// cap is 12 hours). Uploading the one that landed again reports it as a duplicate,
/// although its day is full.
#[tokio::test]
async fn two_uploads_at_once_never_take_a_day_over_the_cap() {
    let w = world().await;
    let (a, a_token) = w.volunteer(141).await;
    let file = |activity: &str| {
        format!(
            "volunteer_number,activity_name,service_date,place,content,hours,responsible_person\n\
             {a},{activity},2026-11-04,白云山,植树,8,陈志愿\n"
        )
        .into_bytes()
    };
    let (first, second) = tokio::join!(
        upload(&w, &w.coordinator, "text/csv", file("上午植树")),
        upload(&w, &w.coordinator, "text/csv", file("下午植树")),
    );
    let mut seen: Vec<Vec<(i64, String, Option<String>)>> = [&first, &second]
        .iter()
        .map(|(status, report)| {
            assert_eq!(*status, StatusCode::OK, "{report:?}");
            outcomes(report)
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            [(2, "inserted".to_owned(), None)],
            [(2, "invalid".to_owned(), Some("minutes".to_owned()))],
        ]
    );
    assert_eq!(w.totals(&a, &a_token).await["minutes"], 480);
    let landed = match outcomes(&first.1)[0].1.as_str() {
        "inserted" => "上午植树",
        _ => "下午植树",
    };
    let (_, again) = upload(&w, &w.coordinator, "text/csv", file(landed)).await;
    assert_eq!(outcomes(&again), [(2, "duplicate".to_owned(), None)]);
    assert_eq!(w.totals(&a, &a_token).await["minutes"], 480);
}

/// Rows are written by volunteer and day, not in the file's order; each reported record
/// is still its own line's.
#[tokio::test]
async fn each_reported_record_is_the_one_its_line_entered() {
    let w = world().await;
    let (first, _) = w.volunteer(131).await;
    let (second, _) = w.volunteer(133).await;
    let csv = format!(
        "volunteer_number,activity_name,service_date,place,content,hours,responsible_person\n\
         {second},第二位十一月五日,2026-11-05,白云山,植树,1,陈志愿\n\
         {first},第一位十一月六日,2026-11-06,白云山,植树,1,陈志愿\n\
         {second},第二位十一月一日,2026-11-01,白云山,植树,1,陈志愿\n\
         {first},第一位十一月二日,2026-11-02,白云山,植树,1,陈志愿\n"
    );
    let (status, report) = upload(&w, &w.coordinator, "text/csv", csv.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{report:?}");
    let expected = [
        "第二位十一月五日",
        "第一位十一月六日",
        "第二位十一月一日",
        "第一位十一月二日",
    ];
    let rows = report["rows"].as_array().expect("a row per line");
    assert_eq!(rows.len(), expected.len());
    for (row, activity) in rows.iter().zip(expected) {
        let id = row["record"].as_i64().expect("each line inserted");
        let history = w
            .app
            .get(
                &format!("/api/v1/records/{id}/history"),
                Some(&w.coordinator),
            )
            .await
            .body;
        assert_eq!(
            history[0]["activity_name"], activity,
            "line {}",
            row["line"]
        );
    }
}

#[tokio::test]
async fn an_xlsx_workbook_with_chinese_headers_is_entered_too() {
    let w = world().await;
    let (a, token) = w.volunteer(121).await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (i, h) in [
        "志愿者编号",
        "活动名称",
        "服务日期",
        "服务地点",
        "服务内容",
        "服务时长",
        "负责人",
    ]
    .into_iter()
    .enumerate()
    {
        sheet.write_string(0, i as u16, h).unwrap();
    }
    sheet.write_string(1, 0, &a).unwrap();
    sheet.write_string(1, 1, "图书馆志愿服务").unwrap();
    let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 11, 5).unwrap();
    let format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    sheet
        .write_datetime_with_format(1, 2, &date, &format)
        .unwrap();
    sheet.write_string(1, 3, "广州图书馆").unwrap();
    sheet.write_string(1, 4, "图书整理").unwrap();
    sheet.write_number(1, 5, 4).unwrap();
    sheet.write_string(1, 6, "李馆员").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let (status, report) = upload(
        &w,
        &w.coordinator,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        bytes,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report:?}");
    assert_eq!(report["inserted"], 1);
    assert_eq!(w.totals(&a, &token).await["minutes"], 240);
}

#[tokio::test]
async fn unreadable_or_unauthorised_uploads_are_refused_whole() {
    let w = world().await;
    let (_, volunteer) = w.volunteer(131).await;
    // Refused whole, the file is told what is wrong with it in the uploader's language,
    // naming the columns its header lacks as the template heads them.
    let missing = "volunteer_number,activity_name\n1,2\n".as_bytes().to_vec();
    let (status, body, language) =
        upload_in(&w, &w.coordinator, "text/csv", missing, "zh-HK").await;
    assert_eq!(
        (status, language.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "zh-HK")
    );
    assert_eq!(
        body["error"]["fields"],
        json!([{"field": "file", "code": "missing_columns",
                "reason": "標題列缺少：服務日期、服務地點、服務內容、服務時數（小時）、負責人，請使用批量錄入範本"}])
    );
    let refused = |body: &Value| {
        let f = &body["error"]["fields"][0];
        (f["field"].clone(), f["code"].clone())
    };
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    for (content_type, file, code) in [
        (xlsx, b"not a workbook".to_vec(), "not_a_workbook"),
        ("text/csv", vec![0xff, 0xfe, 0x00, 0xd8], "not_text"),
        ("text/csv", b"\r\n,,\r\n".to_vec(), "no_header"),
    ] {
        let (status, body) = upload(&w, &w.coordinator, content_type, file).await;
        assert_eq!(
            (status, refused(&body)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                (json!("file"), json!(code))
            )
        );
    }
    let (status, _) = upload(&w, &w.coordinator, "application/pdf", b"%PDF".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let header =
        "volunteer_number,activity_name,service_date,place,content,hours,responsible_person\n";
    let (status, _) = upload(&w, &volunteer, "text/csv", header.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The right is checked before the file is read: someone outside the team learns
    // nothing about the file from the answer, and makes the server read none of it.
    let (status, _) = upload(&w, &volunteer, "text/csv", vec![0xff, 0xfe, 0x00, 0xd8]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// A CSV saved by a spreadsheet under a Chinese locale writes dates as `2026/11/5` or
/// `2026年11月6日`: those rows land, and the same row uploaded again with its date written
/// another way is the same record.
#[tokio::test]
async fn dates_written_the_chinese_spreadsheet_way_land_once_however_written() {
    let w = world().await;
    let (a, a_token) = w.volunteer(151).await;
    let file = |dates: [&str; 2]| {
        format!(
            "志愿者编号,活动名称,服务日期,服务地点,服务内容,服务时长,负责人\n\
             {a},义务植树,{},白云山,植树,2,陈志愿\n\
             {a},义务植树,{},白云山,植树,1.5,陈志愿\n",
            dates[0], dates[1]
        )
        .into_bytes()
    };
    let (status, report) = upload(
        &w,
        &w.coordinator,
        "text/csv",
        file(["2026/11/5", "2026年11月6日"]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report:?}");
    assert_eq!(
        outcomes(&report),
        [(2, "inserted".into(), None), (3, "inserted".into(), None)]
    );
    let (_, again) = upload(
        &w,
        &w.coordinator,
        "text/csv",
        file(["2026-11-05", "2026.11.06"]),
    )
    .await;
    assert_eq!(
        outcomes(&again),
        [(2, "duplicate".into(), None), (3, "duplicate".into(), None)]
    );
    assert_eq!(w.totals(&a, &a_token).await["minutes"], 210);
}

/// A coordinator in Hong Kong downloads the template: it comes headed in Traditional
/// Chinese (the browser's `Accept-Language`), filled in with hours written `2.5小時` it
/// uploads as it is; the workbook, the default, uploads as it is too; an unknown format is
/// refused naming `format`. No sign-in is needed for an empty table.
#[tokio::test]
async fn the_template_in_the_callers_language_uploads_as_it_is() {
    let w = world().await;
    let (a, token) = w.volunteer(161).await;
    let template = |query: &str, language: &str| {
        w.app
            .client
            .get(format!(
                "{}/api/v1/records/batch-template{query}",
                w.app.base
            ))
            .header("accept-language", language)
            .send()
    };
    let r = template("?format=csv", "zh-HK,zh;q=0.8,en;q=0.5")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let header = |name: &str| r.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(header("content-language"), "zh-HK");
    // Saved under its name in the caller's language; an ASCII one for older clients.
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"records-template.csv\"; filename*=UTF-8''\
         %E5%BF%97%E9%A1%98%E6%9C%8D%E5%8B%99%E8%A8%98%E9%8C%84%E6%89%B9%E9%87%8F%E9%8C%84%E5%85%A5%E7%AF%84%E6%9C%AC.csv"
    );
    let csv = r.text().await.unwrap();
    let first = csv.lines().next().unwrap().trim_start_matches('\u{FEFF}');
    assert_eq!(
        first,
        "志願者編號,活動名稱,服務日期,服務地點,服務內容,服務時數（小時）,負責人"
    );
    let filled = format!("{csv}{a},海濱清潔,2026-11-07,南沙濱海公園,清理垃圾,2.5小時,黃主任\r\n");
    let (status, report) = upload(&w, &w.coordinator, "text/csv", filled.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{report:?}");
    assert_eq!(outcomes(&report), [(2, "inserted".into(), None)]);
    assert_eq!(w.totals(&a, &token).await["minutes"], 150);

    let r = template("?lang=en", "zh-HK").await.unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(r.headers()["content-language"], "en");
    let book = r.bytes().await.unwrap().to_vec();
    let (status, report) = upload(
        &w,
        &w.coordinator,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        book,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report:?}");
    assert_eq!(report["rows"].as_array().map(Vec::len), Some(0));

    let r = template("?format=pdf", "en").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["field"], "format", "{body}");
}

/// A cell broken over two lines by a Windows tool (CRLF inside the quotes) lands with its
/// line break as `\n`, the next row numbered as the spreadsheet shows it; a tab inside a
/// cell is refused naming the column and saying why, not as a wrong length.
#[tokio::test]
async fn a_cell_over_two_lines_lands_with_its_line_break_and_a_tab_is_refused_as_such() {
    let w = world().await;
    let (a, token) = w.volunteer(181).await;
    let csv = format!(
        "volunteer_number,activity_name,service_date,place,content,hours,responsible_person\r\n\
         {a},社区探访,2026-11-04,幸福社区,\"陪伴长者\r\n协助购物\",2,陈志愿\r\n\
         {a},社区探访,2026-11-05,幸福社区,陪伴\t长者,2,陈志愿\r\n"
    );
    let (status, report) = upload(&w, &w.coordinator, "text/csv", csv.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{report:?}");
    assert_eq!(
        outcomes(&report),
        [
            (2, "inserted".into(), None),
            (4, "invalid".into(), Some("content".into())),
        ]
    );
    let why = report["rows"][1]["reason"].as_str().unwrap();
    assert!(why.contains("control characters"), "{why}");
    let records = w
        .app
        .get(&format!("/api/v1/volunteers/{a}/records"), Some(&token))
        .await;
    assert_eq!(records.body["items"][0]["content"], "陪伴长者\n协助购物");
}

/// An upload sent with a table format in `accept`, in Simplified Chinese: its answer's
/// status, `Content-Type`, `Content-Disposition` and body.
async fn upload_for_table(
    w: &World,
    content_type: &str,
    body: Vec<u8>,
    accept: &str,
) -> (StatusCode, String, String, Vec<u8>) {
    let headers = [("accept", accept), ("accept-language", "zh-CN")];
    let r = send_upload(w, &w.coordinator, content_type, body, &headers).await;
    let (status, content_type) = (r.status(), header_of(&r, "content-type"));
    let disposition = header_of(&r, "content-disposition");
    (
        status,
        content_type,
        disposition,
        r.bytes().await.unwrap().to_vec(),
    )
}

/// Asked for a table, an upload answers with its refused rows as they were sent, each
/// with its line and why in the uploader's language, under the header it was sent with.
/// Fixed, that table lands as it is; refused again, it has the two columns once, anew;
/// once every row landed, it is its header alone. A workbook answers as a workbook.
#[tokio::test]
async fn the_refused_rows_come_back_as_a_table_to_fix_and_upload_again() {
    let w = world().await;
    let (a, token) = w.volunteer(117).await;
    let csv = format!(
        "志愿者编号,活动名称,服务日期,服务地点,服务内容,服务时长,负责人\r\n\
         {a},义务植树,2026-11-02,白云山,植树,2,陈志愿\r\n\
         {a},关爱老人,2026-02-30,敬老院,\"陪伴, 聊天\",3,陈志愿\r\n\
         {a},社区探访,2026-11-04,幸福社区,探访,两小时,陈志愿\r\n"
    );
    let (status, content_type, disposition, body) =
        upload_for_table(&w, "text/csv", csv.into_bytes(), "text/csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "text/csv; charset=utf-8");
    assert_eq!(
        disposition,
        "attachment; filename=\"refused-rows.csv\"; \
         filename*=UTF-8''%E6%9C%AA%E5%BD%95%E5%85%A5%E7%9A%84%E8%AE%B0%E5%BD%95.csv"
    );
    let refused = String::from_utf8(body).unwrap();
    assert_eq!(
        refused,
        format!(
            "\u{FEFF}志愿者编号,活动名称,服务日期,服务地点,服务内容,服务时长,负责人,原行号,原因\r\n\
             {a},关爱老人,2026-02-30,敬老院,\"陪伴, 聊天\",3,陈志愿,3,\
             服务日期：应为真实日期，写作 2026-11-05、2026/11/5 或 2026年11月5日\r\n\
             {a},社区探访,2026-11-04,幸福社区,探访,两小时,陈志愿,4,服务时长：应为小时数，如 2.5\r\n"
        )
    );
    // Refused again as it is: the rows at their lines in this table, the columns once.
    let (_, _, _, again) =
        upload_for_table(&w, "text/csv", refused.clone().into_bytes(), "text/csv").await;
    let again = String::from_utf8(again).unwrap();
    assert_eq!(again.matches("原行号").count(), 1, "{again}");
    assert!(again.contains(",陈志愿,2,服务日期："), "{again}");
    assert!(again.contains(",陈志愿,3,服务时长："), "{again}");
    // Fixed, it lands as it is: the first row was entered the first time.
    let fixed = refused
        .replace("2026-02-30", "2026-11-03")
        .replace("两小时", "2");
    let (status, report) = upload(&w, &w.coordinator, "text/csv", fixed.clone().into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (report["inserted"].as_i64(), report["invalid"].as_i64()),
        (Some(2), Some(0))
    );
    assert_eq!(w.totals(&a, &token).await["minutes"], (2 + 3 + 2) * 60);
    let (_, _, _, nothing) = upload_for_table(&w, "text/csv", fixed.into_bytes(), "text/csv").await;
    assert_eq!(
        String::from_utf8(nothing).unwrap(),
        "\u{FEFF}志愿者编号,活动名称,服务日期,服务地点,服务内容,服务时长,负责人,原行号,原因\r\n"
    );
    // A workbook: what it holds, uploaded again, is refused on the same fields.
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let bad = format!(
        "volunteer_number,activity_name,service_date,place,content,hours,responsible_person\n\
         {a},义务植树,2099-01-01,白云山,植树,2,陈志愿\n\
         1000000000009,义务植树,2026-11-02,白云山,植树,2,陈志愿\n"
    );
    let (status, content_type, _, book) = upload_for_table(
        &w,
        "text/csv",
        bad.into_bytes(),
        &format!("application/json;q=0.5, {xlsx}"),
    )
    .await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, xlsx));
    let (status, report) = upload(&w, &w.coordinator, xlsx, book).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        outcomes(&report),
        [
            (2, "invalid".into(), Some("service_date".into())),
            (3, "invalid".into(), Some("volunteer_number".into())),
        ]
    );
}

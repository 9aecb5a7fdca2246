//! Rendering a certificate: a one-page summary, a 40-record listing, and the summary in
//! English (labels wider than Chinese ones, a paragraph wrapped between words).

use criterion::{Criterion, criterion_group, criterion_main};
use zhiyuan_pdf::{Document, Line, render};

fn doc(records: usize) -> Document {
    let mut lines = vec![
        Line::Title("志愿服务记录证明".into()),
        Line::Field("姓名：".into(), "陈志愿".into()),
        Line::Field("累计服务时长：".into(), "1,286.5 小时（412 条记录）".into()),
        Line::Header(vec![
            "日期".into(),
            "活动".into(),
            "时长".into(),
            "记录单位".into(),
        ]),
    ];
    for i in 0..records {
        lines.push(Line::Row(vec![
            format!("2026-{:02}-{:02}", i % 12 + 1, i % 28 + 1),
            format!("社区服务活动第{i}期"),
            "3 小时".into(),
            "天河区志愿者协会".into(),
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

fn english() -> Document {
    Document {
        title: "Volunteer Service Record Certificate".into(),
        lines: vec![
            Line::Title("Volunteer Service Record Certificate".into()),
            Line::Field("Name: ".into(), "陈志愿".into()),
            Line::Field(
                "Total service hours: ".into(),
                "1286.5 hours (412 records)".into(),
            ),
            Line::Text(
                "Issued free of charge under the Measures for Recording Volunteer Services \
                 and Issuing Certificates (Trial) of the Ministry of Civil Affairs. The hours \
                 stated are time actually served. Scan the QR code or visit \
                 https://zhiyuan.example.gd/verify/ZY-ABCD-EFGH-JKMN-PQRS to verify that \
                 this certificate is genuine and valid."
                    .into(),
            ),
        ],
        columns: vec![0.18, 0.47, 0.12, 0.23],
        qr: "https://zhiyuan.example.gd/verify/ZY-ABCD-EFGH-JKMN-PQRS".into(),
        qr_caption: "Scan to verify".into(),
        footer: "Certificate number ZY-ABCD-EFGH-JKMN-PQRS".into(),
        page_numbers: "Page {page} of {pages}".into(),
    }
}

fn bench(c: &mut Criterion) {
    let summary = doc(0);
    let english = english();
    c.bench_function("certificate_pdf_summary_en", |b| {
        b.iter(|| render(&english))
    });
    let listing = doc(40);
    c.bench_function("certificate_pdf_summary", |b| b.iter(|| render(&summary)));
    c.bench_function("certificate_pdf_40_records", |b| {
        b.iter(|| render(&listing))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

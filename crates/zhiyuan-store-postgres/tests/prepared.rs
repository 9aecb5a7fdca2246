//! Every statement the PostgreSQL store sends is prepared once per connection
//! (`prepare_cached`) and then only bound and executed. SQL text handed straight to
//! `query`/`execute` is parsed and planned by the server on every call, and costs a round
//! trip more; 47 such calls had crept into the later modules before this check existed.

use std::path::Path;

/// Calls whose first argument is SQL text rather than a prepared statement: a string
/// literal, a `format!`, or a constant in capitals.
fn unprepared_calls(source: &str) -> Vec<usize> {
    let mut found = Vec::new();
    for method in [".query(", ".query_opt(", ".query_one(", ".execute("] {
        for (at, _) in source.match_indices(method) {
            let rest = source[at + method.len()..].trim_start();
            let sql_text = rest.starts_with('"')
                || rest.starts_with("&format!")
                || rest.starts_with("format!")
                || rest
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .next()
                    .is_some_and(|word| {
                        word.len() > 1 && word.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                    });
            if sql_text {
                found.push(source[..at].lines().count());
            }
        }
    }
    found
}

#[test]
fn every_statement_of_the_store_is_prepared_once_per_connection() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    for entry in std::fs::read_dir(&src).expect("the store's sources") {
        let path = entry.expect("a source file").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        // The migrations run once, at start-up, as plain SQL.
        if name == "conn.rs" || !name.ends_with(".rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("readable source");
        for line in unprepared_calls(&source) {
            offenders.push(format!("{name}:{line}"));
        }
    }
    assert!(
        offenders.is_empty(),
        "statements sent as text, not through prepare_cached: {offenders:?}"
    );
}

#[test]
fn the_check_finds_sql_text_handed_to_a_query() {
    let text = "let rows = client\n    .query(\n        \"SELECT 1\",\n        &[],\n    )";
    assert_eq!(unprepared_calls(text), [2]);
    assert_eq!(unprepared_calls("tx.execute(&format!(\"{X}\"), &[])"), [1]);
    assert_eq!(unprepared_calls("tx.query_one(PUT_ITEM, &[])"), [1]);
    let prepared = "client.query(&client.prepare_cached(\"SELECT 1\").await?, &[])";
    assert!(unprepared_calls(prepared).is_empty());
    assert!(unprepared_calls("tx.query(&stmt, &[])").is_empty());
}

//! Every statement the PostgreSQL store sends is prepared once per connection
//! (`prepare_cached`) and then only bound and executed. SQL text handed straight to
//! `query`/`execute` is parsed and planned by the server on every call, and costs a round
//! trip more; 47 such calls had crept into the later modules before this check existed.

use std::path::{Path, PathBuf};

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

/// Lines where `IN (SELECT …)` holds a `LIMIT $n`. Such a subquery's plan once prepared
/// (the generic plan PostgreSQL may switch to after five calls) cannot know the limit, so
/// it may hash the subquery's rows and scan the whole outer table: the notifier's read of
/// its queue did so, scanning the audit log at every round. Written as
/// `= ANY(ARRAY(SELECT … LIMIT $n))`, the outer table is probed by key in every plan.
fn limited_in_subqueries(source: &str) -> Vec<usize> {
    let mut found = Vec::new();
    for (at, _) in source.match_indices('(') {
        // `IN` as a word before the parenthesis and `SELECT` after it, in any case and
        // across line breaks.
        let before = source[..at].trim_end();
        let keyword_in = before
            .len()
            .checked_sub(2)
            .and_then(|start| Some((start, before.get(start..)?)))
            .is_some_and(|(start, word)| {
                word.eq_ignore_ascii_case("in")
                    && !before[..start].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            });
        let body = &source[at + 1..];
        let select = body
            .trim_start()
            .get(..6)
            .is_some_and(|word| word.eq_ignore_ascii_case("select"));
        if !(keyword_in && select) {
            continue;
        }
        let mut depth = 1;
        let end = body
            .char_indices()
            .find(|&(_, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .map_or(body.len(), |(i, _)| i);
        if body[..end].to_ascii_uppercase().contains("LIMIT $") {
            found.push(source[..at].lines().count());
        }
    }
    found
}

/// Where `check` finds something in the store's sources (`file:line`), but in `conn.rs`,
/// whose migrations run once, at start-up, as plain SQL.
fn offenders(check: fn(&str) -> Vec<usize>) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&src)
        .expect("the store's sources")
        .map(|entry| entry.expect("a source file").path())
        .collect();
    files.sort();
    let mut found = Vec::new();
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name == "conn.rs" || !name.ends_with(".rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("readable source");
        found.extend(
            check(&source)
                .into_iter()
                .map(|line| format!("{name}:{line}")),
        );
    }
    found
}

#[test]
fn every_statement_of_the_store_is_prepared_once_per_connection() {
    let found = offenders(unprepared_calls);
    assert!(
        found.is_empty(),
        "statements sent as text, not through prepare_cached: {found:?}"
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

#[test]
fn no_prepared_statement_reaches_a_table_through_a_limited_in_subquery() {
    let found = offenders(limited_in_subqueries);
    assert!(
        found.is_empty(),
        "`IN (SELECT … LIMIT $n)`, whose generic plan may scan the outer table: {found:?}"
    );
}

#[test]
fn the_check_finds_a_limited_in_subquery_and_nothing_else() {
    let queue = "SELECT * FROM audit_log\n WHERE id IN (SELECT audit_id FROM event_queue\n ORDER BY audit_id LIMIT $1)\n ORDER BY id";
    assert_eq!(limited_in_subqueries(queue), [2]);
    let nested = "WHERE id IN (SELECT id FROM t WHERE k = ANY($1) ORDER BY f(x) LIMIT $2)";
    assert_eq!(limited_in_subqueries(nested), [1]);
    let unlimited = "WHERE site_id IN (SELECT id FROM sites WHERE region_code = ANY($1)) LIMIT $2";
    assert!(limited_in_subqueries(unlimited).is_empty());
    let probed = "WHERE id = ANY(ARRAY(SELECT audit_id FROM event_queue LIMIT $1))";
    assert!(limited_in_subqueries(probed).is_empty());
    let lower_case_split = "where id in\n  (\n select audit_id from event_queue limit $1)";
    assert_eq!(limited_in_subqueries(lower_case_split), [2]);
    let not_in = "WHERE id NOT IN(SELECT id FROM t LIMIT $1)";
    assert_eq!(limited_in_subqueries(not_in), [1]);
    let joined = "FROM a JOIN (SELECT id FROM t LIMIT $1) b ON b.id = a.id";
    assert!(limited_in_subqueries(joined).is_empty(), "JOIN is not IN");
}

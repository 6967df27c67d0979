//! The Grafana SQL proxy's gate, pure: reads a query once into tokens
//! (string literals, quoted identifiers and comments recognised, so nothing
//! inside them can end a statement or pass for a keyword), lets through one
//! read-only statement over our datasets only, and rewrites the friendly
//! column names of `ingest::data_points` layouts (`service_name`,
//! `duration_ms`, …) to the physical ones (`blob4`, `double1`, …) before the
//! query goes to the Analytics Engine SQL API. Also describes each dataset's
//! friendly columns for `GET /api/query/schema`.

use serde::Serialize;

use crate::api::ApiError;
use crate::ingest::data_points::Layout;

/// Longest query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;

/// Output formats the Analytics Engine SQL API answers in (`FORMAT …`).
pub const FORMATS: [&str; 3] = ["JSON", "JSONEachRow", "TabSeparated"];

/// Words that only appear in statements that write, change or escape the
/// datasets, or in clauses the proxy does not pass on.
const FORBIDDEN: [&str; 20] = [
    "INSERT", "UPDATE", "DELETE", "ALTER", "DROP", "CREATE", "TRUNCATE", "OPTIMIZE", "SYSTEM", "KILL", "SET", "GRANT",
    "REVOKE", "ATTACH", "DETACH", "RENAME", "EXCHANGE", "INTO", "OUTFILE", "SETTINGS",
];

/// Why a query is refused (the route answers 400 with the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlRejection {
    #[error("the query is empty")]
    Empty,
    #[error("the query is {0} bytes, the limit is {MAX_QUERY_BYTES}")]
    TooLarge(usize),
    #[error("unterminated {0}")]
    Unterminated(&'static str),
    #[error("one statement only: something follows `;`")]
    MultipleStatements,
    #[error("only SELECT, SHOW TABLES and DESCRIBE queries are allowed, not {0}")]
    NotReadOnly(String),
    #[error("{0} is not allowed in a query")]
    Forbidden(String),
    #[error("table functions are not allowed: {0}(…)")]
    TableFunction(String),
    #[error("unknown table {0}: queries may read {1}")]
    UnknownTable(String, String),
    #[error("FORMAT {0} is not supported: use JSON, JSONEachRow or TabSeparated")]
    Format(String),
    #[error("column {0} means different columns in {1}: qualify it (table.{0})")]
    Ambiguous(String, String),
}

impl From<SqlRejection> for ApiError {
    fn from(e: SqlRejection) -> Self {
        ApiError::bad_request(e.to_string())
    }
}

/// The SQL of a `POST /api/query` body: `{"query": "…"}` when the content
/// type is JSON, else the raw body (as the Analytics Engine SQL API takes it).
pub fn query_text(content_type: Option<&str>, body: &[u8]) -> Result<String, ApiError> {
    let json = content_type.is_some_and(|ct| ct.trim().to_ascii_lowercase().starts_with("application/json"));
    if json {
        #[derive(serde::Deserialize)]
        struct Body {
            query: String,
        }
        return serde_json::from_slice::<Body>(body)
            .map(|b| b.query)
            .map_err(|e| ApiError::bad_request(format!("expected {{\"query\": \"<SQL>\"}}: {e}")));
    }
    String::from_utf8(body.to_vec()).map_err(|_| ApiError::bad_request("the query is not UTF-8 text"))
}

/// What an answer of the Analytics Engine SQL API becomes: its body passed
/// on unchanged on success, otherwise an error that says whose fault it is.
/// `message` is the upstream body (cut to a readable length).
pub fn upstream_outcome(status: u16, message: &str, retry_after: Option<u32>) -> Result<(), ApiError> {
    let message: String = message.trim().chars().take(1000).collect();
    match status {
        200..=299 => Ok(()),
        401 | 403 => Err(ApiError::bad_gateway(format!(
            "the Analytics Engine SQL API refused the collector's credentials ({status}): check CF_ACCOUNT_ID and the \
             CF_API_TOKEN secret (it needs Account Analytics Read)"
        ))),
        429 => Err(ApiError::too_many_requests(
            format!("the Analytics Engine SQL API is rate limiting: {message}"),
            retry_after.unwrap_or(10),
        )),
        400..=499 => Err(ApiError::bad_request(format!("Analytics Engine SQL API: {message}"))),
        _ => Err(ApiError::bad_gateway(format!("the Analytics Engine SQL API answered {status}: {message}"))),
    }
}

/// A query ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedQuery {
    /// The query with physical column names and without comments.
    pub sql: String,
    /// The `FORMAT` asked for, if any (as written).
    pub format: Option<String>,
    /// The datasets it reads.
    pub datasets: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Word,
    /// `"name"` or `` `name` ``.
    Quoted,
    Text,
    Number,
    Punct,
    Space,
    Comment,
}

#[derive(Debug, Clone, Copy)]
struct Token<'q> {
    kind: Kind,
    text: &'q str,
}

impl<'q> Token<'q> {
    fn is(&self, keyword: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(keyword)
    }

    fn is_punct(&self, p: &str) -> bool {
        self.kind == Kind::Punct && self.text == p
    }

    /// An identifier's name, without its quotes.
    fn name(&self) -> Option<&'q str> {
        match self.kind {
            Kind::Word => Some(self.text),
            Kind::Quoted => Some(&self.text[1..self.text.len() - 1]),
            _ => None,
        }
    }
}

/// Splits a query into tokens; string literals, quoted identifiers and comments are single tokens.
fn tokens(sql: &str) -> Result<Vec<Token<'_>>, SqlRejection> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let c = bytes[i];
        let kind = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                Kind::Space
            }
            // `--` and, as ClickHouse reads them, `#` line comments (comments are never sent on).
            b'-' | b'#' if c == b'#' || bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                Kind::Comment
            }
            // A heredoc string, `$$…$$` or `$tag$…$tag$`, as ClickHouse reads it.
            b'$' if heredoc_tag(&sql[i..]).is_some() => {
                let tag = heredoc_tag(&sql[i..]).expect("just checked");
                let end = sql[i + tag.len()..].find(tag).ok_or(SqlRejection::Unterminated("heredoc string"))?;
                i += tag.len() + end + tag.len();
                Kind::Text
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = sql[i + 2..].find("*/").ok_or(SqlRejection::Unterminated("comment"))?;
                i += 2 + end + 2;
                Kind::Comment
            }
            b'\'' | b'"' | b'`' => {
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => {
                            return Err(SqlRejection::Unterminated(if c == b'\'' {
                                "string literal"
                            } else {
                                "quoted identifier"
                            }))
                        }
                        Some(b'\\') => i += 2,
                        Some(&b) if b == c && bytes.get(i + 1) == Some(&c) => i += 2,
                        Some(&b) if b == c => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                if c == b'\'' {
                    Kind::Text
                } else {
                    Kind::Quoted
                }
            }
            b'0'..=b'9' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                    i += 1;
                }
                Kind::Number
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                Kind::Word
            }
            _ => {
                // One character (a multi-byte one whole).
                i += sql[i..].chars().next().map_or(1, char::len_utf8);
                Kind::Punct
            }
        };
        out.push(Token { kind, text: &sql[start..i.min(sql.len())] });
    }
    Ok(out)
}

/// The opening `$tag$` of a heredoc string at the start of `rest`, if one is there.
fn heredoc_tag(rest: &str) -> Option<&str> {
    let close = rest[1..].find('$')? + 1;
    rest[1..close].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_').then(|| &rest[..=close])
}

/// A friendly column of a dataset and its physical name.
fn physical(layout: &Layout, name: &str) -> Option<String> {
    let blob = layout.blobs.iter().position(|c| c.name == name).map(|i| format!("blob{}", i + 1));
    let double = || layout.doubles.iter().position(|c| c.name == name).map(|i| format!("double{}", i + 1));
    blob.or_else(double).or_else(|| (layout.index.name == name).then(|| "index1".to_string()))
}

/// Lets a read-only query over `layouts`' datasets through, with friendly
/// column names rewritten to physical ones.
pub fn prepare(sql: &str, layouts: &[Layout]) -> Result<PreparedQuery, SqlRejection> {
    if sql.len() > MAX_QUERY_BYTES {
        return Err(SqlRejection::TooLarge(sql.len()));
    }
    // Comments go: they must not hide anything, and the upstream never sees them.
    let all = tokens(sql)?;
    let mut toks: Vec<Token> = all.into_iter().filter(|t| t.kind != Kind::Comment).collect();
    // One statement: a single trailing `;` is dropped, anything after it refused.
    if let Some(semi) = toks.iter().position(|t| t.is_punct(";")) {
        if toks[semi + 1..].iter().any(|t| t.kind != Kind::Space) {
            return Err(SqlRejection::MultipleStatements);
        }
        toks.truncate(semi);
    }
    let significant: Vec<usize> = (0..toks.len()).filter(|&i| toks[i].kind != Kind::Space).collect();
    let first = *significant.first().ok_or(SqlRejection::Empty)?;
    if let Some(word) = toks.iter().find(|t| FORBIDDEN.iter().any(|f| t.is(f))) {
        return Err(SqlRejection::Forbidden(word.text.to_ascii_uppercase()));
    }
    // Functions that read dictionaries or other tables.
    if let Some(word) = toks.iter().find(|t| {
        let lower = t.text.to_ascii_lowercase();
        t.kind == Kind::Word && (lower.starts_with("dictget") || lower.starts_with("joinget"))
    }) {
        return Err(SqlRejection::TableFunction(word.text.to_string()));
    }
    let known = || layouts.iter().map(|l| l.dataset).collect::<Vec<_>>().join(", ");
    let dataset = |name: &str| {
        layouts.iter().find(|l| l.dataset == name).ok_or_else(|| SqlRejection::UnknownTable(name.to_string(), known()))
    };
    let format = format_clause(&toks, &significant)?;
    let lead = toks[first];
    if lead.is("SHOW") || lead.is("DESCRIBE") || lead.is("DESC") {
        return introspection(&toks, &significant, format, dataset);
    }
    if !(lead.is("SELECT") || lead.is("WITH")) {
        return Err(SqlRejection::NotReadOnly(lead.text.to_ascii_uppercase()));
    }

    // Names defined in the query: CTEs (`name AS (`) and aliases (`AS name`).
    // The significant tokens around token `k` (`significant` is ascending: a binary search, not a scan per token).
    let rank = |k: usize| significant.binary_search(&k).ok();
    let next = |k: usize| rank(k).and_then(|p| significant.get(p + 1)).copied();
    let prev = |k: usize| rank(k).and_then(|p| p.checked_sub(1)).map(|p| significant[p]);
    let mut ctes: Vec<&str> = Vec::new();
    let mut aliases: Vec<&str> = Vec::new();
    for (p, &k) in significant.iter().enumerate() {
        if toks[k].is("AS") {
            if let (Some(&before), Some(&after)) = (p.checked_sub(1).map(|q| &significant[q]), significant.get(p + 1)) {
                if toks[after].is_punct("(") {
                    ctes.extend(toks[before].name());
                } else if let Some(name) = toks[after].name() {
                    aliases.push(name);
                }
            }
        }
    }

    // Tables: what follows FROM or JOIN where a table belongs (not `EXTRACT(x FROM y)`, not
    // `ARRAY JOIN column`), each of a comma list (`FROM a, b`), and a bare name after IN (`x IN t`).
    let mut datasets: Vec<&'static str> = Vec::new();
    let mut table_aliases: Vec<(&str, &'static str)> = Vec::new();
    let mut depth_selects: Vec<bool> = vec![true];
    let known_tables = known();
    for (p, &k) in significant.iter().enumerate() {
        let t = toks[k];
        let follows = |offset: usize| significant.get(p + offset).map(|&a| toks[a]);
        let in_select = *depth_selects.last().expect("never empty");
        let starts_tables = (t.is("FROM") && in_select)
            || (t.is("JOIN") && !p.checked_sub(1).is_some_and(|b| toks[significant[b]].is("ARRAY")))
            || (t.is("IN")
                && follows(1).is_some_and(|n| n.name().is_some())
                && !follows(2).is_some_and(|n| n.is_punct("(")));
        if t.is_punct("(") {
            depth_selects.push(false);
        } else if t.is_punct(")") {
            if depth_selects.len() > 1 {
                depth_selects.pop();
            }
        } else if t.is("SELECT") {
            *depth_selects.last_mut().expect("never empty") = true;
        } else if starts_tables {
            let mut q = p + 1;
            while let Some((name, alias, end)) = table_ref(&toks, &significant, q, &known_tables)? {
                if let Some(name) = name.filter(|n| !ctes.contains(n)) {
                    let layout = dataset(name)?;
                    if !datasets.contains(&layout.dataset) {
                        datasets.push(layout.dataset);
                    }
                    table_aliases.extend(alias.map(|a| (a, layout.dataset)));
                    table_aliases.push((layout.dataset, layout.dataset));
                }
                match significant.get(end) {
                    Some(&comma) if toks[comma].is_punct(",") && t.is("FROM") => q = end + 1,
                    _ => break,
                }
            }
        }
    }
    let referenced: Vec<&Layout> = layouts.iter().filter(|l| datasets.contains(&l.dataset)).collect();

    // Rewrite friendly names.
    let mut out = String::with_capacity(sql.len() + 64);
    let mut select_list: Vec<bool> = vec![false];
    for (k, t) in toks.iter().enumerate() {
        if t.kind == Kind::Space || t.kind == Kind::Punct || t.kind == Kind::Number || t.kind == Kind::Text {
            if t.is_punct("(") {
                select_list.push(false);
            } else if t.is_punct(")") && select_list.len() > 1 {
                select_list.pop();
            }
            out.push_str(t.text);
            continue;
        }
        if t.is("SELECT") {
            *select_list.last_mut().expect("never empty") = true;
        } else if t.is("FROM") {
            *select_list.last_mut().expect("never empty") = false;
        }
        let Some(name) = t.name() else {
            out.push_str(t.text);
            continue;
        };
        let before = prev(k).map(|b| toks[b]);
        let after = next(k).map(|a| toks[a]);
        let called = after.is_some_and(|a| a.is_punct("("));
        let defines_alias = before.is_some_and(|b| b.is("AS"));
        let qualifier = before
            .filter(|b| b.is_punct("."))
            .and_then(|_| prev(prev(k).expect("a dot was found before")))
            .and_then(|q| toks[q].name());
        let candidates: Vec<&Layout> = match qualifier {
            Some(q) => match table_aliases.iter().find(|(a, _)| *a == q) {
                Some((_, ds)) => referenced.iter().filter(|l| l.dataset == *ds).copied().collect(),
                None => Vec::new(),
            },
            None => referenced.clone(),
        };
        let user_alias = qualifier.is_none() && aliases.contains(&name);
        if called || defines_alias || user_alias || after.is_some_and(|a| a.is_punct(".")) {
            out.push_str(t.text);
            continue;
        }
        let mapped: Vec<(String, &str)> =
            candidates.iter().filter_map(|l| physical(l, name).map(|p| (p, l.dataset))).collect();
        let Some((column, _)) = mapped.first() else {
            out.push_str(t.text);
            continue;
        };
        if mapped.iter().any(|(c, _)| c != column) {
            let where_ = mapped.iter().map(|(c, d)| format!("{d} ({c})")).collect::<Vec<_>>().join(" and ");
            return Err(SqlRejection::Ambiguous(name.to_string(), where_));
        }
        // A bare friendly column in a SELECT list keeps its friendly name as the output column.
        let bare_item = *select_list.last().expect("never empty")
            && qualifier.is_none()
            && before.is_some_and(|b| b.is("SELECT") || b.is("DISTINCT") || b.is_punct(","))
            && after.is_none_or(|a| a.is_punct(",") || a.is("FROM"));
        out.push_str(column);
        if bare_item {
            out.push_str(" AS ");
            out.push_str(name);
        }
    }
    Ok(PreparedQuery { sql: out.trim().to_string(), format, datasets })
}

/// A table in a query: its name (`None` for a subquery), its alias, and the
/// significant position after it.
type TableRef<'q> = (Option<&'q str>, Option<&'q str>, usize);

/// The table reference at significant position `q`. Table functions and
/// `db.table` are refused; a subquery is skipped to its closing parenthesis.
fn table_ref<'q>(
    toks: &[Token<'q>],
    significant: &[usize],
    q: usize,
    known: &str,
) -> Result<Option<TableRef<'q>>, SqlRejection> {
    let at = |offset: usize| significant.get(q + offset).map(|&i| toks[i]);
    let Some(target) = at(0) else { return Ok(None) };
    if target.is_punct("(") {
        let mut depth = 0usize;
        for (offset, &i) in significant[q..].iter().enumerate() {
            if toks[i].is_punct("(") {
                depth += 1;
            } else if toks[i].is_punct(")") {
                depth -= 1;
                if depth == 0 {
                    return Ok(Some(aliased(toks, significant, None, q + offset)));
                }
            }
        }
        return Ok(None);
    }
    let name = target.name().ok_or_else(|| SqlRejection::UnknownTable(target.text.to_string(), known.to_string()))?;
    match at(1) {
        Some(next) if next.is_punct("(") => return Err(SqlRejection::TableFunction(name.to_string())),
        Some(next) if next.is_punct(".") => {
            let qualified = at(2).map_or("", |t| t.text);
            return Err(SqlRejection::UnknownTable(format!("{name}.{qualified}"), known.to_string()));
        }
        _ => {}
    }
    Ok(Some(aliased(toks, significant, Some(name), q)))
}

/// A table (or subquery) ending at significant position `last`, with the alias after it if any.
fn aliased<'q>(toks: &[Token<'q>], significant: &[usize], name: Option<&'q str>, last: usize) -> TableRef<'q> {
    let at = |offset: usize| significant.get(last + offset).map(|&i| toks[i]);
    match (at(1), at(2)) {
        (Some(a), Some(b)) if a.is("AS") => (name, b.name(), last + 3),
        (Some(a), _) if a.kind == Kind::Word && !is_clause_word(a.text) => (name, a.name(), last + 2),
        _ => (name, None, last + 1),
    }
}

/// Words that follow a table where an alias could stand, but are clauses.
fn is_clause_word(word: &str) -> bool {
    [
        "WHERE", "GROUP", "ORDER", "LIMIT", "HAVING", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "ON", "USING",
        "UNION", "FORMAT", "PREWHERE", "OFFSET", "ANY", "ALL", "SAMPLE", "FINAL", "ARRAY", "GLOBAL",
    ]
    .iter()
    .any(|w| word.eq_ignore_ascii_case(w))
}

/// The `FORMAT x` clause (last in a query), checked against `FORMATS`.
fn format_clause(toks: &[Token<'_>], significant: &[usize]) -> Result<Option<String>, SqlRejection> {
    let n = significant.len();
    if n >= 2 && toks[significant[n - 2]].is("FORMAT") {
        let name = toks[significant[n - 1]].text;
        return match FORMATS.iter().find(|f| f.eq_ignore_ascii_case(name)) {
            Some(f) => Ok(Some((*f).to_string())),
            None => Err(SqlRejection::Format(name.to_string())),
        };
    }
    match significant.iter().find(|&&k| toks[k].is("FORMAT")) {
        Some(&k) => Err(SqlRejection::Format(
            significant.iter().skip_while(|&&s| s != k).nth(1).map_or("", |&s| toks[s].text).to_string(),
        )),
        None => Ok(None),
    }
}

/// `SHOW TABLES` and `DESCRIBE [TABLE] <dataset>`, optionally with a FORMAT.
fn introspection<'l>(
    toks: &[Token<'_>],
    significant: &[usize],
    format: Option<String>,
    dataset: impl Fn(&str) -> Result<&'l Layout, SqlRejection>,
) -> Result<PreparedQuery, SqlRejection> {
    let words: Vec<Token> = significant.iter().map(|&k| toks[k]).collect();
    let body = if format.is_some() { &words[..words.len() - 2] } else { &words[..] };
    let refused = || SqlRejection::NotReadOnly(body.iter().map(|t| t.text).collect::<Vec<_>>().join(" "));
    let datasets = match body {
        [show, tables] if show.is("SHOW") && tables.is("TABLES") => Vec::new(),
        [describe, name] | [describe, _, name]
            if (describe.is("DESCRIBE") || describe.is("DESC")) && (body.len() == 2 || body[1].is("TABLE")) =>
        {
            vec![dataset(name.name().ok_or_else(refused)?)?.dataset]
        }
        _ => return Err(refused()),
    };
    let sql = toks.iter().map(|t| t.text).collect::<String>().trim().to_string();
    Ok(PreparedQuery { sql, format, datasets })
}

/// A dataset's columns as `GET /api/query/schema` lists them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetSchema {
    pub dataset: &'static str,
    pub columns: Vec<ColumnSchema>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnSchema {
    /// The name queries may use.
    pub name: &'static str,
    /// The Analytics Engine column it stands for.
    pub column: String,
    /// `String`, `Double`, `DateTime` or `UInt32`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub description: &'static str,
}

/// Every dataset's columns: the built-in ones, then the friendly names.
pub fn schema(layouts: &[Layout]) -> Vec<DatasetSchema> {
    layouts
        .iter()
        .map(|l| {
            let builtin = [
                ("timestamp", "DateTime", "when the point was written"),
                ("_sample_interval", "UInt32", "how many points this row stands for (weight counts and sums by it)"),
                ("index1", "String", l.index.description),
            ];
            let mut columns: Vec<ColumnSchema> = builtin
                .iter()
                .map(|&(name, kind, description)| ColumnSchema { name, column: name.to_string(), kind, description })
                .collect();
            let blobs = l.blobs.iter().enumerate().map(|(i, c)| (c, format!("blob{}", i + 1), "String"));
            let doubles = l.doubles.iter().enumerate().map(|(i, c)| (c, format!("double{}", i + 1), "Double"));
            columns.extend(blobs.chain(doubles).map(|(c, column, kind)| ColumnSchema {
                name: c.name,
                column,
                kind,
                description: c.description,
            }));
            DatasetSchema { dataset: l.dataset, columns }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::data_points::{LAYOUTS as ALL, TRACES};

    fn ok(sql: &str) -> String {
        prepare(sql, &ALL).unwrap_or_else(|e| panic!("{sql}: {e}")).sql
    }

    fn refused(sql: &str) -> SqlRejection {
        prepare(sql, &ALL).expect_err(sql)
    }

    #[test]
    fn the_issue_example_works_as_written() {
        let q = prepare(
            "SELECT service_name, COUNT(*) FROM distributed_traces WHERE timestamp > NOW() - INTERVAL '1' HOUR GROUP BY service_name",
            &ALL,
        )
        .unwrap();
        assert_eq!(
            q.sql,
            "SELECT blob4 AS service_name, COUNT(*) FROM distributed_traces WHERE timestamp > NOW() - INTERVAL '1' HOUR GROUP BY blob4"
        );
        assert_eq!((q.format, q.datasets), (None, vec!["distributed_traces"]));
    }

    #[test]
    fn friendly_names_are_rewritten_where_they_are_columns_only() {
        assert_eq!(
            ok("SELECT operation, quantileWeighted(0.95)(duration_ms, _sample_interval) AS p95 FROM distributed_traces \
                WHERE service_name = 'service_name' AND is_error = 1 GROUP BY operation ORDER BY p95 DESC LIMIT 10"),
            "SELECT blob5 AS operation, quantileWeighted(0.95)(double1, _sample_interval) AS p95 FROM distributed_traces \
                WHERE blob4 = 'service_name' AND double3 = 1 GROUP BY blob5 ORDER BY p95 DESC LIMIT 10",
            "not inside strings; physical and built-in names stay"
        );
        // A user alias that shadows a friendly name keeps its meaning; calls are functions, not columns.
        assert_eq!(
            ok("SELECT count() AS duration_ms FROM distributed_traces ORDER BY duration_ms"),
            "SELECT count() AS duration_ms FROM distributed_traces ORDER BY duration_ms"
        );
        // Qualified names resolve through table aliases; quoted identifiers are names too.
        assert_eq!(
            ok(r#"SELECT t.trace_id, "span_id" FROM distributed_traces AS t WHERE t.blob1 <> ''"#),
            "SELECT t.blob1, blob2 AS span_id FROM distributed_traces AS t WHERE t.blob1 <> ''"
        );
        // The index is `index1`; `service_name` means the blob. Comments vanish.
        assert_eq!(
            ok("SELECT index1, body -- the message\nFROM worker_logs /* recent */ WHERE severity = 'ERROR'"),
            "SELECT index1, blob6 AS body \nFROM worker_logs  WHERE blob4 = 'ERROR'"
        );
        assert_eq!(
            ok("SELECT metric_name, value FROM worker_metrics;"),
            "SELECT blob1 AS metric_name, double1 AS value FROM worker_metrics"
        );
    }

    #[test]
    fn subqueries_ctes_and_function_froms_are_understood() {
        assert_eq!(
            ok("WITH recent AS (SELECT trace_id FROM distributed_traces WHERE is_root = 1) \
                SELECT count() FROM recent WHERE EXTRACT(HOUR FROM timestamp) > 3"),
            "WITH recent AS (SELECT blob1 AS trace_id FROM distributed_traces WHERE double5 = 1) \
                SELECT count() FROM recent WHERE EXTRACT(HOUR FROM timestamp) > 3"
        );
        assert_eq!(
            ok("SELECT * FROM worker_logs WHERE trace_id IN (SELECT trace_id FROM distributed_traces WHERE is_error = 1)"),
            "SELECT * FROM worker_logs WHERE blob1 IN (SELECT blob1 AS trace_id FROM distributed_traces WHERE double3 = 1)"
        );
    }

    #[test]
    fn comma_joins_in_lists_and_array_joins_are_read_as_such() {
        assert_eq!(
            ok("SELECT l.body FROM worker_logs AS l, distributed_traces t WHERE l.trace_id IN (1, 2)"),
            "SELECT l.blob6 FROM worker_logs AS l, distributed_traces t WHERE l.blob1 IN (1, 2)"
        );
        assert_eq!(
            ok("SELECT 1 FROM worker_logs WHERE trace_id IN distributed_traces"),
            "SELECT 1 FROM worker_logs WHERE blob1 IN distributed_traces"
        );
        assert_eq!(
            ok("SELECT x FROM worker_logs ARRAY JOIN [1, 2] AS x"),
            "SELECT x FROM worker_logs ARRAY JOIN [1, 2] AS x"
        );
    }

    #[test]
    fn names_meaning_different_columns_in_two_datasets_must_be_qualified() {
        let e = refused("SELECT service_name FROM distributed_traces JOIN worker_logs ON trace_id = trace_id");
        assert!(matches!(e, SqlRejection::Ambiguous(ref n, _) if n == "service_name"), "{e}");
        assert_eq!(
            ok("SELECT t.service_name, l.body FROM distributed_traces t JOIN worker_logs l ON t.trace_id = l.trace_id"),
            "SELECT t.blob4, l.blob6 FROM distributed_traces t JOIN worker_logs l ON t.blob1 = l.blob1"
        );
    }

    #[test]
    fn introspection_and_formats() {
        assert_eq!(prepare("SHOW TABLES", &ALL).unwrap().sql, "SHOW TABLES");
        assert_eq!(prepare("DESCRIBE TABLE worker_logs", &ALL).unwrap().datasets, ["worker_logs"]);
        assert_eq!(prepare("desc distributed_traces FORMAT JSON", &ALL).unwrap().format.as_deref(), Some("JSON"));
        let q = prepare("SELECT trace_id FROM distributed_traces FORMAT jsoneachrow", &ALL).unwrap();
        assert_eq!(q.format.as_deref(), Some("JSONEachRow"));
        assert_eq!(q.sql, "SELECT blob1 AS trace_id FROM distributed_traces FORMAT jsoneachrow");
        assert_eq!(refused("SELECT 1 FROM worker_logs FORMAT Native"), SqlRejection::Format("Native".into()));
        assert!(matches!(refused("DESCRIBE other_table"), SqlRejection::UnknownTable(..)));
        assert!(matches!(refused("SHOW DATABASES"), SqlRejection::NotReadOnly(_)));
    }

    #[test]
    fn writes_ddl_and_tricks_are_refused() {
        type Expect = fn(&SqlRejection) -> bool;
        let cases: &[(&str, Expect)] = &[
            ("", |e| *e == SqlRejection::Empty),
            ("  -- nothing\n", |e| *e == SqlRejection::Empty),
            ("INSERT INTO distributed_traces VALUES (1)", |e| matches!(e, SqlRejection::Forbidden(_))),
            ("DROP TABLE distributed_traces", |e| matches!(e, SqlRejection::Forbidden(_))),
            ("ALTER TABLE worker_logs DELETE WHERE 1", |e| matches!(e, SqlRejection::Forbidden(_))),
            ("CREATE TABLE x (a Int8)", |e| matches!(e, SqlRejection::Forbidden(_))),
            ("TRUNCATE worker_logs", |e| matches!(e, SqlRejection::Forbidden(_))),
            ("EXPLAIN SELECT 1", |e| matches!(e, SqlRejection::NotReadOnly(_))),
            ("SELECT 1 FROM worker_logs; DROP TABLE worker_logs", |e| *e == SqlRejection::MultipleStatements),
            ("SELECT 1 FROM worker_logs /* */; SELECT 2", |e| *e == SqlRejection::MultipleStatements),
            ("SELECT 1 FROM worker_logs; -- fine\n SELECT 2", |e| *e == SqlRejection::MultipleStatements),
            ("SELECT 'a", |e| *e == SqlRejection::Unterminated("string literal")),
            ("SELECT 1 /* open", |e| *e == SqlRejection::Unterminated("comment")),
            ("SELECT \"x FROM worker_logs", |e| *e == SqlRejection::Unterminated("quoted identifier")),
            ("SELECT * FROM secrets", |e| matches!(e, SqlRejection::UnknownTable(t, _) if t == "secrets")),
            ("SELECT * FROM system.tables", |e| matches!(e, SqlRejection::Forbidden(_))),
            (
                "SELECT * FROM default.worker_logs",
                |e| matches!(e, SqlRejection::UnknownTable(t, _) if t == "default.worker_logs"),
            ),
            ("SELECT * FROM url('http://x', CSV)", |e| matches!(e, SqlRejection::TableFunction(t) if t == "url")),
            ("SELECT * FROM worker_logs JOIN remote('h', db.t) ON 1", |e| matches!(e, SqlRejection::TableFunction(_))),
            ("SELECT * FROM (SELECT * FROM other)", |e| matches!(e, SqlRejection::UnknownTable(t, _) if t == "other")),
            ("SELECT * FROM worker_logs INTO OUTFILE 'x'", |e| matches!(e, SqlRejection::Forbidden(_))),
            ("SELECT * FROM worker_logs SETTINGS max_threads = 1", |e| matches!(e, SqlRejection::Forbidden(_))),
            ("SELECT * FROM \"secrets\"", |e| matches!(e, SqlRejection::UnknownTable(t, _) if t == "secrets")),
            ("SELECT * FROM worker_logs, secrets", |e| matches!(e, SqlRejection::UnknownTable(t, _) if t == "secrets")),
            (
                "SELECT * FROM worker_logs AS l, secrets s",
                |e| matches!(e, SqlRejection::UnknownTable(t, _) if t == "secrets"),
            ),
            (
                "SELECT 1 FROM worker_logs WHERE trace_id IN secrets",
                |e| matches!(e, SqlRejection::UnknownTable(t, _) if t == "secrets"),
            ),
            (
                "SELECT 1 FROM worker_logs WHERE trace_id NOT IN db.t",
                |e| matches!(e, SqlRejection::UnknownTable(t, _) if t == "db.t"),
            ),
            ("SELECT dictGet('d', 'a', 1) FROM worker_logs", |e| matches!(e, SqlRejection::TableFunction(_))),
            ("SELECT joinGet(j, 'v', 1) FROM worker_logs", |e| matches!(e, SqlRejection::TableFunction(_))),
        ];
        for (sql, expected) in cases {
            let e = refused(sql);
            assert!(expected(&e), "{sql}: {e:?}");
        }
        let huge = format!("SELECT 1 FROM worker_logs WHERE body = '{}'", "x".repeat(MAX_QUERY_BYTES));
        assert!(matches!(refused(&huge), SqlRejection::TooLarge(_)));
    }

    #[test]
    fn no_input_makes_it_panic() {
        // Random queries from pieces that stress the tokenizer and the table and name logic.
        let pieces = [
            "SELECT ",
            "FROM ",
            "worker_logs",
            " AS ",
            "t",
            ".",
            ",",
            "(",
            ")",
            "'",
            "\"",
            "`",
            "\\",
            "--",
            "/*",
            "*/",
            ";",
            " IN ",
            "JOIN ",
            "é",
            "日本",
            "service_name",
            "FORMAT ",
            "JSON",
            "DESCRIBE ",
            "WITH ",
            "x",
            " ",
            "\n",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut query = String::new();
            for _ in 0..(seed % 12) {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                query.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let _ = prepare(&query, &ALL);
        }
    }

    #[test]
    fn semicolons_and_keywords_inside_strings_and_comments_are_inert() {
        assert_eq!(
            ok("SELECT body FROM worker_logs WHERE body = 'x; DROP TABLE worker_logs' -- ; INSERT\n"),
            "SELECT blob6 AS body FROM worker_logs WHERE blob6 = 'x; DROP TABLE worker_logs'"
        );
        assert_eq!(ok("SELECT 'it''s \\' ; ok' FROM worker_logs"), "SELECT 'it''s \\' ; ok' FROM worker_logs");
        assert_eq!(ok("SELECT 1 FROM worker_logs ; "), "SELECT 1 FROM worker_logs");
        assert_eq!(ok("SELECT $$service_name;$$ FROM worker_logs # done"), "SELECT $$service_name;$$ FROM worker_logs");
        assert_eq!(
            ok("SELECT count() FROM worker_logs WHERE body = $ 1"),
            "SELECT count() FROM worker_logs WHERE blob6 = $ 1"
        );
    }

    #[test]
    fn bodies_are_json_or_raw_sql_and_upstream_answers_map_to_clear_errors() {
        assert_eq!(query_text(Some("application/json"), br#"{"query":"SELECT 1"}"#).unwrap(), "SELECT 1");
        assert_eq!(query_text(Some("text/plain"), b"SELECT 2").unwrap(), "SELECT 2");
        assert_eq!(query_text(None, b"SELECT 3").unwrap(), "SELECT 3");
        assert_eq!(query_text(Some("application/json; charset=utf-8"), b"{}").unwrap_err().status, 400);
        assert_eq!(query_text(None, &[0xff, 0xfe]).unwrap_err().status, 400);
        assert!(upstream_outcome(200, "", None).is_ok());
        let bad_sql = upstream_outcome(400, "unknown column blob99", None).unwrap_err();
        assert_eq!(
            (bad_sql.status, bad_sql.message.as_str()),
            (400, "Analytics Engine SQL API: unknown column blob99")
        );
        assert_eq!(upstream_outcome(403, "", None).unwrap_err().status, 502);
        let limited = upstream_outcome(429, "slow down", Some(30)).unwrap_err();
        assert_eq!((limited.status, limited.retry_after), (429, Some(30)));
        assert_eq!(upstream_outcome(500, "boom", None).unwrap_err().status, 502);
    }

    #[test]
    fn the_schema_lists_every_friendly_column_with_its_type() {
        let s = schema(&ALL);
        assert_eq!(
            s.iter().map(|d| d.dataset).collect::<Vec<_>>(),
            ["distributed_traces", "worker_logs", "worker_metrics"]
        );
        let traces = &s[0].columns;
        let col = |n: &str| traces.iter().find(|c| c.name == n).unwrap();
        assert_eq!((col("service_name").column.as_str(), col("service_name").kind), ("blob4", "String"));
        assert_eq!((col("duration_ms").column.as_str(), col("duration_ms").kind), ("double1", "Double"));
        assert_eq!(col("_sample_interval").kind, "UInt32");
        assert_eq!(traces.len(), 3 + TRACES.blobs.len() + TRACES.doubles.len());
    }
}

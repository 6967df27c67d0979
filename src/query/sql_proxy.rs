//! The Grafana SQL proxy's gate, pure. A query is read into `sql_syntax`'s
//! tree (exactly the subset the Analytics Engine SQL API reads); its table
//! must be one of our datasets, its names columns of it or aliases, its
//! functions on the SQL API's documented list; friendly column names of
//! `ingest::data_points` layouts (`service_name`, `duration_ms`, …) become
//! the physical ones (`blob4`, `double1`, …); a query without `LIMIT` gets
//! `DEFAULT_LIMIT`; and the SQL sent upstream is printed from the tree, never
//! copied from the caller's text. Also the route's body and upstream-answer
//! helpers, and each dataset's friendly columns for `GET /api/query/schema`.

use serde::Serialize;

pub use super::sql_syntax::SqlRejection;
use super::sql_syntax::{is_keyword, parse, Expr, Item, Select, Source, Statement};
use crate::api::ApiError;
use crate::ingest::data_points::Layout;

/// Rows a query without `LIMIT` answers at most.
pub const DEFAULT_LIMIT: u64 = 10_000;

/// The largest `LIMIT` a query may ask for.
pub const MAX_LIMIT: u64 = 100_000;

/// Analytics Engine columns every dataset has, besides `blob1`… and `double1`….
const BUILT_IN_COLUMNS: [&str; 3] = ["timestamp", "_sample_interval", "index1"];

/// Blob and double columns of an Analytics Engine dataset.
const AE_COLUMNS_OF_A_KIND: usize = 20;

/// Functions the Analytics Engine SQL API documents (Cloudflare's "SQL
/// Reference" pages and changelog, to 2026-01), matched without regard to
/// case as the SQL API does. `extract(unit FROM x)` is parsed apart.
const FUNCTIONS: [&str; 77] = [
    // Aggregates.
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "quantileExactWeighted",
    "quantileWeighted",
    "argMax",
    "argMin",
    "first_value",
    "last_value",
    "topK",
    "topKWeighted",
    "countIf",
    "sumIf",
    "avgIf",
    // Bits.
    "bitAnd",
    "bitCount",
    "bitHammingDistance",
    "bitNot",
    "bitOr",
    "bitRotateLeft",
    "bitRotateRight",
    "bitShiftLeft",
    "bitShiftRight",
    "bitTest",
    "bitXor",
    // Conditions.
    "if",
    // Dates and times.
    "formatDateTime",
    "now",
    "today",
    "toDateTime",
    "toYear",
    "toMonth",
    "toDayOfWeek",
    "toDayOfMonth",
    "toHour",
    "toMinute",
    "toSecond",
    "toUnixTimestamp",
    "toStartOfInterval",
    "toStartOfYear",
    "toStartOfMonth",
    "toStartOfWeek",
    "toStartOfDay",
    "toStartOfHour",
    "toStartOfFifteenMinutes",
    "toStartOfTenMinutes",
    "toStartOfFiveMinutes",
    "toStartOfMinute",
    "toYYYYMM",
    // Encodings.
    "bin",
    "hex",
    // Mathematics.
    "intDiv",
    "log",
    "ln",
    "pow",
    "round",
    "floor",
    "ceil",
    "abs",
    // Strings.
    "length",
    "empty",
    "isEmpty",
    "lower",
    "lowerUTF8",
    "toLower",
    "upper",
    "upperUTF8",
    "toUpper",
    "startsWith",
    "endsWith",
    "position",
    "substring",
    "format",
    // Type conversions.
    "toUInt8",
    "toUInt32",
];

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
    /// The SQL sent upstream, printed from the query's tree with physical column names.
    pub sql: String,
    /// The `FORMAT` asked for, if any.
    pub format: Option<&'static str>,
}

/// Lets a read-only query over `layouts`' datasets through, printed anew
/// with friendly column names rewritten to physical ones.
pub fn prepare(sql: &str, layouts: &[Layout]) -> Result<PreparedQuery, SqlRejection> {
    let (mut sql, format) = match parse(sql)? {
        Statement::Show(what, format) => (format!("SHOW {what}"), format),
        Statement::Select(select, format) => {
            let mut out = String::with_capacity(sql.len() + 64);
            print_select(layouts, &select, true, &mut out)?;
            (out, format)
        }
    };
    if let Some(format) = format {
        sql.push_str(" FORMAT ");
        sql.push_str(format);
    }
    Ok(PreparedQuery { sql, format })
}

/// What names mean in one SELECT: the columns of what it reads, and its own
/// aliases, each name paired with what is sent upstream for it.
struct Scope<'l> {
    /// The dataset whose columns it reads (directly, or through a subquery's `*`).
    dataset: Option<&'l Layout>,
    /// The named output columns of its subquery (they come first).
    outputs: Vec<(String, String)>,
    /// The names its table may be qualified by.
    tables: Vec<(String, String)>,
    aliases: Vec<String>,
}

impl Scope<'_> {
    fn column(&self, name: &str) -> Option<String> {
        let output = self.outputs.iter().find(|(n, _)| n == name).map(|(_, printed)| printed.clone());
        output.or_else(|| self.dataset.and_then(|layout| physical(layout, name)))
    }

    /// What an unqualified name prints as: an alias of the SELECT (except
    /// `defining`, the alias of the item being printed), else a column.
    fn unqualified(&self, name: &str, defining: Option<&str>) -> Option<String> {
        if defining != Some(name) && self.aliases.iter().any(|a| a == name) {
            return Some(quote(name));
        }
        self.column(name)
    }

    fn resolve(&self, qualifier: Option<&str>, name: &str, defining: Option<&str>) -> Result<String, SqlRejection> {
        let unknown = || SqlRejection::UnknownColumn(name.to_string());
        let Some(qualifier) = qualifier else { return self.unqualified(name, defining).ok_or_else(unknown) };
        let (_, table) = self.tables.iter().find(|(t, _)| t == qualifier).ok_or_else(|| {
            let known = self.tables.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>().join(", ");
            SqlRejection::UnknownTable(qualifier.to_string(), known)
        })?;
        Ok(format!("{table}.{}", self.column(name).ok_or_else(unknown)?))
    }
}

/// The physical column a dataset's column name stands for: a friendly name
/// (`service_name` → `blob4`), or a physical name as it is.
fn physical(layout: &Layout, name: &str) -> Option<String> {
    let blob = layout.blobs.iter().position(|c| c.name == name).map(|i| format!("blob{}", i + 1));
    let double = || layout.doubles.iter().position(|c| c.name == name).map(|i| format!("double{}", i + 1));
    let index = || (layout.index.name == name).then(|| "index1".to_string());
    let numbered = |prefix: &str| {
        let number = name.strip_prefix(prefix).unwrap_or("");
        !number.starts_with('0') && number.parse::<usize>().is_ok_and(|n| (1..=AE_COLUMNS_OF_A_KIND).contains(&n))
    };
    let built_in =
        || (BUILT_IN_COLUMNS.contains(&name) || numbered("blob") || numbered("double")).then(|| name.to_string());
    blob.or_else(double).or_else(index).or_else(built_in)
}

/// The names an enclosing query may read a SELECT's output columns by.
type Outputs<'l> = (Option<&'l Layout>, Vec<(String, String)>);

/// Prints `select` for the SQL API (`top`: the outermost, which gets the
/// default LIMIT and the LIMIT cap) and returns the names an enclosing
/// query may read its output columns by.
fn print_select<'l>(
    layouts: &'l [Layout],
    select: &Select,
    top: bool,
    out: &mut String,
) -> Result<Outputs<'l>, SqlRejection> {
    let mut from = String::new();
    let ((dataset, outputs), mut tables) = match &select.from {
        None => ((None, Vec::new()), Vec::new()),
        Some(Source::Table(name, _)) => {
            let layout = layouts.iter().find(|l| l.dataset == name).ok_or_else(|| {
                SqlRejection::UnknownTable(
                    name.clone(),
                    layouts.iter().map(|l| l.dataset).collect::<Vec<_>>().join(", "),
                )
            })?;
            from.push_str(layout.dataset);
            ((Some(layout), Vec::new()), vec![(name.clone(), name.clone())])
        }
        Some(Source::Subquery(inner, _)) => {
            from.push('(');
            let columns = print_select(layouts, inner, false, &mut from)?;
            from.push(')');
            (columns, Vec::new())
        }
    };
    if let Some(Source::Table(_, Some(alias)) | Source::Subquery(_, Some(alias))) = &select.from {
        from.push_str(" AS ");
        from.push_str(&quote(alias));
        tables.push((alias.clone(), quote(alias)));
    }
    let aliases = select
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Expr(_, alias) => alias.clone(),
            Item::All => None,
        })
        .collect();
    let scope = Scope { dataset, outputs, tables, aliases };

    out.push_str("SELECT ");
    let (mut passed_dataset, mut outputs) = (None, Vec::new());
    for (i, item) in select.items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let (expr, alias) = match item {
            Item::All => {
                out.push('*');
                outputs.extend(scope.outputs.iter().cloned());
                passed_dataset = scope.dataset;
                continue;
            }
            Item::Expr(expr, alias) => (expr, alias.as_deref()),
        };
        print_expr(expr, &scope, alias, out)?;
        let output = match (alias, expr) {
            (Some(alias), _) => Some(alias),
            // A bare friendly column keeps its name as the output column.
            (None, Expr::Name(_, name)) => match scope.unqualified(name, None) {
                Some(printed) if printed == *name || printed == quote(name) => {
                    outputs.push((name.clone(), printed));
                    None
                }
                _ => Some(name.as_str()),
            },
            (None, _) => None,
        };
        if let Some(name) = output {
            out.push_str(" AS ");
            out.push_str(&quote(name));
            outputs.push((name.to_string(), quote(name)));
        }
    }
    if !from.is_empty() {
        out.push_str(" FROM ");
        out.push_str(&from);
    }
    if let Some(filter) = &select.filter {
        out.push_str(" WHERE ");
        print_expr(filter, &scope, None, out)?;
    }
    if !select.group_by.is_empty() {
        out.push_str(" GROUP BY ");
        print_list(&select.group_by, &scope, out, "")?;
    }
    if let Some(having) = &select.having {
        out.push_str(" HAVING ");
        print_expr(having, &scope, None, out)?;
    }
    for (i, (expr, direction)) in select.order_by.iter().enumerate() {
        out.push_str(if i == 0 { " ORDER BY " } else { ", " });
        print_expr(expr, &scope, None, out)?;
        if let Some(direction) = direction {
            out.push(' ');
            out.push_str(direction);
        }
    }
    match select.limit {
        Some(limit) if top && limit > MAX_LIMIT => return Err(SqlRejection::Limit(limit.to_string(), MAX_LIMIT)),
        Some(limit) => out.push_str(&format!(" LIMIT {limit}")),
        None if top => out.push_str(&format!(" LIMIT {DEFAULT_LIMIT}")),
        None => {}
    }
    if let Some(offset) = select.offset {
        out.push_str(&format!(" OFFSET {offset}"));
    }
    Ok((passed_dataset, outputs))
}

/// `exprs` separated by commas, in parentheses when `open` is `(`.
fn print_list(exprs: &[Expr], scope: &Scope, out: &mut String, open: &str) -> Result<(), SqlRejection> {
    out.push_str(open);
    for (i, expr) in exprs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        print_expr(expr, scope, None, out)?;
    }
    if !open.is_empty() {
        out.push(')');
    }
    Ok(())
}

/// Prints `expr`; `defining` is the alias of the SELECT item it is (a name
/// inside it means the column, not the alias being defined).
fn print_expr(expr: &Expr, scope: &Scope, defining: Option<&str>, out: &mut String) -> Result<(), SqlRejection> {
    let sub = |e: &Expr, out: &mut String| print_expr(e, scope, defining, out);
    match expr {
        Expr::Name(qualifier, name) => out.push_str(&scope.resolve(qualifier.as_deref(), name, defining)?),
        Expr::Number(n) => out.push_str(n),
        Expr::Text(bytes) => escaped(bytes, '\'', out),
        Expr::Constant(c) => out.push_str(c),
        Expr::Interval(value, unit) => {
            out.push_str("INTERVAL ");
            sub(value, out)?;
            out.push(' ');
            out.push_str(unit);
        }
        Expr::Call { name, params, distinct, args } => {
            if !FUNCTIONS.iter().any(|f| f.eq_ignore_ascii_case(name)) {
                return Err(SqlRejection::UnknownFunction(name.clone()));
            }
            out.push_str(name);
            for list in params.iter().chain([args]) {
                out.push('(');
                if *distinct && std::ptr::eq(list, args) {
                    out.push_str("DISTINCT ");
                }
                for (i, arg) in list.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    sub(arg, out)?;
                }
                out.push(')');
            }
        }
        Expr::Star => out.push('*'),
        Expr::Negative(inner) => {
            // `- -1`, never `--1` (a comment).
            out.push_str(if matches!(**inner, Expr::Negative(_)) { "- " } else { "-" });
            sub(inner, out)?;
        }
        Expr::Not(inner) => {
            out.push_str("NOT ");
            sub(inner, out)?;
        }
        Expr::Binary(left, op, right) => {
            sub(left, out)?;
            out.push(' ');
            out.push_str(op);
            out.push(' ');
            sub(right, out)?;
        }
        Expr::In { expr, negated, list } => {
            sub(expr, out)?;
            out.push_str(if *negated { " NOT IN " } else { " IN " });
            print_list(list, scope, out, "(")?;
        }
        Expr::Between { expr, negated, low, high } => {
            sub(expr, out)?;
            out.push_str(if *negated { " NOT BETWEEN " } else { " BETWEEN " });
            sub(low, out)?;
            out.push_str(" AND ");
            sub(high, out)?;
        }
        Expr::Extract(unit, from) => {
            out.push_str("extract(");
            out.push_str(unit);
            out.push_str(" FROM ");
            sub(from, out)?;
            out.push(')');
        }
        Expr::Parenthesized(inner) => {
            out.push('(');
            sub(inner, out)?;
            out.push(')');
        }
    }
    Ok(())
}

/// A user's name (an alias) as the SQL sent upstream spells it: bare when
/// it is a plain word the grammar gives no meaning, else `"quoted"`.
fn quote(name: &str) -> String {
    let plain = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if plain && !is_keyword(name) {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len() + 2);
    escaped(name.as_bytes(), '"', &mut out);
    out
}

/// `bytes` between `quote`s, as ClickHouse reads them back: the quote and
/// `\` escaped, control characters and bytes that are not UTF-8 as `\xHH`.
fn escaped(bytes: &[u8], quote: char, out: &mut String) {
    out.push(quote);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == quote || c == '\\' {
                out.push('\\');
                out.push(c);
            } else if c.is_control() {
                let mut utf8 = [0; 4];
                for b in c.encode_utf8(&mut utf8).bytes() {
                    out.push_str(&format!("\\x{b:02X}"));
                }
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out.push(quote);
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
    use crate::query::sql_syntax::{MAX_DEPTH, MAX_QUERY_BYTES};

    fn ok(sql: &str) -> String {
        let printed = prepare(sql, &ALL).unwrap_or_else(|e| panic!("{sql}: {e}")).sql;
        // What is sent upstream reads back as itself: the printer and the parser agree.
        assert_eq!(prepare(&printed, &ALL).map(|q| q.sql).as_ref(), Ok(&printed), "{sql}");
        printed
    }

    fn refused(sql: &str) -> SqlRejection {
        prepare(sql, &ALL).expect_err(sql)
    }

    #[test]
    fn the_issue_example_is_printed_with_physical_columns_and_the_default_limit() {
        let q = prepare(
            "SELECT service_name, COUNT(*) FROM distributed_traces WHERE timestamp > NOW() - INTERVAL '1' HOUR GROUP BY service_name",
            &ALL,
        )
        .unwrap();
        assert_eq!(
            q.sql,
            "SELECT blob4 AS service_name, COUNT(*) FROM distributed_traces WHERE timestamp > NOW() - INTERVAL '1' HOUR \
             GROUP BY blob4 LIMIT 10000"
        );
        assert_eq!(q.format, None);
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
        // A user alias that shadows a friendly name keeps its meaning, except inside its own definition.
        assert_eq!(
            ok("SELECT count() AS duration_ms, duration_ms * 2 AS is_error FROM distributed_traces ORDER BY duration_ms"),
            "SELECT count() AS duration_ms, duration_ms * 2 AS is_error FROM distributed_traces ORDER BY duration_ms LIMIT 10000"
        );
        assert_eq!(
            ok("SELECT max(duration_ms) duration_ms FROM distributed_traces"),
            "SELECT max(double1) AS duration_ms FROM distributed_traces LIMIT 10000"
        );
        // Qualified names resolve through the table's name or alias; quoted names are names.
        assert_eq!(
            ok(
                r#"SELECT t.trace_id, "span_id", distributed_traces.blob2 FROM distributed_traces AS t WHERE t.blob1 <> ''"#
            ),
            "SELECT t.blob1 AS trace_id, blob2 AS span_id, distributed_traces.blob2 FROM distributed_traces AS t \
             WHERE t.blob1 <> '' LIMIT 10000"
        );
        // The index is index1; service_name means the blob. Comments vanish.
        assert_eq!(
            ok("SELECT index1, body -- the message\nFROM worker_logs /* recent */ WHERE severity = 'ERROR'"),
            "SELECT index1, blob6 AS body FROM worker_logs WHERE blob4 = 'ERROR' LIMIT 10000"
        );
        assert_eq!(
            ok("SELECT metric_name, value FROM worker_metrics;"),
            "SELECT blob1 AS metric_name, double1 AS value FROM worker_metrics LIMIT 10000"
        );
    }

    #[test]
    fn a_subquery_is_read_by_its_output_names() {
        assert_eq!(
            ok("SELECT service_name, avg(n) FROM (SELECT service_name, trace_id, count() AS n FROM distributed_traces \
                GROUP BY service_name, trace_id) AS per_trace GROUP BY service_name"),
            "SELECT service_name, avg(n) FROM (SELECT blob4 AS service_name, blob1 AS trace_id, count() AS n \
             FROM distributed_traces GROUP BY blob4, blob1) AS per_trace GROUP BY service_name LIMIT 10000"
        );
        // `*` passes the dataset's columns through, friendly names included.
        assert_eq!(
            ok("SELECT body FROM (SELECT * FROM worker_logs WHERE severity_number >= 17) LIMIT 5"),
            "SELECT blob6 AS body FROM (SELECT * FROM worker_logs WHERE double3 >= 17) LIMIT 5"
        );
        assert_eq!(
            refused("SELECT trace_id FROM (SELECT count() FROM distributed_traces)"),
            SqlRejection::UnknownColumn("trace_id".into())
        );
    }

    #[test]
    fn expressions_of_the_sql_api_print_back_as_written() {
        assert_eq!(
            ok("SELECT if(is_error = 1, 'x', 'y') AS e, -duration_ms, - -1, NOT is_root, count(DISTINCT trace_id), \
                topK(5)(operation), extract(HOUR FROM timestamp) AS h FROM distributed_traces \
                WHERE service_name IN ('a', 'b') AND operation NOT LIKE '%health%' AND duration_ms BETWEEN 1 AND 2.5e3 \
                AND (span_kind = 'server' OR span_kind ILIKE 'C%') AND timestamp >= toDateTime(1700000000) \
                AND timestamp > now() - INTERVAL '1' DAY AND true \
                GROUP BY e HAVING count() > 2 ORDER BY e ASC, 2 DESC LIMIT 10 OFFSET 5 FORMAT JSONEachRow"),
            "SELECT if(double3 = 1, 'x', 'y') AS e, -double1, - -1, NOT double5, count(DISTINCT blob1), \
             topK(5)(blob5), extract(HOUR FROM timestamp) AS h FROM distributed_traces \
             WHERE blob4 IN ('a', 'b') AND blob5 NOT LIKE '%health%' AND double1 BETWEEN 1 AND 2.5e3 \
             AND (blob6 = 'server' OR blob6 ILIKE 'C%') AND timestamp >= toDateTime(1700000000) \
             AND timestamp > now() - INTERVAL '1' DAY AND TRUE \
             GROUP BY e HAVING count() > 2 ORDER BY e ASC, 2 DESC LIMIT 10 OFFSET 5 FORMAT JSONEachRow"
        );
        // Strings are printed from their value, escaped the one way.
        assert_eq!(
            ok("SELECT 'it''s \\' ; ok', '\\x00\\n', '\\xff', 'é' FROM worker_logs"),
            r"SELECT 'it\'s \' ; ok', '\x00\x0A', '\xFF', 'é' FROM worker_logs LIMIT 10000"
        );
        // Aliases are bare when they can be, quoted when they must.
        assert_eq!(
            ok("SELECT `a``b`, \"limit\" FROM (SELECT 1 AS \"a`b\", 2 AS `limit`)"),
            r#"SELECT "a`b", "limit" FROM (SELECT 1 AS "a`b", 2 AS "limit") LIMIT 10000"#
        );
        assert_eq!(
            ok("SELECT count() AS \"p 95\" FROM worker_logs ORDER BY \"p 95\""),
            r#"SELECT count() AS "p 95" FROM worker_logs ORDER BY "p 95" LIMIT 10000"#
        );
    }

    #[test]
    fn limits_formats_and_introspection() {
        assert_eq!(ok("SELECT 1 FROM worker_logs LIMIT 100000"), "SELECT 1 FROM worker_logs LIMIT 100000");
        assert_eq!(refused("SELECT 1 FROM worker_logs LIMIT 100001"), SqlRejection::Limit("100001".into(), MAX_LIMIT));
        assert_eq!(refused("SELECT 1 FROM worker_logs LIMIT ALL"), SqlRejection::Unsupported("ALL".into()));
        assert_eq!(ok("SELECT 1 FROM worker_logs OFFSET 5"), "SELECT 1 FROM worker_logs LIMIT 10000 OFFSET 5");
        assert!(matches!(refused("SELECT 1 FROM worker_logs LIMIT 1.5"), SqlRejection::Number(_)));
        assert_eq!(
            ok("SELECT 1 FROM (SELECT 1 FROM worker_logs LIMIT 200000) LIMIT 3"),
            "SELECT 1 FROM (SELECT 1 FROM worker_logs LIMIT 200000) LIMIT 3"
        );
        assert_eq!(ok("show tables"), "SHOW TABLES");
        assert_eq!(prepare("SHOW TIMEZONES FORMAT json", &ALL).unwrap().sql, "SHOW TIMEZONES FORMAT JSON");
        assert_eq!(
            prepare("SELECT 1 FROM worker_logs FORMAT tabseparated", &ALL).unwrap().format,
            Some("TabSeparated")
        );
        assert_eq!(refused("SELECT 1 FROM worker_logs FORMAT Native"), SqlRejection::Format("Native".into()));
        assert_eq!(
            refused("SHOW DATABASES"),
            SqlRejection::Syntax { expected: "TABLES, TIMEZONES or TIMEZONE", found: "DATABASES".into() }
        );
        assert_eq!(refused("DESCRIBE worker_logs"), SqlRejection::NotReadOnly("DESCRIBE".into()));
    }

    /// The families of queries that got past the previous gate (a word-level
    /// filter over the caller's text), each refused now or printed harmless.
    #[test]
    fn the_bypass_families_are_refused() {
        type Expect = fn(&SqlRejection) -> bool;
        let unsupported = |e: &SqlRejection| matches!(e, SqlRejection::Unsupported(_));
        let syntax = |e: &SqlRejection| matches!(e, SqlRejection::Syntax { .. });
        let function = |e: &SqlRejection| matches!(e, SqlRejection::UnknownFunction(_));
        let character = |e: &SqlRejection| matches!(e, SqlRejection::UnexpectedCharacter(_));
        let cases: &[(&str, Expect)] = &[
            // A comment glues nothing: the words stay apart.
            ("SELECT * FR/**/OM system.tables", syntax),
            ("SELECT 1 FROM worker_logs SETT/**/INGS max_threads = 1", syntax),
            ("SELECT * FROM worker_logs; SELECT 2", |e| *e == SqlRejection::MultipleStatements),
            // Whitespace ClickHouse reads and the gate did not.
            ("SELECT 1\u{a0}FROM worker_logs", character),
            ("SELECT 1\u{200b}FROM worker_logs", character),
            ("SELECT 1\u{3000}FROM worker_logs", character),
            ("SELECT t$$ FROM worker_logs", character),
            ("SELECT $$x$$ FROM worker_logs", character),
            ("SELECT 1 # comment\n FROM worker_logs", character),
            // Other tables by any path.
            ("SELECT * FROM worker_logs CROSS JOIN system.tables", unsupported),
            ("SELECT * FROM worker_logs FINAL, system.tables", unsupported),
            ("SELECT * FROM worker_logs SAMPLE 1, system.tables", unsupported),
            ("SELECT * FROM (FROM system.tables SELECT *)", syntax),
            ("SELECT * FROM worker_logs array JOIN system.tables", unsupported),
            ("SELECT * FROM worker_logs AS array JOIN system.tables", unsupported),
            ("SELECT * FROM worker_logs UNION ALL SELECT * FROM system.tables", unsupported),
            ("WITH t AS (SELECT 1) SELECT * FROM t", |e| *e == SqlRejection::NotReadOnly("WITH".into())),
            ("SELECT * FROM worker_logs WINDOW w AS (PARTITION BY blob1)", unsupported),
            ("SELECT 1 FROM worker_logs WHERE blob1 IN system.tables", syntax),
            ("SELECT 1 FROM worker_logs WHERE blob1 IN (system.tables)", |e| *e == SqlRejection::InList),
            ("SELECT 1 FROM worker_logs WHERE blob1 IN (blob2)", |e| *e == SqlRejection::InList),
            ("SELECT 1 FROM worker_logs WHERE blob1 IN (SELECT name FROM system.tables)", syntax),
            ("SELECT 1 FROM worker_logs WHERE in(blob1, system.tables)", syntax),
            ("SELECT 1 FROM worker_logs WHERE globalIn(blob1, secrets)", function),
            ("SELECT 1 FROM worker_logs WHERE notIn(blob1, secrets)", function),
            ("SELECT 1 FROM worker_logs WHERE \"in\"(blob1, secrets)", function),
            ("SELECT \"dictGet\"('d', 'a', 1) FROM worker_logs", function),
            ("SELECT dictGet('d', 'a', 1) FROM worker_logs", function),
            ("SELECT dictHas('d', 1) FROM worker_logs", function),
            ("SELECT hasColumnInTable('system', 'tables', 'name') FROM worker_logs", function),
            ("SELECT * FROM file('/etc/passwd')", |e| matches!(e, SqlRejection::TableFunction(t) if t == "file")),
            ("SELECT * FROM url('http://x', CSV)", |e| matches!(e, SqlRejection::TableFunction(t) if t == "url")),
            ("SELECT * FROM numbers(10)", |e| matches!(e, SqlRejection::TableFunction(_))),
            ("SELECT * FROM system.tables", |e| matches!(e, SqlRejection::OtherDatabase(t) if t == "system.tables")),
            ("SELECT * FROM \"secrets\"", |e| matches!(e, SqlRejection::UnknownTable(t, _) if t == "secrets")),
            ("SELECT * FROM worker_logs, secrets", syntax),
            (
                "SELECT * FROM (SELECT * FROM secrets)",
                |e| matches!(e, SqlRejection::UnknownTable(t, _) if t == "secrets"),
            ),
            ("SELECT x.blob1 FROM worker_logs", |e| matches!(e, SqlRejection::UnknownTable(t, _) if t == "x")),
            ("SELECT blob1 FROM worker_logs SETTINGS max_threads = 1", unsupported),
            ("SELECT * FROM worker_logs INTO OUTFILE 'x'", unsupported),
            ("SELECT arrayJoin([1, 2]) FROM worker_logs", character),
            ("SELECT arrayMap(x -> x, blob1) FROM worker_logs", syntax),
            // Outside the SQL API's subset.
            ("SELECT CASE WHEN 1 THEN 2 END FROM worker_logs", unsupported),
            ("SELECT 1 FROM worker_logs WHERE blob1 IS NULL", unsupported),
            ("SELECT DISTINCT blob1 FROM worker_logs", syntax),
            ("SELECT 1 FROM worker_logs LIMIT 5, 10", syntax),
            ("SELECT blob1 || 'x' FROM worker_logs", character),
            ("SELECT 1 FROM worker_logs WHERE 1 == 1", syntax),
            // Writes and everything that is not a SELECT.
            ("INSERT INTO worker_logs VALUES (1)", |e| *e == SqlRejection::NotReadOnly("INSERT".into())),
            ("DROP TABLE worker_logs", |e| *e == SqlRejection::NotReadOnly("DROP".into())),
            ("EXPLAIN SELECT 1", |e| *e == SqlRejection::NotReadOnly("EXPLAIN".into())),
            ("(SELECT 1)", |e| *e == SqlRejection::NotReadOnly("`(`".into())),
            ("", |e| *e == SqlRejection::Empty),
            ("  -- nothing\n", |e| *e == SqlRejection::Empty),
            ("SELECT 'a", |e| *e == SqlRejection::Unterminated("string literal")),
            ("SELECT 1 /* open", |e| *e == SqlRejection::Unterminated("comment")),
            ("SELECT \"x FROM worker_logs", |e| *e == SqlRejection::Unterminated("quoted name")),
            ("SELECT 'a\\q'", |e| *e == SqlRejection::Escape('q')),
            ("SELECT 1abc FROM worker_logs", |e| *e == SqlRejection::Number("1abc".into())),
            ("SELECT nope FROM worker_logs", |e| *e == SqlRejection::UnknownColumn("nope".into())),
        ];
        for (sql, expected) in cases {
            let e = refused(sql);
            assert!(expected(&e), "{sql}: {e:?}");
        }
        // Signs and comments: `-/**/-` is two minus signs, never a comment in what is sent.
        assert_eq!(ok("SELECT 1 -/**/- 1 FROM worker_logs"), "SELECT 1 - -1 FROM worker_logs LIMIT 10000");
        assert_eq!(ok("SELECT 1\x0c\x0bFROM worker_logs"), "SELECT 1 FROM worker_logs LIMIT 10000");
        let huge = format!("SELECT 1 FROM worker_logs WHERE body = '{}'", "x".repeat(MAX_QUERY_BYTES));
        assert!(matches!(refused(&huge), SqlRejection::TooLarge(_)));
    }

    #[test]
    fn nesting_is_bounded_without_exhausting_the_stack() {
        let deep = [
            format!("SELECT {}1{} FROM worker_logs", "(".repeat(20_000), ")".repeat(20_000)),
            format!("SELECT {}1 FROM worker_logs", "NOT ".repeat(15_000)),
            format!("SELECT {}1 FROM worker_logs", "- ".repeat(30_000)),
            format!("SELECT 1{} FROM worker_logs", " + 1".repeat(15_000)),
            format!("SELECT 1 FROM worker_logs WHERE {}", vec!["blob1 = 'a'"; 3_000].join(" AND ")),
            format!("SELECT 1 FROM {}worker_logs{}", "(SELECT 1 FROM ".repeat(3_000), ")".repeat(3_000)),
            format!("SELECT {}1{}", "abs(".repeat(10_000), ")".repeat(10_000)),
        ];
        for sql in &deep {
            assert_eq!(refused(sql), SqlRejection::TooDeep, "{}", &sql[..40]);
        }
        let chain = vec!["blob1 = 'a'"; 40].join(" AND ");
        ok(&format!("SELECT 1 FROM worker_logs WHERE {chain}"));
        // At the bound, reading, printing and dropping the tree fit in 2 MiB of stack unoptimised (the e2e suite checks the worker, optimised, with its 1 MiB).
        let depth = MAX_DEPTH - 4;
        let at_bound = format!("SELECT {}-abs(1){} FROM worker_logs", "(".repeat(depth), ")".repeat(depth));
        let printed =
            std::thread::Builder::new().stack_size(2 * 1024 * 1024).spawn(move || ok(&at_bound)).unwrap().join();
        assert!(printed.unwrap().starts_with("SELECT (((("));
    }

    #[test]
    fn no_input_makes_it_panic() {
        // Random queries from pieces that stress the lexer, the parser and the name logic.
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
            "WHERE ",
            "x",
            " ",
            "\n",
            "-",
            "1",
            "count",
            "*",
            "CASE ",
            "WHEN ",
            "END ",
            "INTERVAL ",
            "LIMIT ",
            "0x",
            "e",
            "NOT ",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut query = String::new();
            for _ in 0..(seed % 16) {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                query.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            if let Ok(q) = prepare(&query, &ALL) {
                assert_eq!(prepare(&q.sql, &ALL).map(|again| again.sql), Ok(q.sql), "{query}");
            }
        }
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

//! The SQL the Analytics Engine SQL API reads, as a tree. A lexer and a
//! recursive-descent parser for exactly the subset Cloudflare's "SQL
//! Reference" documents: `SELECT … [FROM dataset | (subquery)] [WHERE …]
//! [GROUP BY …] [HAVING …] [ORDER BY …] [LIMIT n] [OFFSET n] [FORMAT …]` and
//! `SHOW TABLES | TIMEZONES | TIMEZONE`, with expressions made of names,
//! numbers, strings, `true`/`false`, `INTERVAL`, calls (`f(DISTINCT x)`,
//! `f(params)(args)`, `extract(unit FROM x)`) and the documented operators.
//! Nothing else parses: no joins, unions, CTEs, settings, table functions,
//! lambdas, arrays, `CASE` or `NULL`. `sql_proxy` checks the
//! tree's names and functions and prints the SQL sent upstream from it, so
//! the caller's text (comments, odd whitespace, quoting tricks) never leaves
//! the collector.

/// Longest query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;

/// How deeply expressions and subqueries may nest, a chain of operators
/// counting one level per operator (a bound on the recursion of the parser and
/// of whatever walks the tree).
pub const MAX_DEPTH: usize = 64;

/// Output formats the Analytics Engine SQL API answers in (`FORMAT …`).
pub const FORMATS: [&str; 3] = ["JSON", "JSONEachRow", "TabSeparated"];

/// Units of `INTERVAL n UNIT`.
const INTERVAL_UNITS: [&str; 6] = ["SECOND", "MINUTE", "HOUR", "DAY", "MONTH", "YEAR"];

/// Words with a meaning in the grammar: never a bare name or an alias without `AS`.
const KEYWORDS: [&str; 24] = [
    "SELECT", "DISTINCT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "ORDER", "ASC", "DESC", "LIMIT", "OFFSET",
    "FORMAT", "AS", "AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "BETWEEN", "TRUE", "FALSE", "INTERVAL",
];

/// ClickHouse words outside the SQL API's subset: refused with a message saying so.
const UNSUPPORTED: [&str; 26] = [
    "JOIN",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "CROSS",
    "ARRAY",
    "GLOBAL",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "WITH",
    "SETTINGS",
    "INTO",
    "PREWHERE",
    "QUALIFY",
    "WINDOW",
    "OVER",
    "FINAL",
    "SAMPLE",
    "ALL",
    "ANY",
    "CASE",
    "IS",
    "NULL",
    "USING",
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
    #[error("unexpected character {0:?}: queries are ASCII outside strings and quoted names")]
    UnexpectedCharacter(char),
    #[error("{0} is not a number")]
    Number(String),
    #[error("unsupported escape \\{0} in a string or quoted name")]
    Escape(char),
    #[error("one statement only: something follows `;`")]
    MultipleStatements,
    #[error("only SELECT and SHOW TABLES queries are allowed, not {0}")]
    NotReadOnly(String),
    #[error(
        "{0} is not in the Analytics Engine SQL API's SQL: one dataset per query, SELECT … FROM … WHERE … \
         GROUP BY … HAVING … ORDER BY … LIMIT … OFFSET … FORMAT … (docs/grafana.md)"
    )]
    Unsupported(String),
    #[error("expected {expected}, found {found}")]
    Syntax { expected: &'static str, found: String },
    #[error("the query nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("IN takes a list of constants, as in `x IN ('a', 'b')`")]
    InList,
    #[error("table functions are not allowed: {0}(…)")]
    TableFunction(String),
    #[error("{0}: queries read this account's Analytics Engine datasets, not another database's tables")]
    OtherDatabase(String),
    #[error("unknown table {0}: queries may read {1}")]
    UnknownTable(String, String),
    #[error("unknown column {0}: see GET /api/query/schema for each dataset's columns, or name an expression with AS")]
    UnknownColumn(String),
    #[error("function {0} is not in the SQL API's function list (docs/grafana.md)")]
    UnknownFunction(String),
    #[error("FORMAT {0} is not supported: use JSON, JSONEachRow or TabSeparated")]
    Format(String),
    #[error("LIMIT {0} is over the largest allowed, {1} rows")]
    Limit(String, u64),
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    Select(Box<Select>, Option<&'static str>),
    /// `SHOW TABLES`, `SHOW TIMEZONES` or `SHOW TIMEZONE`: the word after SHOW.
    Show(&'static str, Option<&'static str>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub items: Vec<Item>,
    pub from: Option<Source>,
    pub filter: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub having: Option<Expr>,
    /// Expressions, each with `ASC` or `DESC` if written.
    pub order_by: Vec<(Expr, Option<&'static str>)>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `*`
    All,
    Expr(Expr, Option<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Table(String, Option<String>),
    Subquery(Box<Select>, Option<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A column or an alias, with its table's name or alias if qualified.
    Name(Option<String>, String),
    /// As written (digits, a fraction and an exponent, or `0x` hex).
    Number(String),
    /// A string literal's bytes, escapes decoded.
    Text(Vec<u8>),
    /// `TRUE` or `FALSE`.
    Constant(&'static str),
    Interval(Box<Expr>, &'static str),
    /// `name([DISTINCT] args)`, or `name(params)(args)` for parametric aggregates.
    Call {
        name: String,
        params: Option<Vec<Expr>>,
        distinct: bool,
        args: Vec<Expr>,
    },
    /// `extract(UNIT FROM expr)`
    Extract(&'static str, Box<Expr>),
    /// `*` as a call's only argument (`count(*)`).
    Star,
    Negative(Box<Expr>),
    Not(Box<Expr>),
    Binary(Box<Expr>, &'static str, Box<Expr>),
    In {
        expr: Box<Expr>,
        negated: bool,
        list: Vec<Expr>,
    },
    Between {
        expr: Box<Expr>,
        negated: bool,
        low: Box<Expr>,
        high: Box<Expr>,
    },
    Parenthesized(Box<Expr>),
}

impl Expr {
    /// A literal or a negative number: what an `IN` list may hold.
    fn is_constant(&self) -> bool {
        match self {
            Expr::Number(_) | Expr::Text(_) | Expr::Constant(_) => true,
            Expr::Negative(e) => matches!(**e, Expr::Number(_)),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token<'q> {
    Word(&'q str),
    /// `"name"` or `` `name` ``, decoded.
    Quoted(String),
    Text(Vec<u8>),
    Number(&'q str),
    Punct(&'static str),
}

/// Operators and punctuation, longest first.
const PUNCTUATION: [&str; 17] =
    ["!=", "<>", "<=", ">=", "(", ")", ",", ".", "*", "+", "-", "/", "%", "=", "<", ">", ";"];

impl Token<'_> {
    fn describe(&self) -> String {
        match self {
            Token::Word(w) | Token::Number(w) => (*w).to_string(),
            Token::Quoted(q) => format!("\"{q}\""),
            Token::Text(_) => "a string".to_string(),
            Token::Punct(p) => format!("`{p}`"),
        }
    }
}

/// A word the grammar or ClickHouse gives a meaning: a name spelled so is quoted.
pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().chain(&UNSUPPORTED).any(|k| k.eq_ignore_ascii_case(word))
}

/// Splits a query into tokens; whitespace and comments (`-- …`, `/* … */`) only separate them.
fn lex(sql: &str) -> Result<Vec<Token<'_>>, SqlRejection> {
    let mut out = Vec::new();
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        let bytes = rest.as_bytes();
        let len = match c {
            ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c' => 1,
            '-' if rest.starts_with("--") => rest.find('\n').unwrap_or(rest.len()),
            '/' if rest.starts_with("/*") => {
                rest.get(2..).unwrap_or("").find("*/").ok_or(SqlRejection::Unterminated("comment"))? + 4
            }
            '\'' | '"' | '`' => {
                let (value, len) = quoted(bytes, c)?;
                out.push(if c == '\'' {
                    Token::Text(value)
                } else {
                    let name = String::from_utf8(value).map_err(|_| SqlRejection::Unterminated("quoted name"))?;
                    if name.is_empty() {
                        return Err(SqlRejection::Syntax { expected: "a name", found: "an empty quoted name".into() });
                    }
                    Token::Quoted(name)
                });
                len
            }
            '0'..='9' => {
                let len = number_length(bytes);
                let text = rest.get(..len).unwrap_or(rest);
                out.push(Token::Number(text));
                len
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let len = bytes.iter().position(|b| !(b.is_ascii_alphanumeric() || *b == b'_')).unwrap_or(bytes.len());
                out.push(Token::Word(rest.get(..len).unwrap_or(rest)));
                len
            }
            _ => {
                let p =
                    PUNCTUATION.iter().find(|p| rest.starts_with(**p)).ok_or(SqlRejection::UnexpectedCharacter(c))?;
                out.push(Token::Punct(p));
                p.len()
            }
        };
        rest = rest.get(len..).ok_or(SqlRejection::UnexpectedCharacter(c))?;
    }
    Ok(out)
}

/// The length of the number at the start of `bytes`: `123`, `1.5`, `2e-3`, `0x1F`.
/// A letter glued to it (`1abc`) makes it one bad number, not a number and a name.
fn number_length(bytes: &[u8]) -> usize {
    let digits = |from: usize| from + bytes.iter().skip(from).take_while(|b| b.is_ascii_digit()).count();
    let mut end = if bytes.starts_with(b"0x") || bytes.starts_with(b"0X") {
        2 + bytes.iter().skip(2).take_while(|b| b.is_ascii_hexdigit()).count()
    } else {
        let mut end = digits(0);
        if bytes.get(end) == Some(&b'.') {
            end = digits(end + 1);
        }
        if matches!(bytes.get(end), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
            if bytes.get(end + 1 + sign).is_some_and(u8::is_ascii_digit) {
                end = digits(end + 1 + sign);
            }
        }
        end
    };
    while bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.') {
        end += 1;
    }
    end
}

/// A quoted string or name at the start of `bytes` (opening with `quote`): its
/// decoded bytes and its length. The quote doubled or after `\` stands for itself.
fn quoted(bytes: &[u8], quote: char) -> Result<(Vec<u8>, usize), SqlRejection> {
    let unterminated = || SqlRejection::Unterminated(if quote == '\'' { "string literal" } else { "quoted name" });
    let q = quote as u8;
    let mut value = Vec::new();
    let mut i = 1;
    loop {
        match *bytes.get(i).ok_or_else(unterminated)? {
            b if b == q && bytes.get(i + 1) == Some(&q) => {
                value.push(q);
                i += 2;
            }
            b if b == q => return Ok((value, i + 1)),
            b'\\' => {
                let escaped = *bytes.get(i + 1).ok_or_else(unterminated)?;
                i += 2;
                value.push(match escaped {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    b'0' => 0,
                    b'b' => 8,
                    b'f' => 12,
                    b'a' => 7,
                    b'v' => 11,
                    b'\\' | b'\'' | b'"' | b'`' => escaped,
                    b'x' => {
                        let hex = bytes.get(i..i + 2).and_then(|h| std::str::from_utf8(h).ok());
                        let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or(SqlRejection::Escape('x'))?;
                        i += 2;
                        byte
                    }
                    other => return Err(SqlRejection::Escape(char::from(other))),
                });
            }
            b => {
                value.push(b);
                i += 1;
            }
        }
    }
}

/// Reads one statement.
pub fn parse(sql: &str) -> Result<Statement, SqlRejection> {
    if sql.len() > MAX_QUERY_BYTES {
        return Err(SqlRejection::TooLarge(sql.len()));
    }
    let mut tokens = lex(sql)?;
    if tokens.last() == Some(&Token::Punct(";")) {
        tokens.pop();
    }
    if tokens.contains(&Token::Punct(";")) {
        return Err(SqlRejection::MultipleStatements);
    }
    let mut p = Parser { tokens, at: 0, depth: 0 };
    let statement = match p.peek() {
        None => return Err(SqlRejection::Empty),
        Some(t) if p.is_keyword(t, "SHOW") => {
            p.at += 1;
            let what = ["TABLES", "TIMEZONES", "TIMEZONE"]
                .into_iter()
                .find(|w| p.keyword(w))
                .ok_or_else(|| p.unexpected("TABLES, TIMEZONES or TIMEZONE"))?;
            Statement::Show(what, p.format()?)
        }
        Some(t) if p.is_keyword(t, "SELECT") => {
            let select = p.select()?;
            Statement::Select(Box::new(select), p.format()?)
        }
        Some(t) => return Err(SqlRejection::NotReadOnly(t.describe().to_ascii_uppercase())),
    };
    match p.peek() {
        None => Ok(statement),
        Some(_) => Err(p.unexpected("FORMAT or the end of the query")),
    }
}

struct Parser<'q> {
    tokens: Vec<Token<'q>>,
    at: usize,
    depth: usize,
}

impl<'q> Parser<'q> {
    fn peek(&self) -> Option<&Token<'q>> {
        self.tokens.get(self.at)
    }

    fn peek_next(&self) -> Option<&Token<'q>> {
        self.tokens.get(self.at + 1)
    }

    fn is_keyword(&self, token: &Token<'_>, keyword: &str) -> bool {
        matches!(token, Token::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    /// Takes `keyword` if it is next.
    fn keyword(&mut self, keyword: &str) -> bool {
        let found = self.peek().is_some_and(|t| self.is_keyword(t, keyword));
        self.at += usize::from(found);
        found
    }

    /// Takes `punct` if it is next.
    fn punct(&mut self, punct: &str) -> bool {
        let found = matches!(self.peek(), Some(Token::Punct(p)) if *p == punct);
        self.at += usize::from(found);
        found
    }

    fn expect_keyword(&mut self, keyword: &'static str) -> Result<(), SqlRejection> {
        if self.keyword(keyword) {
            Ok(())
        } else {
            Err(self.unexpected(keyword))
        }
    }

    fn expect_punct(&mut self, punct: &'static str, expected: &'static str) -> Result<(), SqlRejection> {
        if self.punct(punct) {
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    /// The error for what is next when `expected` should be: a clause the SQL
    /// API does not take says so.
    fn unexpected(&self, expected: &'static str) -> SqlRejection {
        match self.peek() {
            Some(Token::Word(w)) if UNSUPPORTED.iter().any(|u| u.eq_ignore_ascii_case(w)) => {
                SqlRejection::Unsupported(w.to_ascii_uppercase())
            }
            Some(t) => SqlRejection::Syntax { expected, found: t.describe() },
            None => SqlRejection::Syntax { expected, found: "the end of the query".into() },
        }
    }

    /// One level deeper into expressions or subqueries.
    fn nested<T>(&mut self, parse: impl FnOnce(&mut Self) -> Result<T, SqlRejection>) -> Result<T, SqlRejection> {
        if self.depth >= MAX_DEPTH {
            return Err(SqlRejection::TooDeep);
        }
        self.depth += 1;
        let parsed = parse(self);
        self.depth -= 1;
        parsed
    }

    fn format(&mut self) -> Result<Option<&'static str>, SqlRejection> {
        if !self.keyword("FORMAT") {
            return Ok(None);
        }
        let name = match self.peek() {
            Some(Token::Word(w)) => *w,
            _ => return Err(self.unexpected("a format name")),
        };
        self.at += 1;
        FORMATS.iter().find(|f| f.eq_ignore_ascii_case(name)).map(|f| Some(*f)).ok_or(SqlRejection::Format(name.into()))
    }

    fn select(&mut self) -> Result<Select, SqlRejection> {
        self.expect_keyword("SELECT")?;
        let items = self.list(Self::item)?;
        let from = if self.keyword("FROM") { Some(self.source()?) } else { None };
        let filter = if self.keyword("WHERE") { Some(self.expr()?) } else { None };
        let group_by = if self.keyword("GROUP") {
            self.expect_keyword("BY")?;
            self.list(Self::expr)?
        } else {
            Vec::new()
        };
        let having = if self.keyword("HAVING") { Some(self.expr()?) } else { None };
        let order_by = if self.keyword("ORDER") {
            self.expect_keyword("BY")?;
            self.list(|p| {
                let expr = p.expr()?;
                let direction = ["ASC", "DESC"].into_iter().find(|d| p.keyword(d));
                Ok((expr, direction))
            })?
        } else {
            Vec::new()
        };
        let limit = if self.keyword("LIMIT") { Some(self.row_count()?) } else { None };
        let offset = if self.keyword("OFFSET") { Some(self.row_count()?) } else { None };
        Ok(Select { items, from, filter, group_by, having, order_by, limit, offset })
    }

    /// One or more of `parse`, separated by commas.
    fn list<T>(&mut self, mut parse: impl FnMut(&mut Self) -> Result<T, SqlRejection>) -> Result<Vec<T>, SqlRejection> {
        let mut items = vec![parse(self)?];
        while self.punct(",") {
            items.push(parse(self)?);
        }
        Ok(items)
    }

    fn item(&mut self) -> Result<Item, SqlRejection> {
        if self.punct("*") {
            return Ok(Item::All);
        }
        let expr = self.expr()?;
        Ok(Item::Expr(expr, self.alias()?))
    }

    /// `AS name`, or a bare name that is not a keyword.
    fn alias(&mut self) -> Result<Option<String>, SqlRejection> {
        if self.keyword("AS") {
            return self.name().map(Some);
        }
        match self.peek() {
            Some(Token::Word(w)) if !is_keyword(w) => self.name().map(Some),
            Some(Token::Quoted(_)) => self.name().map(Some),
            _ => Ok(None),
        }
    }

    /// A name: a word that is not a keyword, or a quoted name.
    fn name(&mut self) -> Result<String, SqlRejection> {
        let name = match self.peek() {
            Some(Token::Word(w)) if !is_keyword(w) => (*w).to_string(),
            Some(Token::Quoted(q)) => q.clone(),
            _ => return Err(self.unexpected("a name")),
        };
        self.at += 1;
        Ok(name)
    }

    fn source(&mut self) -> Result<Source, SqlRejection> {
        if self.punct("(") {
            let query = self.nested(Self::select)?;
            self.expect_punct(")", "`)` closing the subquery")?;
            return Ok(Source::Subquery(Box::new(query), self.alias()?));
        }
        let table = self.name()?;
        match self.peek() {
            Some(Token::Punct("(")) => Err(SqlRejection::TableFunction(table)),
            Some(Token::Punct(".")) => {
                let qualified = self.peek_next().map(Token::describe).unwrap_or_default();
                Err(SqlRejection::OtherDatabase(format!("{table}.{qualified}")))
            }
            _ => Ok(Source::Table(table, self.alias()?)),
        }
    }

    fn row_count(&mut self) -> Result<u64, SqlRejection> {
        match self.peek() {
            Some(Token::Number(n)) => {
                let count = n.parse().map_err(|_| SqlRejection::Number((*n).to_string()))?;
                self.at += 1;
                Ok(count)
            }
            _ => Err(self.unexpected("a row count")),
        }
    }

    fn expr(&mut self) -> Result<Expr, SqlRejection> {
        self.nested(Self::or)
    }

    /// Left-associative binary operators over `operand`.
    fn binary(
        &mut self,
        operators: &[&'static str],
        operand: fn(&mut Self) -> Result<Expr, SqlRejection>,
    ) -> Result<Expr, SqlRejection> {
        let mut left = operand(self)?;
        // Each operator makes the tree one level deeper (`a + b + c` is `(a + b) + c`).
        let depth = self.depth;
        let chain = loop {
            let Some(op) = operators.iter().find(|op| {
                if op.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    self.keyword(op)
                } else {
                    self.punct(op)
                }
            }) else {
                break Ok(left);
            };
            if self.depth >= MAX_DEPTH {
                break Err(SqlRejection::TooDeep);
            }
            self.depth += 1;
            match operand(self) {
                Ok(right) => left = Expr::Binary(Box::new(left), op, Box::new(right)),
                Err(e) => break Err(e),
            }
        };
        self.depth = depth;
        chain
    }

    fn or(&mut self) -> Result<Expr, SqlRejection> {
        self.binary(&["OR"], Self::and)
    }

    fn and(&mut self) -> Result<Expr, SqlRejection> {
        self.binary(&["AND"], Self::not)
    }

    fn not(&mut self) -> Result<Expr, SqlRejection> {
        if self.keyword("NOT") {
            return Ok(Expr::Not(Box::new(self.nested(Self::not)?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, SqlRejection> {
        let left = self.additive()?;
        let negated = self.keyword("NOT");
        if self.keyword("IN") {
            self.expect_punct("(", "`(` and a list of constants")?;
            let list = self.list(Self::expr)?;
            self.expect_punct(")", "`)` closing the IN list")?;
            if !list.iter().all(Expr::is_constant) {
                return Err(SqlRejection::InList);
            }
            return Ok(Expr::In { expr: Box::new(left), negated, list });
        }
        if self.keyword("BETWEEN") {
            let low = self.additive()?;
            self.expect_keyword("AND")?;
            let high = self.additive()?;
            return Ok(Expr::Between { expr: Box::new(left), negated, low: Box::new(low), high: Box::new(high) });
        }
        let like = if self.keyword("LIKE") {
            Some(if negated { "NOT LIKE" } else { "LIKE" })
        } else if self.keyword("ILIKE") {
            Some(if negated { "NOT ILIKE" } else { "ILIKE" })
        } else if negated {
            return Err(self.unexpected("IN, BETWEEN, LIKE or ILIKE after NOT"));
        } else {
            None
        };
        let op = like.or_else(|| ["!=", "<>", "<=", ">=", "=", "<", ">"].into_iter().find(|op| self.punct(op)));
        match op {
            Some(op) => Ok(Expr::Binary(Box::new(left), op, Box::new(self.additive()?))),
            None => Ok(left),
        }
    }

    fn additive(&mut self) -> Result<Expr, SqlRejection> {
        self.binary(&["+", "-"], Self::multiplicative)
    }

    fn multiplicative(&mut self) -> Result<Expr, SqlRejection> {
        self.binary(&["*", "/", "%"], Self::unary)
    }

    fn unary(&mut self) -> Result<Expr, SqlRejection> {
        if self.punct("-") {
            return Ok(Expr::Negative(Box::new(self.nested(Self::unary)?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, SqlRejection> {
        if let Some(constant) = ["TRUE", "FALSE"].into_iter().find(|k| self.keyword(k)) {
            return Ok(Expr::Constant(constant));
        }
        let token = self.peek().cloned().ok_or_else(|| self.unexpected("an expression"))?;
        match token {
            Token::Number(n) => {
                self.at += 1;
                is_number(n).then(|| Expr::Number(n.to_string())).ok_or_else(|| SqlRejection::Number(n.to_string()))
            }
            Token::Text(t) => {
                self.at += 1;
                Ok(Expr::Text(t))
            }
            Token::Punct("(") => {
                self.at += 1;
                let inner = self.expr()?;
                self.expect_punct(")", "`)`")?;
                Ok(Expr::Parenthesized(Box::new(inner)))
            }
            Token::Word(w) if w.eq_ignore_ascii_case("INTERVAL") => {
                self.at += 1;
                let value = match self.peek() {
                    Some(Token::Number(_) | Token::Text(_)) => self.primary()?,
                    _ => return Err(self.unexpected("a number or a string after INTERVAL")),
                };
                let unit = INTERVAL_UNITS
                    .into_iter()
                    .find(|u| self.keyword(u))
                    .ok_or_else(|| self.unexpected("an interval unit"))?;
                Ok(Expr::Interval(Box::new(value), unit))
            }
            Token::Word(w) if matches!(self.peek_next(), Some(Token::Punct("("))) && !is_keyword(w) => {
                self.at += 2;
                if w.eq_ignore_ascii_case("extract") {
                    let unit = INTERVAL_UNITS
                        .into_iter()
                        .find(|u| self.keyword(u))
                        .ok_or_else(|| self.unexpected("a time unit"))?;
                    self.expect_keyword("FROM")?;
                    let from = self.expr()?;
                    self.expect_punct(")", "`)` closing extract")?;
                    return Ok(Expr::Extract(unit, Box::new(from)));
                }
                let name = w.to_string();
                let (distinct, first) = self.arguments()?;
                if !distinct && self.punct("(") {
                    let (distinct, args) = self.arguments()?;
                    return Ok(Expr::Call { name, params: Some(first), distinct, args });
                }
                Ok(Expr::Call { name, params: None, distinct, args: first })
            }
            Token::Quoted(q) if matches!(self.peek_next(), Some(Token::Punct("("))) => {
                Err(SqlRejection::UnknownFunction(format!("\"{q}\"")))
            }
            Token::Word(_) | Token::Quoted(_) => {
                let first = self.name()?;
                if self.punct(".") {
                    return Ok(Expr::Name(Some(first), self.name()?));
                }
                Ok(Expr::Name(None, first))
            }
            Token::Punct(_) => Err(self.unexpected("an expression")),
        }
    }

    /// A call's arguments after its `(`, through the `)`, and whether they follow `DISTINCT`.
    fn arguments(&mut self) -> Result<(bool, Vec<Expr>), SqlRejection> {
        if self.punct(")") {
            return Ok((false, Vec::new()));
        }
        let distinct = self.keyword("DISTINCT");
        let args = if !distinct && self.punct("*") { vec![Expr::Star] } else { self.list(Self::expr)? };
        self.expect_punct(")", "`)` closing the arguments")?;
        Ok((distinct, args))
    }
}

/// `digits[.digits][e[±]digits]` or `0x` and hex digits, nothing glued on.
fn is_number(n: &str) -> bool {
    if let Some(hex) = n.strip_prefix("0x").or_else(|| n.strip_prefix("0X")) {
        return !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    let (mantissa, exponent) = match n.find(['e', 'E']) {
        Some(e) => (n.get(..e).unwrap_or(""), Some(n.get(e + 1..).unwrap_or(""))),
        None => (n, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => digits(whole) && (fraction.is_empty() || digits(fraction)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

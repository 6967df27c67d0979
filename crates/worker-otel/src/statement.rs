//! SQL statements made safe to export: literals (strings, numbers, blobs)
//! become `?`, comments go, whitespace folds; bound parameters (`?1`,
//! `:name`, `@name`, `$name`) and quoted identifiers stay. Also the
//! operation and the table a span is named after (`SELECT orders`).

/// A statement as a D1 span records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `db.query.text`: the statement without its literals.
    pub text: String,
    /// `db.operation.name`: the first keyword, upper-case.
    pub operation: Option<String>,
    /// `db.collection.name`: the first table after FROM / INTO / UPDATE / TABLE.
    pub collection: Option<String>,
}

impl Statement {
    pub fn new(sql: &str) -> Self {
        let text = sanitize(sql);
        let operation = first_word(&text).map(|word| word.to_ascii_uppercase());
        let collection = collection_of(&text);
        Self { text, operation, collection }
    }

    /// The span name the database conventions ask for: operation and table.
    pub fn span_name(&self) -> String {
        match (&self.operation, &self.collection) {
            (Some(operation), Some(table)) => format!("{operation} {table}"),
            (Some(operation), None) => operation.clone(),
            _ => "D1".to_owned(),
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The statement with every literal replaced by `?`.
pub fn sanitize(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut pending_space = false;
    let push = |out: &mut String, piece: &str, pending_space: &mut bool| {
        if std::mem::take(pending_space) && !out.is_empty() {
            out.push(' ');
        }
        out.push_str(piece);
    };
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => pending_space = true,
            '-' if chars.peek() == Some(&'-') => {
                for next in chars.by_ref() {
                    if next == '\n' {
                        break;
                    }
                }
                pending_space = true;
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut previous = ' ';
                for next in chars.by_ref() {
                    if previous == '*' && next == '/' {
                        break;
                    }
                    previous = next;
                }
                pending_space = true;
            }
            '\'' => {
                take_quoted(&mut chars, '\'', true);
                push(&mut out, "?", &mut pending_space);
            }
            '"' | '`' | '[' => {
                let (close, doubled_escapes) = if c == '[' { (']', false) } else { (c, true) };
                let quoted = format!("{c}{}", take_quoted(&mut chars, close, doubled_escapes));
                push(&mut out, &quoted, &mut pending_space);
            }
            '?' | ':' | '@' | '$' => {
                let mut parameter = String::from(c);
                while let Some(next) = chars.next_if(|n| is_word_char(*n)) {
                    parameter.push(next);
                }
                push(&mut out, &parameter, &mut pending_space);
            }
            c if c.is_ascii_digit() || (c == '.' && chars.peek().is_some_and(char::is_ascii_digit)) => {
                let mut previous = c;
                while let Some(next) = chars.next_if(|n| {
                    n.is_ascii_alphanumeric() || *n == '.' || (matches!(n, '+' | '-') && matches!(previous, 'e' | 'E'))
                }) {
                    previous = next;
                }
                push(&mut out, "?", &mut pending_space);
            }
            c if is_word_char(c) => {
                let mut word = String::from(c);
                while let Some(next) = chars.next_if(|n| is_word_char(*n)) {
                    word.push(next);
                }
                if word.eq_ignore_ascii_case("x") && chars.peek() == Some(&'\'') {
                    chars.next();
                    take_quoted(&mut chars, '\'', true);
                    push(&mut out, "?", &mut pending_space);
                } else {
                    push(&mut out, &word, &mut pending_space);
                }
            }
            other => {
                let mut piece = [0u8; 4];
                push(&mut out, other.encode_utf8(&mut piece), &mut pending_space);
            }
        }
    }
    out
}

/// Takes the text up to and including the closing quote (or to the end);
/// with `doubled_escapes`, a doubled closing quote is an escaped one.
fn take_quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, close: char, doubled_escapes: bool) -> String {
    let mut taken = String::new();
    while let Some(next) = chars.next() {
        taken.push(next);
        if next == close {
            if doubled_escapes && chars.next_if_eq(&close).is_some() {
                taken.push(close);
                continue;
            }
            break;
        }
    }
    taken
}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | ',' | ';')
}

/// The next word or quoted name (without its quotes) and the text after it.
fn next_token(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start_matches(is_separator);
    let first = text.chars().next()?;
    let close = match first {
        '"' | '`' => first,
        '[' => ']',
        _ => {
            let end = text.find(is_separator).unwrap_or(text.len());
            return Some(text.split_at(end));
        }
    };
    let inner = text.get(1..)?;
    let end = inner.find(close).unwrap_or(inner.len());
    Some((inner.get(..end)?, inner.get(end + 1..).unwrap_or("")))
}

fn first_word(text: &str) -> Option<&str> {
    next_token(text).map(|(word, _)| word).filter(|w| w.chars().all(is_word_char))
}

fn collection_of(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some((word, after)) = next_token(rest) {
        rest = after;
        if !["FROM", "INTO", "UPDATE", "TABLE"].iter().any(|k| word.eq_ignore_ascii_case(k)) {
            continue;
        }
        let (mut table, mut after) = next_token(rest)?;
        if table.eq_ignore_ascii_case("IF") {
            // `CREATE TABLE IF NOT EXISTS t`
            let (_, after_not) = next_token(after)?;
            let (_, after_exists) = next_token(after_not)?;
            (table, after) = next_token(after_exists)?;
        }
        rest = after;
        if !table.is_empty() && !table.eq_ignore_ascii_case("SELECT") && !table.starts_with('?') {
            return Some(table.to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_become_placeholders() {
        assert_eq!(
            sanitize("SELECT * FROM orders WHERE email = 'a@b.c' AND total > 12.50 AND id IN (1, 2, 3)"),
            "SELECT * FROM orders WHERE email = ? AND total > ? AND id IN (?, ?, ?)"
        );
        assert_eq!(
            sanitize("INSERT INTO t VALUES ('it''s', -7, 1e-3, 0x1F, X'00ff', .5)"),
            "INSERT INTO t VALUES (?, -?, ?, ?, ?, ?)"
        );
    }

    #[test]
    fn parameters_identifiers_and_keywords_stay() {
        assert_eq!(
            sanitize("SELECT \"order id\", `x''y`, [t 1].c2 FROM t3 WHERE a = ?1 AND b = :name AND c = @v AND d = $w AND e IS NULL"),
            "SELECT \"order id\", `x''y`, [t 1].c2 FROM t3 WHERE a = ?1 AND b = :name AND c = @v AND d = $w AND e IS NULL"
        );
        assert_eq!(sanitize("SELECT col1, t2.x9 FROM t2"), "SELECT col1, t2.x9 FROM t2");
    }

    #[test]
    fn comments_go_and_whitespace_folds() {
        assert_eq!(
            sanitize("  SELECT a -- secret 'x'\n  FROM t /* token=abc */ WHERE\tb = 1  "),
            "SELECT a FROM t WHERE b = ?"
        );
        assert_eq!(sanitize("SELECT 'unterminated"), "SELECT ?");
        assert_eq!(sanitize("SELECT 1 /* unterminated"), "SELECT ?");
    }

    #[test]
    fn operation_and_table_name_the_span() {
        let cases = [
            ("SELECT id FROM orders WHERE id = ?1", "SELECT orders"),
            ("select * from \"line items\"", "SELECT line items"),
            ("INSERT OR REPLACE INTO orders (id) VALUES (?)", "INSERT orders"),
            ("UPDATE orders SET state = 'paid'", "UPDATE orders"),
            ("DELETE FROM orders WHERE id = 5", "DELETE orders"),
            ("CREATE TABLE IF NOT EXISTS orders (id INTEGER)", "CREATE orders"),
            ("SELECT count(*) FROM (SELECT 1)", "SELECT"),
            ("PRAGMA table_list", "PRAGMA"),
            ("", "D1"),
        ];
        for (sql, name) in cases {
            assert_eq!(Statement::new(sql).span_name(), name, "{sql}");
        }
        let statement = Statement::new("select id from orders");
        assert_eq!(statement.operation.as_deref(), Some("SELECT"));
        assert_eq!(statement.collection.as_deref(), Some("orders"));
    }
}

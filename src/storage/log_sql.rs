//! SQL of log storage over `log_segments` (migration 0010). Each statement
//! reads its rows from one JSON parameter with `json_each`; binary values
//! travel as hex.

/// The checks of message hashes: is `[hash hex, from ms, to ms]` carried by
/// a segment whose latest record time is in `[from, to)`. Shared by the
/// read before a write and the guard in it.
macro_rules! message_stored {
    () => {
        "EXISTS (SELECT 1 FROM log_segments AS s WHERE s.max_time_ms >= m.value ->> 1 \
         AND s.max_time_ms < m.value ->> 2 AND instr(s.messages, unhex(m.value ->> 0)) > 0)"
    };
}

/// What searching and pruning read of a segment row.
macro_rules! segment_columns {
    () => {
        "SELECT max_time_ms, block_id, offset, length, records, newest, max_severity, services, \
         hex(bloom) AS bloom FROM log_segments"
    };
}

/// The hashes already stored.
/// - ?1: JSON array of `[hash hex, from ms, to ms]`
pub const SELECT_STORED_MESSAGES: &str =
    concat!("SELECT m.value ->> 0 AS value FROM json_each(?1) AS m WHERE ", message_stored!());

/// Fails (`json('x')`), and so rolls the whole batch back, when another
/// writer stored one of the messages since they were read.
/// - ?1: JSON array of `[hash hex, from ms, to ms]`
pub const GUARD_MESSAGES: &str = concat!(
    "SELECT json(CASE WHEN EXISTS (SELECT 1 FROM json_each(?1) AS m WHERE ",
    message_stored!(),
    ") THEN 'x' ELSE '0' END) AS unchanged"
);

/// - ?1 block id, ?2 message hashes (hex), ?3 JSON array of segments
///   `[max ms, offset, length, min ms, records, newest, max severity, services, bloom hex]`
pub const INSERT_SEGMENTS: &str = "INSERT INTO log_segments (max_time_ms, block_id, offset, length, min_time_ms, \
    records, newest, max_severity, services, bloom, messages) \
    SELECT s.value ->> 0, ?1, s.value ->> 1, s.value ->> 2, s.value ->> 3, s.value ->> 4, s.value ->> 5, \
    s.value ->> 6, s.value -> 7, unhex(s.value ->> 8), unhex(?2) FROM json_each(?3) AS s";

/// Segments that may hold records of a time range, latest first, one page
/// after a `(max_time_ms, block_id, offset)` position.
/// - ?1 from ms, ?2 bound on the latest record ms (exclusive), ?3 to ms (inclusive),
///   ?4 ?5 ?6 position, ?7 page size
pub const SELECT_SEGMENTS: &str = concat!(
    segment_columns!(),
    " WHERE max_time_ms >= ?1 AND max_time_ms < ?2 AND min_time_ms <= ?3 \
    AND (max_time_ms, block_id, offset) < (?4, ?5, ?6) \
    ORDER BY max_time_ms DESC, block_id DESC, offset DESC LIMIT ?7"
);

/// Segments whose every record is older than the cutoff, oldest first.
/// - ?1 cutoff ms, ?2 segments per chunk
pub const SELECT_EXPIRED_SEGMENTS: &str =
    concat!(segment_columns!(), " WHERE max_time_ms < ?1 ORDER BY max_time_ms, block_id, offset LIMIT ?2");

/// - ?1: JSON array of `[max ms, block id, offset]`
pub const DELETE_SEGMENTS: &str = "DELETE FROM log_segments WHERE (max_time_ms, block_id, offset) IN \
    (SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1))";

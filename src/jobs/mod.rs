//! Work of the cron trigger (every minute): alert evaluation (also run on
//! demand by `POST /api/alerts/evaluate`), rolling call minutes into the
//! call totals, and pruning past retention.

pub mod alerts;
pub mod prune;
pub mod rollups;

//! Work of the cron trigger (every minute): alert evaluation (also run on
//! demand by `POST /api/alerts/evaluate`) and pruning past retention.

pub mod alerts;
pub mod prune;

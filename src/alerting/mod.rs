//! Alerting, pure: rules as users write them (validated, with defaults),
//! span-derived metrics, the per-rule state machine driven by an explicit
//! `now`, the evaluation cycle that reconciles states with incidents,
//! notification channels, payloads, signatures and retries.

pub mod channel;
pub mod cycle;
pub mod engine;
pub mod fields;
pub mod incident;
pub mod notification;
pub mod rule;
pub mod slo;
pub mod slo_history;
pub mod span_metrics;
pub mod writes;

pub use engine::{evaluate, Observation, Phase, RuleState, Transition};
pub use fields::FieldError;
pub use rule::{Aggregation, AlertRule, Condition, Severity};

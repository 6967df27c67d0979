//! Alerting, pure: rules as users write them (validated, with defaults), the
//! aggregations and conditions they use, and the per-rule state machine
//! (inactive → pending → firing → resolved) driven by an explicit `now`.

pub mod engine;
pub mod rule;

pub use engine::{evaluate, Observation, Phase, RuleState, Transition};
pub use rule::{Aggregation, AlertRule, Condition, RuleError, Severity};

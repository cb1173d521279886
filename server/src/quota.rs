//! A tenant's fuel budget: so much fuel per period (a minute), shared by all
//! its connections. A call is refused while the period's budget is used up,
//! with the seconds until the next period; the session stays usable.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Fuel used in the current period, against the budget.
#[derive(Debug)]
pub struct FuelBudget {
    per_period: Option<u64>,
    period: Duration,
    state: Mutex<(Instant, u64)>,
}

impl FuelBudget {
    /// `per_period` fuel every `period` (no budget when `None`).
    pub fn new(per_period: Option<u64>, period: Duration) -> Self {
        FuelBudget {
            per_period,
            period,
            state: Mutex::new((Instant::now(), 0)),
        }
    }

    /// `Err(seconds until the budget refills)` when it is used up.
    pub fn check(&self) -> Result<(), u64> {
        let Some(budget) = self.per_period else {
            return Ok(());
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if now.duration_since(state.0) >= self.period {
            *state = (now, 0);
        }
        if state.1 < budget {
            return Ok(());
        }
        let left = self.period.saturating_sub(now.duration_since(state.0));
        Err(left.as_secs_f64().ceil() as u64)
    }

    /// Count `fuel` used by a call.
    pub fn charge(&self, fuel: u64) {
        if self.per_period.is_none() {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.1 = state.1.saturating_add(fuel);
    }

    /// The budget per period, if any.
    pub fn per_period(&self) -> Option<u64> {
        self.per_period
    }
}

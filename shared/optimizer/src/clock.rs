//! Time is injected so the library never reads a system clock (it also runs in wasm32).

use std::cell::Cell;

/// A monotonic clock measuring milliseconds since the solve started.
pub trait Clock {
    fn elapsed_ms(&self) -> u64;
}

/// A clock that never advances: only iteration budgets and cancellation end the search.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoClock;

impl Clock for NoClock {
    fn elapsed_ms(&self) -> u64 {
        0
    }
}

/// A fake clock advancing by `step_ms` on every reading (tests and simulations).
#[derive(Debug, Default)]
pub struct StepClock {
    now: Cell<u64>,
    step_ms: u64,
}

impl StepClock {
    pub fn new(step_ms: u64) -> Self {
        Self {
            now: Cell::new(0),
            step_ms,
        }
    }
}

impl Clock for StepClock {
    fn elapsed_ms(&self) -> u64 {
        let t = self.now.get();
        self.now.set(t + self.step_ms);
        t
    }
}

/// Adapts any closure, e.g. one wrapping `std::time::Instant` in a binary.
pub struct FnClock<F: Fn() -> u64>(pub F);

impl<F: Fn() -> u64> Clock for FnClock<F> {
    fn elapsed_ms(&self) -> u64 {
        (self.0)()
    }
}

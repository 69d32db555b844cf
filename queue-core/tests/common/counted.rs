//! A value that counts its drops, for the models that check every value is dropped once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Value `id` (below 3), counting its drops in a table shared by the test.
pub struct Counted {
    pub id: usize,
    pub drops: Arc<[AtomicUsize; 3]>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        // Relaxed: the tests read the table after joining every thread that drops.
        self.drops[self.id].fetch_add(1, Ordering::Relaxed);
    }
}

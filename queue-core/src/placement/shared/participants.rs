//! The participants of a shared queue: a table in the mapping with one entry for each handle
//! that uses the queue, in any process, so that a claim left unfinished by a dead process can
//! be told from one a live process is still making (see `ring::claimer`).
//!
//! # An entry's life
//!
//! Each entry is one word of state (its status, the roles, a generation and a process id),
//! the start time of that process, its pid namespace and its pidfd's inode, on a cache line
//! of its own; its
//! announcement (`ring::Announcement`) is in a second table, at the same index.
//!
//! ```text
//! Free ──join──▶ Joining ──▶ Active ──leave──▶ Free (next generation)
//!                   │            │
//!                   └──found dead┴──▶ Dead ──its claim settled, a join──▶ Joining
//! ```
//!
//! - **Join.** A joiner takes a free entry with one compare-and-swap to `Joining` under its
//!   pid, writes its start time, namespace and pidfd inode, sets its bits in the role masks, and only then
//!   stores `Active`. It announces nothing before `Active`.
//! - **Leave.** A handle dropped between calls holds no claim: it clears its mask bits and
//!   frees the entry, bumping the generation.
//! - **Death.** A participant found dead (`liveness`) is marked `Dead` with one
//!   compare-and-swap from exactly the state that was found dead; its mask bits stay, so that
//!   recoverers keep reading its announcement. A dead entry serves again only once the claim it
//!   announced holds no slot (`Ring::settle`), and only by a joiner that takes it with a
//!   compare-and-swap: one owner at a time, as for a free entry.
//!
//! Every field is an integer: any bits another process writes decode to some state, and the
//! worst a hostile writer gets is a wrong answer to "is this claimer dead?", which the queue's
//! trust promises already allow (damage answered as a state the protocol reaches).

use crossbeam_utils::CachePadded;

use crate::ring::Side;
use crate::sync::{AtomicU64, AtomicUsize, Ordering};

/// How many handles, in all processes together, can use one shared queue at once: one per bit
/// of a role mask.
pub const MAX_PARTICIPANTS: usize = usize::BITS as usize;

/// What a participant does with the queue, as bits of [`State`] and of the role masks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Roles(u64);

impl Roles {
    /// The role bit of the participants that claim on `side`.
    pub(crate) fn of(side: Side) -> Self {
        match side {
            Side::Push => Self::PRODUCER,
            Side::Pop => Self::CONSUMER,
        }
    }

    /// Whether these roles claim on `side`.
    pub(crate) fn has(self, side: Side) -> bool {
        self.0 & Self::of(side).0 != 0
    }

    /// Whether `bits` (of `Masks::joined`) hold these roles.
    pub(crate) fn among(self, bits: usize) -> bool {
        bits as u64 & self.0 == self.0
    }

    /// Pushes.
    pub(crate) const PRODUCER: Self = Self(1);
    /// Pops.
    pub(crate) const CONSUMER: Self = Self(2);
    /// Both.
    pub(crate) const BOTH: Self = Self(3);

    fn produces(self) -> bool {
        self.0 & Self::PRODUCER.0 != 0
    }

    fn consumes(self) -> bool {
        self.0 & Self::CONSUMER.0 != 0
    }
}

/// An entry's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Nobody uses the entry.
    Free,
    /// A process is taking the entry: its pid is in the state, the rest is being written.
    Joining,
    /// A participant uses the entry.
    Active,
    /// The entry's process was found dead; its announcement may still hold a claim.
    Dead,
}

/// An entry's state word: status (bits 0-1), roles (2-3), generation (4-31), pid (32-63).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct State(u64);

impl State {
    const GENERATION_ONE: u64 = 1 << 4;
    const GENERATIONS: u64 = 0xffff_fff0;

    /// The status.
    pub(crate) fn status(self) -> Status {
        match self.0 & 3 {
            0 => Status::Free,
            1 => Status::Joining,
            2 => Status::Active,
            _ => Status::Dead,
        }
    }

    /// The pid of the process that joined (meaningless when free).
    pub(crate) fn pid(self) -> u32 {
        (self.0 >> 32) as u32
    }

    fn roles(self) -> Roles {
        Roles((self.0 >> 2) & 3)
    }

    /// The same state with status `status`.
    fn with_status(self, status: Status) -> Self {
        let bits = match status {
            Status::Free => 0,
            Status::Joining => 1,
            Status::Active => 2,
            Status::Dead => 3,
        };
        Self(self.0 & !3 | bits)
    }

    /// The state of `pid` joining with `roles`, one generation after this one.
    fn joining(self, pid: u32, roles: Roles) -> Self {
        let generation = self.0.wrapping_add(Self::GENERATION_ONE) & Self::GENERATIONS;
        Self(u64::from(pid) << 32 | generation | roles.0 << 2 | 1)
    }

    /// The free state one generation after this one.
    fn freed(self) -> Self {
        Self(self.0.wrapping_add(Self::GENERATION_ONE) & Self::GENERATIONS)
    }
}

/// Who a participant's process is, as the kernel tells it: enough to tell it from a later
/// process that is given the same pid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    /// The process id.
    pub(crate) pid: u32,
    /// When it started, in clock ticks after boot; 0 if unknown.
    pub(crate) started: u64,
    /// The inode of its pid namespace; 0 if unknown. A pid means that process only to a
    /// process in the same namespace.
    pub(crate) namespace: u64,
    /// The inode of a pidfd of it, where pidfds live in pidfs (Linux 6.9 on): a number the
    /// kernel gives no other process until it reboots. 0 if unknown (an older kernel).
    pub(crate) inode: u64,
}

/// One participant's entry.
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct Entry {
    state: AtomicU64,
    started: AtomicU64,
    namespace: AtomicU64,
    inode: AtomicU64,
}

impl Entry {
    /// The state.
    pub(crate) fn state(&self) -> State {
        // ORDERING: Acquire pairs with the Release CAS to `Active` in `activate`: a reader
        // that sees an active state sees the identity written before it (with Relaxed, a
        // live participant could be judged dead by a stale identity and its claim robbed).
        // Beyond the models: no loom model runs the table (it lives in a mapping, which
        // loom cannot model; see `MappingError::UnderLoom`); the crash, soak and hostile-peer
        // tests run it with real processes, on x86, whose loads and stores are all
        // Acquire/Release, so none of them could show this ordering missing either.
        State(self.state.load(Ordering::Acquire))
    }

    /// The identity of the process in `state` (read from this entry, after `state`).
    pub(crate) fn identity(&self, state: State) -> Identity {
        // Relaxed: ordered after the Acquire load that returned `state` (see `state`).
        Identity {
            pid: state.pid(),
            started: self.started.load(Ordering::Relaxed),
            namespace: self.namespace.load(Ordering::Relaxed),
            inode: self.inode.load(Ordering::Relaxed),
        }
    }

    /// Marks the entry dead, if it is still in `found`, the state whose process was found
    /// dead; returns whether it is dead now.
    pub(crate) fn mark_dead(&self, found: State) -> bool {
        if found.status() == Status::Dead {
            return true;
        }
        // ORDERING: AcqRel, as every change of an entry's owner: the joiner that takes the
        // entry next (Acquire) sees what we saw; Acquire on failure, as the state's load.
        // Beyond the models: no loom model runs the table (it lives in a mapping, which
        // loom cannot model; see `MappingError::UnderLoom`); the crash, soak and hostile-peer
        // tests run it with real processes, on x86, whose loads and stores are all
        // Acquire/Release, so none of them could show this ordering missing either.
        self.state
            .compare_exchange(
                found.0,
                found.with_status(Status::Dead).0,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
            || self.state().status() == Status::Dead
    }
}

/// The role masks: which entries may hold a push's (or a pop's) announcement.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Masks {
    /// Bit `i`: entry `i` pushes (or did, and is dead with its claim not yet settled).
    pub(crate) producers: AtomicUsize,
    /// Bit `i`: entry `i` pops (or did, as above).
    pub(crate) consumers: AtomicUsize,
    /// The roles (`Roles` bits) that any participant has ever joined with: a side that never
    /// had a participant is not gone, only not there yet.
    pub(crate) joined: AtomicUsize,
}

/// The table, in the mapping at `Header::participants_offset`; zero bytes make an empty one.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Participants {
    pub(crate) masks: CachePadded<Masks>,
    pub(crate) entries: [Entry; MAX_PARTICIPANTS],
}

impl Participants {
    /// Takes entry `index`, found in state `found` (free, or dead with its claim settled),
    /// for `me`; returns whether it is ours. Its announcement is the caller's to clear before
    /// [`activate`](Self::activate).
    pub(crate) fn take(&self, index: usize, found: State, me: Identity, roles: Roles) -> bool {
        debug_assert!(matches!(found.status(), Status::Free | Status::Dead));
        let entry = &self.entries[index];
        // ORDERING: AcqRel, as in `mark_dead`; Acquire on failure, as the state's load.
        // Beyond the models: no loom model runs the table (it lives in a mapping, which
        // loom cannot model; see `MappingError::UnderLoom`); the crash, soak and hostile-peer
        // tests run it with real processes, on x86, whose loads and stores are all
        // Acquire/Release, so none of them could show this ordering missing either.
        entry
            .state
            .compare_exchange(
                found.0,
                found.joining(me.pid, roles).0,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// Makes entry `index`, taken by [`take`](Self::take), active for `me`; returns its
    /// state, which [`leave`](Self::leave) expects, or `None` if another process found us
    /// dead meanwhile (it cannot, in one pid namespace) and the entry is no longer ours.
    pub(crate) fn activate(&self, index: usize, me: Identity) -> Option<State> {
        let entry = &self.entries[index];
        // Relaxed: published by the Release compare-and-swap to `Active` below.
        entry.started.store(me.started, Ordering::Relaxed);
        entry.namespace.store(me.namespace, Ordering::Relaxed);
        entry.inode.store(me.inode, Ordering::Relaxed);
        let joining = State(entry.state.load(Ordering::Relaxed));
        if joining.status() != Status::Joining || joining.pid() != me.pid {
            return None;
        }
        let bit = 1 << index;
        // ORDERING: SeqCst, the masks' and the state's: before we announce any claim, every
        // recoverer that reads a cursor after our claim's Release compare-and-swap (Acquire)
        // sees our bit, and so reads our announcement. A bit of a role we do not have (left
        // by the entry's dead owner, whose claim is settled) is cleared. SeqCst also puts the
        // bits in one order with the masks' other changes, which a side's being gone is read
        // from. beyond the models: no loom model runs the table (it lives in a mapping, which
        // loom cannot model; see `MappingError::UnderLoom`); the crash, soak and hostile-peer
        // tests run it with real processes, on x86, whose loads and stores are all
        // Acquire/Release, so none of them could show this ordering missing either.
        for (mask, ours) in [
            (&self.masks.producers, joining.roles().produces()),
            (&self.masks.consumers, joining.roles().consumes()),
        ] {
            if ours {
                // ORDERING: SeqCst, as said above, beyond the models.
                mask.fetch_or(bit, Ordering::SeqCst);
            } else {
                // ORDERING: SeqCst, as said above, beyond the models.
                mask.fetch_and(!bit, Ordering::SeqCst);
            }
        }
        // ORDERING: SeqCst, as the masks above (nothing is ordered by it but the answer of a
        // side being gone, read after the masks). beyond the models: no loom model runs the table (it lives in a mapping, which
        // loom cannot model; see `MappingError::UnderLoom`); the crash, soak and hostile-peer
        // tests run it with real processes, on x86, whose loads and stores are all
        // Acquire/Release, so none of them could show this ordering missing either.
        self.masks
            .joined
            .fetch_or(joining.roles().0 as usize, Ordering::SeqCst);
        let active = joining.with_status(Status::Active);
        // ORDERING: AcqRel: Release pairs with the Acquire load in `Entry::state`.
        // Beyond the models: no loom model runs the table (it lives in a mapping, which
        // loom cannot model; see `MappingError::UnderLoom`); the crash, soak and hostile-peer
        // tests run it with real processes, on x86, whose loads and stores are all
        // Acquire/Release, so none of them could show this ordering missing either.
        entry
            .state
            .compare_exchange(joining.0, active.0, Ordering::AcqRel, Ordering::Relaxed)
            .ok()
            .map(|_| active)
    }

    /// Frees entry `index`, active in `mine`, whose participant holds no claim any more.
    pub(crate) fn leave(&self, index: usize, mine: State) {
        let bit = 1 << index;
        // ORDERING: Release, so that a joiner that sees the entry free (Acquire) and then
        // sets the bits again orders its own after ours. beyond the models: no loom model runs the table (it lives in a mapping, which
        // loom cannot model; see `MappingError::UnderLoom`); the crash, soak and hostile-peer
        // tests run it with real processes, on x86, whose loads and stores are all
        // Acquire/Release, so none of them could show this ordering missing either.
        self.masks.producers.fetch_and(!bit, Ordering::Release);
        self.masks.consumers.fetch_and(!bit, Ordering::Release);
        // ORDERING: AcqRel, as in `mark_dead`. It fails only if another process marked us
        // dead (we are not: a hostile or mistaken peer) and then the entry is left to it.
        // Beyond the models: no loom model runs the table (it lives in a mapping, which
        // loom cannot model; see `MappingError::UnderLoom`); the crash, soak and hostile-peer
        // tests run it with real processes, on x86, whose loads and stores are all
        // Acquire/Release, so none of them could show this ordering missing either.
        let _ = self.entries[index].state.compare_exchange(
            mine.0,
            mine.freed().0,
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_word_keeps_its_fields_apart() {
        let free = State(0);
        assert_eq!(free.status(), Status::Free);
        let joining = free.joining(4_000_000, Roles::CONSUMER);
        assert_eq!(joining.status(), Status::Joining);
        assert_eq!(joining.pid(), 4_000_000);
        assert_eq!(joining.roles(), Roles::CONSUMER);
        let dead = joining.with_status(Status::Active).with_status(Status::Dead);
        assert_eq!((dead.status(), dead.pid()), (Status::Dead, 4_000_000));
        let again = dead.joining(7, Roles::BOTH);
        assert_ne!(again.0 & State::GENERATIONS, joining.0 & State::GENERATIONS);
        assert_eq!(again.freed().status(), Status::Free);
        assert_eq!(again.freed().pid(), 0);
    }

    #[test]
    fn generations_wrap_inside_their_bits() {
        let last = State(State::GENERATIONS | 2);
        assert_eq!(last.freed(), State(0));
        assert_eq!(last.joining(1, Roles::PRODUCER).pid(), 1);
    }
}

//! One handle's entry in a shared queue's table of participants: taken when the handle is
//! made, given back when it is dropped, and taken again in a child made by `fork`, which must
//! not claim under its parent's entry (the parent's death would make the child's claims look
//! like a dead one's).
//!
//! A child made by `fork` is told by the fork token (see `forked`): a handle compares it with
//! the pid it joined under on every call, and joins again when they differ.
//!
//! A handle's presence (see `presence`) is not its entry: it is taken once, when the handle is
//! made, and a forked child's copy keeps sharing it, so that the handle counts as existing
//! from the fork on, before the child's first call takes an entry.

use core::cell::Cell;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicU32, Ordering};

use super::error::MappingError;
use super::liveness::{Peers, this_process};
use super::participants::{MAX_PARTICIPANTS, Roles, State, Status};
use super::presence::Presence;
use crate::forked::{current_pid, fork_token};
use crate::ring::Announcement;

/// The table of participants a handle joins, as its mapping shows it.
pub(crate) trait Table {
    /// The participants, as this process judges them.
    fn peers(&self) -> Peers<'_>;
    /// Their announcements, one per entry.
    fn announcements(&self) -> &[Announcement];
    /// Whether the claim `announcement` (of a dead participant) holds no slot any more,
    /// after recovering what it can.
    fn settle(&self, announcement: &Announcement) -> bool;
    /// Called once entry `index` is taken, before it is used: takes what a dead owner left
    /// registered elsewhere (its sleeps) out.
    fn taken(&self, index: usize);
}

/// A handle's place in the table: its entry (if it has one) and the process it took it in.
pub(crate) struct Membership {
    token: &'static AtomicU32,
    /// The entry and the state it was made active in; `None` while the table is full in a
    /// forked child that has not joined again (its calls then claim nothing).
    entry: Cell<Option<(usize, State)>>,
    /// The pid of the process that took `entry`.
    pid: Cell<u32>,
    roles: Roles,
    /// The handle's presence, shared with its copies in forked children; `None` once it left.
    presence: Cell<Option<Presence>>,
}

impl core::fmt::Debug for Membership {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Membership")
            .field("entry", &self.entry.get())
            .field("pid", &self.pid.get())
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

impl Membership {
    /// Takes the presence of `roles` in the queue's memory file `file`, then an entry in
    /// `table`: a side is never seen joined (`Masks::joined`) before it is present.
    pub(crate) fn join(
        table: &impl Table,
        file: BorrowedFd<'_>,
        roles: Roles,
    ) -> Result<Self, MappingError> {
        let token = fork_token().map_err(MappingError::Os)?;
        let pid = current_pid(token);
        let presence = Presence::take(file, roles).map_err(MappingError::Os)?;
        let entry = take_entry(table, roles)?;
        Ok(Self {
            token,
            entry: Cell::new(Some(entry)),
            pid: Cell::new(pid),
            roles,
            presence: Cell::new(Some(presence)),
        })
    }

    /// Whether this handle claims on `side`.
    pub(crate) fn has(&self, side: crate::ring::Side) -> bool {
        self.roles.has(side)
    }

    /// Joins again in a child made by fork (see the module docs), so that [`index`]
    /// answers for this process; to be called before every call that may claim.
    ///
    /// [`index`]: Self::index
    #[inline(always)]
    pub(crate) fn rejoin_if_forked(&self, table: &impl Table, file: BorrowedFd<'_>) {
        // Relaxed: see `current_pid`.
        if self.token.load(Ordering::Relaxed) != self.pid.get() {
            self.join_again(table, file);
        }
    }

    /// The entry this handle claims under, as of the last [`rejoin_if_forked`].
    ///
    /// [`rejoin_if_forked`]: Self::rejoin_if_forked
    #[inline(always)]
    pub(crate) fn index(&self) -> Option<usize> {
        self.entry.get().map(|(index, _)| index)
    }

    #[cold]
    #[inline(never)]
    fn join_again(&self, table: &impl Table, file: BorrowedFd<'_>) {
        // The parent's entry stays the parent's: this process never leaves it, nor claims
        // under it. With no entry of its own, the handle claims nothing (its calls answer
        // `TooManyParticipants`), and every call tries again: `pid` still names the parent.
        self.entry.set(None);
        if let Ok(entry) = take_entry(table, self.roles) {
            self.entry.set(Some(entry));
            self.pid.set(current_pid(self.token));
            // A presence of its own, in place of the one shared with the parent (which this
            // process may have given up). If none can be opened, the shared one stays.
            if let Ok(own) = Presence::take(file, self.roles) {
                drop(self.presence.replace(Some(own)));
            }
        }
    }

    /// Gives the entry back, if this process took it, then this process's hold on the
    /// handle's presence (the last process to let go of it ends it).
    pub(crate) fn leave(&self, peers: Peers<'_>) {
        if self.token.load(Ordering::Relaxed) == self.pid.get() {
            if let Some((index, state)) = self.entry.take() {
                peers.participants.leave(index, state);
            }
        }
        drop(self.presence.take());
    }
}

/// Takes a free entry, or a dead one whose claim is settled; failing both, looks for
/// participants that have died and takes one of theirs.
fn take_entry(table: &impl Table, roles: Roles) -> Result<(usize, State), MappingError> {
    let me = this_process();
    let (peers, announcements) = (table.peers(), table.announcements());
    let settle = |announcement| table.settle(announcement);
    let participants = peers.participants;
    for look_for_the_dead in [false, true] {
        for (index, entry) in participants.entries.iter().enumerate() {
            let state = entry.state();
            let reusable = match state.status() {
                Status::Free => true,
                Status::Dead => settle(&announcements[index]),
                Status::Joining | Status::Active => {
                    look_for_the_dead && peers.is_dead(index) && settle(&announcements[index])
                }
            };
            if !reusable {
                continue;
            }
            // Taken from the state it is in now: free, or dead (as we just made it).
            let state = entry.state();
            if matches!(state.status(), Status::Free | Status::Dead)
                && participants.take(index, state, me, roles)
            {
                // The entry is ours: whatever a dead owner announced is settled.
                announcements[index].clear();
                table.taken(index);
                if let Some(active) = participants.activate(index, me) {
                    return Ok((index, active));
                }
            }
        }
    }
    Err(MappingError::TooManyParticipants {
        max: MAX_PARTICIPANTS,
    })
}

//! Whether a participant's process is dead, as the kernel tells it.
//!
//! Each participant's entry names its process by pid, start time, pid namespace and pidfd
//! inode (`participants::Identity`). To judge it, this process opens a pidfd for the pid once
//! per entry and generation, checks that the process behind it is the one the entry names (so
//! a later process given the same pid is not taken for it), and then asks the pidfd: it is
//! readable exactly when the process has exited.
//!
//! Which process a pidfd is of: where pidfds live in pidfs (Linux 6.9 on), each process's
//! pidfds have an inode number the kernel never gives another process until it reboots, and
//! the entry records its process's. On older kernels every pidfd shares one inode, and the
//! start time (in clock ticks, 10 ms) decides: a process that died within its first tick and
//! whose pid a new process took within that same tick is taken for the new one, and its
//! claims are recovered only once that one exits. An event the kernel records, not a heartbeat:
//! a process is dead from the instant it exits, and a live one, however long stalled, never is.
//!
//! When the kernel cannot tell (a participant in another pid namespace, no `/proc`, no
//! pidfds), the participant counts as alive: its claims are then never recovered, and never
//! robbed.

use std::fs;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::cell::Cell;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::libc;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::participants::{Entry, Identity, MAX_PARTICIPANTS, Participants, Roles, State, Status};
use crate::mutant;
use crate::ring::Side;

/// The identity of this process, as it records it in the entries it takes.
pub(crate) fn this_process() -> Identity {
    let pid = std::process::id();
    Identity {
        pid,
        started: start_time(pid).unwrap_or(0),
        namespace: pid_namespace().unwrap_or(0),
        inode: open_pidfd(pid).ok().and_then(|pidfd| pidfs_inode(&pidfd)).unwrap_or(0),
    }
}

/// The inode of `pidfd`, if pidfds live in pidfs here (so that it names one process for
/// good); `None` on older kernels, whose pidfds all share one anonymous inode.
fn pidfs_inode(pidfd: &OwnedFd) -> Option<u64> {
    /// `PIDFS_MAGIC` of `linux/magic.h`: "PIDF".
    const PIDFS_MAGIC: i64 = 0x5049_4446;
    let filesystem = nix::sys::statfs::fstatfs(pidfd).ok()?;
    if filesystem.filesystem_type().0 as i64 != PIDFS_MAGIC {
        return None;
    }
    nix::sys::stat::fstat(pidfd).ok().map(|stat| stat.st_ino)
}

/// When process `pid` started, in clock ticks after boot: field 22 of `/proc/PID/stat`.
/// `None` if there is no such process (or no `/proc`).
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold anything, spaces and
    // parentheses too: the fields after it start after its last ')'. Field 3 is the first.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_ascii_whitespace().nth(22 - 3)?.parse().ok()
}

/// The inode of this process's pid namespace.
fn pid_namespace() -> Option<u64> {
    fs::metadata("/proc/self/ns/pid").ok().map(|meta| meta.ino())
}

/// What this process knows of one entry's process: the state it was learned for, and a
/// pidfd of its process (`None`: it was dead or unknowable when looked at).
#[derive(Debug)]
struct Watched {
    state: State,
    verdict: Verdict,
}

#[derive(Debug)]
enum Verdict {
    /// The process cannot be judged from here: counted as alive, for good.
    Unknowable,
    /// The process could not be judged this time (this process is out of descriptors or
    /// memory): counted as alive, and judged again at the next question.
    NotNow,
    /// The process has exited (or never was what the entry says).
    Dead,
    /// The process was alive when its pidfd was opened; the pidfd tells when it exits.
    Watching(OwnedFd),
}

/// The pidfds of the participants of one queue, as this process has opened them.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    watched: Mutex<Vec<Option<Watched>>>,
}

impl Watch {
    /// Whether the process of `entry` (entry `index`), in `state` (joining or active), has
    /// exited.
    fn has_exited(&self, index: usize, entry: &Entry, state: State) -> bool {
        // A panic while the lock was held left at worst a missing or stale verdict, which is
        // recomputed: the data stays usable.
        let mut watched = self
            .watched
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if watched.len() < MAX_PARTICIPANTS {
            watched.resize_with(MAX_PARTICIPANTS, || None);
        }
        let slot = &mut watched[index];
        if slot.as_ref().is_none_or(|known| {
            known.state != state || matches!(known.verdict, Verdict::NotNow)
        }) {
            let verdict = judge(entry.identity(state), state.status());
            *slot = Some(Watched { state, verdict });
        }
        match slot.as_ref().map(|known| &known.verdict) {
            Some(Verdict::Dead) => true,
            Some(Verdict::Watching(pidfd)) => exited(pidfd),
            Some(Verdict::Unknowable | Verdict::NotNow) | None => false,
        }
    }
}

/// What this process can tell of the process `who`, found joining or active.
fn judge(who: Identity, status: Status) -> Verdict {
    // An active entry names its namespace; a pid from another one (or an unknown one) names
    // some other process here. A joining entry's namespace is not written yet: it is judged
    // by its pid, and if that misjudges a joiner from another namespace, the joiner's
    // activation fails and it takes another entry (see `Participants::activate`).
    if status == Status::Active
        && (who.namespace == 0 || Some(who.namespace) != pid_namespace())
    {
        return Verdict::Unknowable;
    }
    let pidfd = match open_pidfd(who.pid) {
        Ok(pidfd) => pidfd,
        Err(Errno::ESRCH) => return Verdict::Dead,
        // Out of descriptors or memory: a shortage that passes, unlike a kernel without
        // pidfds (ENOSYS) or a sandbox that forbids them.
        Err(Errno::EMFILE | Errno::ENFILE | Errno::ENOMEM | Errno::EAGAIN) => {
            return Verdict::NotNow;
        }
        Err(_) => return Verdict::Unknowable,
    };
    // Read after the pidfd was opened: if the inode (or, without one, the start time)
    // matches, the pidfd is of the process the entry names. A joining entry's identity may
    // not be written yet, so only its pid is checked.
    if status == Status::Active && who.inode != 0 && !mutant::KNOWS_PIDS_BY_START_TIME {
        return match pidfs_inode(&pidfd) {
            Some(inode) if inode == who.inode => Verdict::Watching(pidfd),
            Some(_) => Verdict::Dead,
            // A pidfd outside pidfs, where the entry's process had one in it: no kernel does
            // that, so only a hostile write gets here. Judged as if no inode were known.
            None => judge_by_start_time(who, pidfd),
        };
    }
    if status == Status::Active {
        return judge_by_start_time(who, pidfd);
    }
    Verdict::Watching(pidfd)
}

/// The verdict on `pidfd`, opened for the active entry `who` that records no inode: dead if
/// the process behind the pid started at another time than the entry says.
fn judge_by_start_time(who: Identity, pidfd: OwnedFd) -> Verdict {
    if who.started != 0 {
        match start_time(who.pid) {
            Some(started) if started == who.started => {}
            Some(_) => return Verdict::Dead,
            // Gone between the two steps: the pidfd says so below.
            None => {}
        }
    }
    Verdict::Watching(pidfd)
}

/// A pidfd for `pid`.
fn open_pidfd(pid: u32) -> Result<OwnedFd, Errno> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| Errno::ESRCH)?;
    if pid <= 0 {
        return Err(Errno::ESRCH);
    }
    loop {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor (always
        // close-on-exec); it touches no memory of ours.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if raw >= 0 {
            let raw = i32::try_from(raw).map_err(|_| Errno::EBADF)?;
            // SAFETY: `raw` is a descriptor the kernel just opened for us; nobody else owns it.
            return Ok(unsafe { OwnedFd::from_raw_fd(raw) });
        }
        match Errno::last() {
            Errno::EINTR => continue,
            errno => return Err(errno),
        }
    }
}

/// Whether the process of `pidfd` has exited: its pidfd is readable.
fn exited(pidfd: &OwnedFd) -> bool {
    let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
    loop {
        match poll(&mut fds, PollTimeout::ZERO) {
            Ok(ready) => return ready > 0,
            Err(Errno::EINTR) => continue,
            // Cannot tell: alive.
            Err(_) => return false,
        }
    }
}

/// How long a slot must stay held by one unfinished claim before its holders' liveness is
/// asked (a system call): far longer than a live claim takes, unless its holder is
/// descheduled, and far shorter than any recovery bound.
const STUCK_AFTER: Duration = Duration::from_micros(50);

/// One handle's record of the held slot it last found, and since when: a handle asks about a
/// slot's holders only once it has seen the slot held for [`STUCK_AFTER`], and then at most
/// once per `STUCK_AFTER`; and the same for the sleepers a wake of its woke none of (a
/// handle is used by one thread at a time: `Cell`s are enough).
#[derive(Debug, Default)]
pub(crate) struct Suspicion {
    slot: Cell<Option<((Side, usize), Instant)>>,
    sleepers: Cell<Option<(usize, Instant)>>,
    /// When this handle last asked whether the other side's participants are dead.
    gone: Cell<Option<Instant>>,
}

impl Suspicion {
    /// Whether the slot of `position`, found held on `side`, has been seen held for
    /// [`STUCK_AFTER`]; starts timing it if not seen before.
    pub(crate) fn is_stuck(&self, side: Side, position: usize) -> bool {
        stuck(&self.slot, (side, position))
    }

    /// Whether the sleepers `registered`, none of whom a wake woke, have been seen so for
    /// [`STUCK_AFTER`] (a live sleeper is out of the futex only for a moment, between
    /// registering and sleeping, or waking and leaving).
    pub(crate) fn sleepers_are_stuck(&self, registered: usize) -> bool {
        stuck(&self.sleepers, registered)
    }

    /// Whether to ask, now, whether the other side's participants are dead: at most once per
    /// [`STUCK_AFTER`], so that a handle polling an empty (or full) queue pays the system
    /// calls rarely, and a sleeper's looks, 10 ms apart, ask every time.
    pub(crate) fn may_look_for_the_gone(&self) -> bool {
        let now = Instant::now();
        let due = self
            .gone
            .get()
            .is_none_or(|last| now.duration_since(last) >= STUCK_AFTER);
        if due {
            self.gone.set(Some(now));
        }
        due
    }
}

/// Whether `what` was last seen (in `seen`) at least [`STUCK_AFTER`] ago, then seen again
/// now; starts timing it if something else was seen last.
fn stuck<K: Copy + PartialEq>(seen: &Cell<Option<(K, Instant)>>, what: K) -> bool {
    let now = Instant::now();
    match seen.get() {
        Some((last, since)) if last == what => {
            let stuck = now.duration_since(since) >= STUCK_AFTER;
            if stuck {
                seen.set(Some((what, now)));
            }
            stuck
        }
        _ => {
            seen.set(Some((what, now)));
            false
        }
    }
}

/// The participants of one queue, as this process judges them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Peers<'a> {
    pub(crate) participants: &'a Participants,
    pub(crate) watch: &'a Watch,
}

impl Peers<'_> {
    /// Whether participant `index` is dead (see `Participant::is_dead`); the first to find
    /// an entry's process dead marks the entry so.
    pub(crate) fn is_dead(self, index: usize) -> bool {
        let Some(entry) = self.participants.entries.get(index) else {
            return true;
        };
        let state = entry.state();
        match state.status() {
            // Nobody is there: whatever its announcement says was left by no live claimer
            // (leaving clears it; only a hostile write leaves one behind).
            Status::Free | Status::Dead => true,
            Status::Joining | Status::Active => {
                !mutant::MISSES_THE_DEAD
                    && self.watch.has_exited(index, entry, state)
                    && entry.mark_dead(state)
            }
        }
    }

    /// Whether a participant that claims on `side` has ever joined: a side that never had
    /// one is not gone, only not there yet. Whether it is gone is the presence's to tell
    /// (see `presence`): the kernel counts a handle's copies in forked children, which the
    /// table cannot.
    pub(crate) fn side_joined(self, side: Side) -> bool {
        // Relaxed: this only decides whether to ask the kernel, whose lock test is what
        // orders the answer (a participant's bits are set after its presence is taken).
        let joined = self.participants.masks.joined.load(crate::sync::Ordering::Relaxed);
        Roles::of(side).among(joined)
    }

    /// The participants that may announce a claim on `side` (see `Participant::announcers`).
    pub(crate) fn announcers(self, side: Side) -> usize {
        let mask = match side {
            Side::Push => &self.participants.masks.producers,
            Side::Pop => &self.participants.masks.consumers,
        };
        // Relaxed, after the caller's Acquire load of the cursor: a participant sets its bit
        // before it announces, and its announcement before its claim's Release
        // compare-and-swap, so a caller whose cursor load saw the claim already has the bit's
        // store in its past and reads it (or a later value) whatever this load's ordering.
        // Nothing is read through the mask itself.
        mask.load(crate::sync::Ordering::Relaxed)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::participants::Roles;
    use super::*;

    #[test]
    fn this_process_is_known_by_its_start_time_and_namespace() {
        let me = this_process();
        assert_eq!(me.pid, std::process::id());
        assert_ne!(me.started, 0);
        assert_ne!(me.namespace, 0);
        assert!(matches!(
            judge(me, Status::Active),
            Verdict::Watching(ref pidfd) if !exited(pidfd)
        ));
    }

    #[test]
    fn a_reused_pid_or_an_exited_process_is_dead() {
        let me = this_process();
        if me.inode == 0 {
            eprintln!("pidfds do not live in pidfs on this kernel: the start time decides");
        } else {
            // Another process with our pid and start tick: its pidfd's inode differs.
            let reused = Identity {
                inode: me.inode + 1,
                ..me
            };
            assert!(matches!(judge(reused, Status::Active), Verdict::Dead));
        }
        // Without an inode (an older kernel), the start time decides.
        let started_later = Identity {
            started: me.started + 1,
            inode: 0,
            ..me
        };
        assert!(matches!(judge(started_later, Status::Active), Verdict::Dead));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pidfd = open_pidfd(child.id()).unwrap();
        let child_id = Identity {
            pid: child.id(),
            started: start_time(child.id()).unwrap_or(0),
            inode: pidfs_inode(&pidfd).unwrap_or(0),
            ..me
        };
        let verdict = judge(child_id, Status::Active);
        child.wait().unwrap();
        match verdict {
            Verdict::Watching(pidfd) => assert!(exited(&pidfd)),
            Verdict::Dead => {}
            Verdict::Unknowable | Verdict::NotNow => {
                panic!("a child in our namespace is knowable")
            }
        }
    }

    #[test]
    fn another_namespace_is_unknowable() {
        let other = Identity {
            namespace: this_process().namespace + 1,
            ..this_process()
        };
        assert!(matches!(
            judge(other, Status::Active),
            Verdict::Unknowable
        ));
    }

    #[test]
    fn a_process_that_could_not_be_judged_is_judged_again() {
        // SAFETY: a table is all atomics, and zeros are an empty one.
        let participants: Box<Participants> = Box::new(unsafe { core::mem::zeroed() });
        let me = this_process();
        let entry = &participants.entries[0];
        assert!(participants.take(0, entry.state(), me, Roles::BOTH));
        let state = participants.activate(0, me).unwrap();
        let watch = Watch::default();
        watch.watched.lock().unwrap().resize_with(MAX_PARTICIPANTS, || None);
        watch.watched.lock().unwrap()[0] = Some(Watched {
            state,
            verdict: Verdict::NotNow,
        });
        assert!(!watch.has_exited(0, entry, state));
        let watched = watch.watched.lock().unwrap();
        assert!(
            matches!(
                watched[0].as_ref().map(|known| &known.verdict),
                Some(Verdict::Watching(_))
            ),
            "a shortage of descriptors is not a verdict for good"
        );
    }
}

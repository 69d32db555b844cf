//! Every error type of a queue call, written once: [`queue_error!`] declares the enum from
//! what is its own (the answer of a call that could wait longer: `Full`, `Empty`, `Timeout`;
//! what its `Closed` says) and adds the variants every call shares (`Corrupted`,
//! `Disconnected`, `ForkedCopy`, `TooManyParticipants`), the `is_` methods, `Display`, `Debug`
//! (which does not print a value handed back, so `T` need not be `Debug`), `map` and
//! `into_inner` for the errors that hand a value back, and the constructors the calls use.

/// The docs of a `Disconnected` variant, for a push (`push`) or a pop (`pop`).
macro_rules! disconnected_doc {
    (push) => {
        "Every consumer of the shared queue has left or died, and the queue is full: see \
         [disconnection](crate::Shared#disconnection). Never answered by a queue on the heap."
    };
    (pop) => {
        "Every producer of the shared queue has left or died, and the queue is drained: see \
         [disconnection](crate::Shared#disconnection). Never answered by a queue on the heap."
    };
}

/// Why a heap queue's error has the shared queue's variants, in every error's docs.
macro_rules! one_type_for_every_placement {
    () => {
        "One type for every placement, so that code generic over the placement (`Queue<T, P>`) \
         handles one set of answers: a heap queue never answers `Corrupted`, `Disconnected` or \
         `TooManyParticipants`, and a shared queue never answers `ForkedCopy`."
    };
}

/// The first of the expressions it is given: the variant a call answers when it could have
/// waited longer (its own, or `Closed` for a call that waits without end and so never does).
macro_rules! first_of {
    ($first:expr $(, $rest:expr)*) => {
        $first
    };
}

/// Declares an error enum; see the module's docs. The constructors listed after `makes` are
/// those its calls use:
/// - `refused`: from the ring's refusal (`FullOrEmpty` is the error's own variant);
/// - `gave_up`: from a blocking call's [`GaveUp`](super::GaveUp) (`TimedOut` is its own);
/// - `batch_answer`: a non-blocking batch's count, or why no batch will ever move.
macro_rules! queue_error {
    // An error that hands back the value `T` that could not be pushed.
    (
        $(#[$doc:meta])*
        pub enum $Name:ident<T>, a $side:tt error, makes [$($constructor:ident),*] {
            $(#[$closed_doc:meta])* Closed => $closed_text:literal;
            $( $(#[$own_doc:meta])* $Own:ident => $own_text:literal, $is_own:ident; )?
        }
    ) => {
        $(#[$doc])*
        ///
        #[doc = $crate::error::define::one_type_for_every_placement!()]
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $Name<T> {
            $( $(#[$own_doc])* $Own(T), )?
            $(#[$closed_doc])*
            Closed(T),
            /// The shared memory holds what no process running the queue's protocol writes:
            /// see [the trust model](crate::Shared#trust). Never answered by a queue on the
            /// heap.
            Corrupted(T),
            #[doc = $crate::error::define::disconnected_doc!($side)]
            Disconnected(T),
            /// This is a queue on the heap, copied into a child by fork: the copy shares
            /// nothing with the parent's queue, and every call on it answers this. Never
            /// answered by a shared queue.
            ForkedCopy(T),
            /// This shared handle was copied into a child by fork, and the queue's table of
            /// participants was full ([`MAX_PARTICIPANTS`](crate::MAX_PARTICIPANTS)) when the
            /// child first used it: without an entry it cannot claim safely. Each call tries
            /// again to take one.
            TooManyParticipants(T),
        }

        impl<T> $Name<T> {
            /// The variants of a call that gives up, as `refused_as` takes them.
            const GIVEN_UP: [fn(T) -> Self; 5] = [
                Self::Closed,
                Self::Corrupted,
                Self::Disconnected,
                Self::ForkedCopy,
                Self::TooManyParticipants,
            ];

            /// The answer of a call that could have waited longer, holding its value.
            #[inline]
            fn waiting(value: T) -> Self {
                $crate::error::define::first_of!($(Self::$Own(value),)? Self::Closed(value))
            }

            $( $crate::error::define::queue_error!(@value $constructor); )*

            /// The same error, holding `f` of its value (a value put in another form to be
            /// pushed, turned back into the caller's).
            pub fn map<U>(self, f: impl FnOnce(T) -> U) -> $Name<U> {
                match self {
                    $( Self::$Own(value) => $Name::$Own(f(value)), )?
                    Self::Closed(value) => $Name::Closed(f(value)),
                    Self::Corrupted(value) => $Name::Corrupted(f(value)),
                    Self::Disconnected(value) => $Name::Disconnected(f(value)),
                    Self::ForkedCopy(value) => $Name::ForkedCopy(f(value)),
                    Self::TooManyParticipants(value) => $Name::TooManyParticipants(f(value)),
                }
            }

            /// Returns the value that could not be pushed: nothing is lost.
            pub fn into_inner(self) -> T {
                match self {
                    $( Self::$Own(value) | )?
                    Self::Closed(value)
                    | Self::Corrupted(value)
                    | Self::Disconnected(value)
                    | Self::ForkedCopy(value)
                    | Self::TooManyParticipants(value) => value,
                }
            }
        }

        /// Names the variant only: the value handed back need not be `Debug`.
        impl<T> core::fmt::Debug for $Name<T> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                let variant = match self {
                    $( Self::$Own(_) => concat!(stringify!($Own), "(..)"), )?
                    Self::Closed(_) => "Closed(..)",
                    Self::Corrupted(_) => "Corrupted(..)",
                    Self::Disconnected(_) => "Disconnected(..)",
                    Self::ForkedCopy(_) => "ForkedCopy(..)",
                    Self::TooManyParticipants(_) => "TooManyParticipants(..)",
                };
                f.pad(variant)
            }
        }

        $crate::error::define::queue_error!(@shared [T] $Name<T>, $($Own => $own_text, $is_own,)? $closed_text);
    };

    // An error that holds no value.
    (
        $(#[$doc:meta])*
        pub enum $Name:ident, a $side:tt error, makes [$($constructor:ident),*] {
            $(#[$closed_doc:meta])* Closed => $closed_text:literal;
            $( $(#[$own_doc:meta])* $Own:ident => $own_text:literal, $is_own:ident; )?
        }
    ) => {
        $(#[$doc])*
        ///
        #[doc = $crate::error::define::one_type_for_every_placement!()]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $Name {
            $( $(#[$own_doc])* $Own, )?
            $(#[$closed_doc])*
            Closed,
            /// The shared memory holds what no process running the queue's protocol writes:
            /// see [the trust model](crate::Shared#trust). Never answered by a queue on the
            /// heap.
            Corrupted,
            #[doc = $crate::error::define::disconnected_doc!($side)]
            Disconnected,
            /// This is a queue on the heap, copied into a child by fork: the copy shares
            /// nothing with the parent's queue, and every call on it answers this. Never
            /// answered by a shared queue.
            ForkedCopy,
            /// This shared handle was copied into a child by fork, and the queue's table of
            /// participants was full ([`MAX_PARTICIPANTS`](crate::MAX_PARTICIPANTS)) when the
            /// child first used it: without an entry it cannot claim safely. Each call tries
            /// again to take one.
            TooManyParticipants,
        }

        impl $Name {
            /// The variants of a call that gives up, as `refused_as` takes them.
            const GIVEN_UP: [Self; 5] = [
                Self::Closed,
                Self::Corrupted,
                Self::Disconnected,
                Self::ForkedCopy,
                Self::TooManyParticipants,
            ];

            /// The variant of a call that could have waited longer.
            const WAITING: Self = $crate::error::define::first_of!($(Self::$Own,)? Self::Closed);

            $( $crate::error::define::queue_error!(@unit $constructor); )*
        }

        $crate::error::define::queue_error!(@shared [] $Name, $($Own => $own_text, $is_own,)? $closed_text);
    };

    // What both kinds share: the `is_` methods, `Display` and `Error`.
    (@shared [$($T:ident)?] $Type:ty, $($Own:ident => $own_text:literal, $is_own:ident,)? $closed_text:literal) => {
        impl<$($T)?> $Type {
            $(
                #[doc = concat!("Whether the call answered `", stringify!($Own), "`: ", $own_text, ".")]
                pub fn $is_own(&self) -> bool {
                    matches!(self, Self::$Own { .. })
                }
            )?

            /// Whether the call failed because the queue was closed (and, for a pop, drained).
            pub fn is_closed(&self) -> bool {
                matches!(self, Self::Closed { .. })
            }

            /// Whether the call failed because the shared queue is corrupted.
            pub fn is_corrupted(&self) -> bool {
                matches!(self, Self::Corrupted { .. })
            }

            /// Whether the call failed because the other side of the shared queue is gone.
            pub fn is_disconnected(&self) -> bool {
                matches!(self, Self::Disconnected { .. })
            }
        }

        impl<$($T)?> core::fmt::Display for $Type {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.pad(match self {
                    $( Self::$Own { .. } => $own_text, )?
                    Self::Closed { .. } => $closed_text,
                    Self::Corrupted { .. } => $crate::error::CORRUPTED,
                    Self::Disconnected { .. } => $crate::error::DISCONNECTED,
                    Self::ForkedCopy { .. } => $crate::error::FORKED_COPY,
                    Self::TooManyParticipants { .. } => $crate::error::TOO_MANY_PARTICIPANTS,
                })
            }
        }

        impl<$($T)?> std::error::Error for $Type {}
    };

    (@value refused) => {
        /// The error of a call the ring refused, holding its value. The answer of a full or
        /// empty ring, the common one, is built directly (no call through a table).
        #[inline]
        pub(crate) fn refused((value, refusal): (T, $crate::error::Refusal)) -> Self {
            match refusal {
                $crate::error::Refusal::FullOrEmpty => Self::waiting(value),
                refusal => $crate::error::refused_as(refusal, Self::GIVEN_UP)(value),
            }
        }
    };
    (@value gave_up) => {
        /// The error of a blocking call that gave up, holding its value.
        pub(crate) fn gave_up((value, gave_up): (T, $crate::error::GaveUp)) -> Self {
            match gave_up {
                $crate::error::GaveUp::TimedOut => Self::waiting(value),
                $crate::error::GaveUp::Refused(refusal) => {
                    $crate::error::refused_as(refusal, Self::GIVEN_UP)(value)
                }
            }
        }
    };
    (@unit refused) => {
        /// The error of a call the ring refused.
        pub(crate) fn refused(refusal: $crate::error::Refusal) -> Self {
            match refusal {
                $crate::error::Refusal::FullOrEmpty => Self::WAITING,
                refusal => $crate::error::refused_as(refusal, Self::GIVEN_UP),
            }
        }
    };
    (@unit gave_up) => {
        /// The error of a blocking call that gave up.
        pub(crate) fn gave_up(gave_up: $crate::error::GaveUp) -> Self {
            match gave_up {
                $crate::error::GaveUp::TimedOut => Self::WAITING,
                $crate::error::GaveUp::Refused(refusal) => {
                    $crate::error::refused_as(refusal, Self::GIVEN_UP)
                }
            }
        }
    };
    (@unit batch_answer) => {
        /// The answer of a non-blocking batch: how many values moved (0 when the ring was
        /// full or empty), or why none ever will.
        pub(crate) fn batch_answer(
            result: Result<usize, $crate::error::Refusal>,
        ) -> Result<usize, Self> {
            match result {
                Ok(count) => Ok(count),
                Err($crate::error::Refusal::FullOrEmpty) => Ok(0),
                Err(refusal) => Err($crate::error::refused_as(refusal, Self::GIVEN_UP)),
            }
        }
    };
}

pub(crate) use {disconnected_doc, first_of, one_type_for_every_placement, queue_error};

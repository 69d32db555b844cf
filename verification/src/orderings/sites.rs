//! The ordering sites of a source file and their weakenings: every `Ordering::Acquire`,
//! `Release`, `AcqRel` or `SeqCst` written in the file's non-test code, what kind of atomic
//! operation it orders, and the edit that makes it one step weaker.
//!
//! One step: an `Acquire`, `Release` or `AcqRel` becomes `Relaxed`, and a `SeqCst` the
//! strongest ordering below it that the operation accepts (`Acquire` for a load, `Release`
//! for a store, `AcqRel` for a read-modify-write or a fence). A fence has no `Relaxed` form
//! (it panics): an `Acquire`, `Release` or `AcqRel` fence weakened is a fence removed.

use serde::{Deserialize, Serialize};

/// The orderings one step can weaken, as written after `Ordering::`.
const STRONG: [&str; 4] = ["Acquire", "Release", "AcqRel", "SeqCst"];

/// The words a survivor's `// ORDERING:` comment carries when it says why the ordering is
/// deliberately stronger than any model can show (found case-insensitively).
pub(crate) const BEYOND_THE_MODELS: &str = "beyond the models";

/// What an ordering orders, as the call it is an argument of says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Operation {
    /// A load, or the failure ordering of a compare-and-swap (a load too).
    Load,
    Store,
    /// A swap, a `fetch_*`, or the success ordering of a compare-and-swap.
    ReadModifyWrite,
    /// `fence` or `compiler_fence`.
    Fence,
}

/// One ordering written in a source file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Site {
    /// Its 1-based line.
    pub(crate) line: usize,
    /// The call it orders (`load`, `compare_exchange`, `fence`...).
    pub(crate) call: String,
    pub(crate) operation: Operation,
    /// The ordering written (`Acquire`...).
    pub(crate) ordering: String,
    /// What one step weaker makes of it: an ordering's name, or `no fence`.
    pub(crate) weakened: String,
    /// The comment that gives the ordering's reason (the comment lines just above the
    /// statement), as one line.
    pub(crate) reason: String,
    /// The byte range of the file to replace, and its replacement.
    #[serde(skip)]
    pub(crate) edit: (std::ops::Range<usize>, String),
}

impl Site {
    /// The file's text with this one ordering weakened.
    pub(crate) fn weaken(&self, text: &str) -> String {
        let (range, replacement) = &self.edit;
        format!(
            "{}{replacement}{}",
            &text[..range.start],
            &text[range.end..]
        )
    }

    /// Whether its comment says it is deliberately stronger than the models can show.
    pub(crate) fn explained(&self) -> bool {
        self.reason.to_lowercase().contains(BEYOND_THE_MODELS)
    }
}

/// Every ordering site of `text`, a Rust source file, outside its test modules; `Err` names a
/// site whose call could not be told (the file then needs a look: every site must be
/// weakened, or the sweep would pass over it in silence).
pub(crate) fn find(text: &str) -> Result<Vec<Site>, String> {
    let code = code_only(text);
    let tests = test_modules(&code);
    let mut sites = Vec::new();
    for ordering in STRONG {
        let token = format!("Ordering::{ordering}");
        let mut from = 0;
        while let Some(offset) = code[from..].find(&token) {
            let start = from + offset;
            let end = start + token.len();
            from = end;
            let word_ends = !code[end..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
            if !word_ends || tests.iter().any(|range| range.contains(&start)) {
                continue;
            }
            let line = text[..start].matches('\n').count() + 1;
            let (call, operation, call_range) = enclosing_call(&code, start).ok_or_else(|| {
                format!("line {line}: `{token}` in no atomic call this tool knows")
            })?;
            let (weakened, edit) = match (operation, ordering) {
                (Operation::Fence, "SeqCst") => ("AcqRel", (start..end, "Ordering::AcqRel".into())),
                (Operation::Fence, _) => ("no fence", (call_range, "()".into())),
                (Operation::Load, "SeqCst") => {
                    ("Acquire", (start..end, "Ordering::Acquire".into()))
                }
                (Operation::Store, "SeqCst") => {
                    ("Release", (start..end, "Ordering::Release".into()))
                }
                (Operation::ReadModifyWrite, "SeqCst") => {
                    ("AcqRel", (start..end, "Ordering::AcqRel".into()))
                }
                _ => ("Relaxed", (start..end, "Ordering::Relaxed".into())),
            };
            sites.push(Site {
                line,
                call,
                operation,
                ordering: ordering.to_owned(),
                weakened: weakened.to_owned(),
                reason: reason_above(text, line),
                edit,
            });
        }
    }
    sites.sort_by_key(|site| site.edit.0.start);
    Ok(sites)
}

/// `text` with every comment and the inside of every string literal blanked (same length,
/// newlines kept), so that a search for code finds only code.
fn code_only(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, range: std::ops::Range<usize>| {
        for byte in &mut out[range] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    };
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                blank(&mut out, i..end);
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |n| i + 2 + n + 2);
                blank(&mut out, i..end);
                i = end;
            }
            b'"' => {
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                blank(&mut out, i + 1..j.min(bytes.len()));
                i = j + 1;
            }
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => {
                // A one-character literal such as '(' must not count as a parenthesis.
                blank(&mut out, i + 1..i + 2);
                i += 3;
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

/// The byte ranges of the modules compiled only for tests (`#[cfg(test)]` or a `cfg` with
/// `test` in it, before `mod NAME {`), in code already stripped of comments.
fn test_modules(code: &str) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut from = 0;
    while let Some(offset) = code[from..].find("#[cfg(") {
        let start = from + offset;
        from = start + 1;
        let Some(close) = code[start..].find(']').map(|n| start + n) else {
            break;
        };
        let condition = &code[start..close];
        let is_test = condition
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|word| word == "test");
        let rest = code[close + 1..].trim_start();
        if !(is_test && rest.starts_with("mod ")) {
            continue;
        }
        let open = close + 1 + (code[close + 1..].len() - rest.len());
        let Some(brace) = code[open..].find(['{', ';']).map(|n| open + n) else {
            break;
        };
        if code.as_bytes()[brace] == b';' {
            continue;
        }
        let end = matching(code, brace, b'{', b'}').unwrap_or(code.len());
        ranges.push(start..end);
    }
    ranges
}

/// The index just past the bracket that closes the one opened at `open`.
fn matching(code: &str, open: usize, opening: u8, closing: u8) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &byte) in code.as_bytes().iter().enumerate().skip(open) {
        if byte == opening {
            depth += 1;
        } else if byte == closing {
            depth -= 1;
            if depth == 0 {
                return Some(i + 1);
            }
        }
    }
    None
}

/// The atomic call whose argument the ordering at `at` is (looking through calls that only
/// pass it on, such as a mutant's switch): its name, what it orders, and its byte range.
fn enclosing_call(code: &str, at: usize) -> Option<(String, Operation, std::ops::Range<usize>)> {
    let bytes = code.as_bytes();
    let mut position = at;
    loop {
        // Back to the parenthesis that opens the call, counting the arguments before ours.
        let mut depth = 0usize;
        let mut argument = 0;
        let mut open = None;
        for i in (0..position).rev() {
            match bytes[i] {
                b')' | b']' | b'}' => depth += 1,
                b'(' | b'[' | b'{' if depth > 0 => depth -= 1,
                b'(' => {
                    open = Some(i);
                    break;
                }
                b'[' | b'{' => return None,
                b',' if depth == 0 => argument += 1,
                _ => {}
            }
        }
        let open = open?;
        let name_end = code[..open].trim_end().len();
        let name_start = code[..name_end]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |n| n + 1);
        let name = &code[name_start..name_end];
        let operation = match (name, argument) {
            ("load", _) => Some(Operation::Load),
            ("store", _) => Some(Operation::Store),
            ("compare_exchange" | "compare_exchange_weak", 2) => Some(Operation::ReadModifyWrite),
            ("compare_exchange" | "compare_exchange_weak", 3) => Some(Operation::Load),
            ("fetch_update", 0) => Some(Operation::ReadModifyWrite),
            ("fetch_update", 1) => Some(Operation::Load),
            ("fence" | "compiler_fence", _) => Some(Operation::Fence),
            (name, _) if name == "swap" || name.starts_with("fetch_") => {
                Some(Operation::ReadModifyWrite)
            }
            _ => None,
        };
        match operation {
            Some(operation) => {
                let end = matching(code, open, b'(', b')')?;
                return Some((name.to_owned(), operation, name_start..end));
            }
            // A call that passes the ordering on (`publish_ordering(...)`): look outside it.
            None if !name.is_empty() => position = name_start,
            None => return None,
        }
    }
}

/// The comment lines just above the statement of 1-based `line` (going up through at most a
/// few lines of the statement itself), joined into one line.
fn reason_above(text: &str, line: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut index = line - 1;
    for _ in 0..8 {
        let mut comment = Vec::new();
        let mut above = index;
        while above > 0 && lines[above - 1].trim_start().starts_with("//") {
            above -= 1;
            comment.push(lines[above].trim_start().trim_start_matches('/').trim());
        }
        if !comment.is_empty() {
            comment.reverse();
            return comment.join(" ");
        }
        // A comment at the end of the line itself.
        if let Some((_, tail)) = lines[index].split_once("// ") {
            return tail.trim().to_owned();
        }
        // Above a statement that ended: the comment of a run of orderings one under the
        // other (two loads it gives one reason for) is above the first of them.
        let above = lines
            .get(index.wrapping_sub(1))
            .map_or("", |line| line.trim_end());
        if index == 0 || (above.ends_with([';', '{', '}']) && !above.contains("Ordering::")) {
            break;
        }
        index -= 1;
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"
fn push(&self) {
    // ORDERING: Acquire pairs with the pop's Release.
    let stamp = slot.stamp.load(Ordering::Acquire);
    match self.tail.compare_exchange(
        from,
        end,
        // ORDERING: Release on success; Acquire on failure.
        Ordering::Release,
        Ordering::Acquire,
    ) {}
    stamp.store(position + 1, mutant::publish_ordering(Ordering::Release));
    // ORDERING: SeqCst. Beyond the models: loom runs SeqCst as AcqRel.
    self.count.fetch_or(1, Ordering::SeqCst);
    fence(Ordering::SeqCst);
    fence(Ordering::Acquire);
    let text = "Ordering::Acquire in a string";
    let flag = word.load(Ordering::SeqCst); // ORDERING: a total order with the fence.
}

#[cfg(all(test, loom))]
mod tests {
    fn model() { x.load(Ordering::Acquire); }
}
"#;

    #[test]
    fn every_ordering_outside_tests_comments_and_strings_is_a_site() {
        let sites = find(SOURCE).unwrap();
        let summary: Vec<(usize, &str, Operation, &str, &str)> = sites
            .iter()
            .map(|s| {
                (
                    s.line,
                    s.call.as_str(),
                    s.operation,
                    s.ordering.as_str(),
                    s.weakened.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (4, "load", Operation::Load, "Acquire", "Relaxed"),
                (
                    9,
                    "compare_exchange",
                    Operation::ReadModifyWrite,
                    "Release",
                    "Relaxed"
                ),
                (
                    10,
                    "compare_exchange",
                    Operation::Load,
                    "Acquire",
                    "Relaxed"
                ),
                (12, "store", Operation::Store, "Release", "Relaxed"),
                (
                    14,
                    "fetch_or",
                    Operation::ReadModifyWrite,
                    "SeqCst",
                    "AcqRel"
                ),
                (15, "fence", Operation::Fence, "SeqCst", "AcqRel"),
                (16, "fence", Operation::Fence, "Acquire", "no fence"),
                (18, "load", Operation::Load, "SeqCst", "Acquire"),
            ]
        );
    }

    #[test]
    fn a_weakening_edits_only_its_own_site() {
        let sites = find(SOURCE).unwrap();
        let weakened = sites[1].weaken(SOURCE);
        assert!(weakened.contains("        Ordering::Relaxed,\n        Ordering::Acquire,"));
        assert_eq!(
            weakened.matches("Ordering::Acquire").count(),
            SOURCE.matches("Ordering::Acquire").count()
        );
        let no_fence = sites[6].weaken(SOURCE);
        assert!(no_fence.contains("\n    ();\n") && !no_fence.contains("fence(Ordering::Acquire)"));
        let load = sites[7].weaken(SOURCE);
        assert!(load.contains("word.load(Ordering::Acquire); // ORDERING"));
    }

    #[test]
    fn each_site_carries_the_comment_that_gives_its_reason() {
        let sites = find(SOURCE).unwrap();
        assert_eq!(
            sites[0].reason,
            "ORDERING: Acquire pairs with the pop's Release."
        );
        assert_eq!(
            sites[2].reason,
            "ORDERING: Release on success; Acquire on failure."
        );
        assert!(sites[4].explained() && !sites[0].explained());
        assert_eq!(sites[7].reason, "ORDERING: a total order with the fence.");
        assert_eq!(
            sites[5].reason, sites[4].reason,
            "the comment of the line above's ordering"
        );
        assert_eq!(
            find("fn f() {\n    a();\n    x.load(Ordering::Acquire);\n}").unwrap()[0].reason,
            ""
        );
    }

    #[test]
    fn an_ordering_in_an_unknown_call_is_an_error_not_a_silent_skip() {
        let error = find("fn f() { helper(Ordering::Acquire); }").unwrap_err();
        assert!(error.contains("line 1"), "{error}");
    }
}

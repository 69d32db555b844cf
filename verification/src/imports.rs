//! Imports run one way: no module of either core names, through any chain of `use`s and
//! paths, a module that names it back. Checked by a test over the sources, so a change that
//! closes a circle fails `cargo test`.
//!
//! A module is a file (`lib.rs` is the crate; a folder's `mod.rs` and a file of its name are
//! one module). It depends on every module a `crate::` or `super::` path in its code leads to,
//! a re-export followed to the module that defines the name. Comments and `#[cfg(test)]` code
//! are left out: a test may look anywhere.

#![cfg(test)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

type Module = Vec<String>;

/// Every module of the crate whose sources are in `src`, with its code (comments and tests
/// left out).
fn modules(src: &Path, dir: &Path, found: &mut BTreeMap<Module, String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            modules(src, &path, found);
            continue;
        }
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let relative = path.strip_prefix(src).unwrap().with_extension("");
        let mut module: Module = relative
            .components()
            .map(|part| part.as_os_str().to_string_lossy().into_owned())
            .collect();
        if module
            .last()
            .is_some_and(|last| last == "mod" || last == "lib")
        {
            module.pop();
        }
        found.insert(module, code_of(&fs::read_to_string(&path).unwrap()));
    }
}

/// `text` without its comments and its `#[cfg(test)]` part (which comes last in a file).
fn code_of(text: &str) -> String {
    let end = ["#[cfg(test)]", "#[cfg(all(test"]
        .iter()
        .filter_map(|marker| text.find(marker))
        .min()
        .unwrap_or(text.len());
    text[..end]
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .map(|line| line.split(" // ").next().unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifiers of a path's segments: `a::b::C` is `[a, b, C]`.
fn segments(path: &str) -> Vec<String> {
    path.split("::")
        .map(|segment| {
            segment
                .trim()
                .split(" as ")
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .filter(|segment| !segment.is_empty())
        .collect()
}

/// The paths a `use` tree names: `a::{b::C, D}` is `a::b::C` and `a::D`.
fn use_paths(tree: &str) -> Vec<String> {
    let tree: String = tree.split_whitespace().collect();
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let prefix = &tree[..open];
    let close = tree
        .rfind('}')
        .filter(|&close| close > open)
        .unwrap_or(tree.len());
    let inner = &tree[open + 1..close];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (at, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|item| !item.is_empty() && *item != "self")
        .flat_map(|item| use_paths(&format!("{prefix}{item}")))
        .collect()
}

/// `path`, which starts with `crate`, `super` or `self`, from the root, as `module` sees it.
fn absolute(module: &Module, path: &[String]) -> Option<Module> {
    let (first, rest) = path.split_first()?;
    let mut base = match first.as_str() {
        "crate" => Vec::new(),
        "super" => module[..module.len().checked_sub(1)?].to_vec(),
        "self" => module.clone(),
        _ => return None,
    };
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The `use` trees of `code` with their visibility: `(public, tree)`. A `use` item starts a
/// line (after its visibility) and ends at the next `;`.
fn uses(code: &str) -> Vec<(bool, String)> {
    let mut found = Vec::new();
    let mut lines = code.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_start();
        let (public, rest) = match line.split_once("use ") {
            Some((visibility, rest))
                if visibility.is_empty()
                    || visibility == "pub "
                    || visibility.starts_with("pub(") && visibility.ends_with(") ") =>
            {
                (!visibility.is_empty(), rest)
            }
            _ => continue,
        };
        let mut tree = rest.to_owned();
        while !tree.contains(';') {
            let Some(more) = lines.next() else { break };
            tree.push_str(more);
        }
        found.push((
            public,
            tree.split(';').next().unwrap_or_default().to_owned(),
        ));
    }
    found
}

/// The module `path` leads to: its longest prefix that is a module, past the re-exports.
fn resolve(
    path: &Module,
    modules: &BTreeMap<Module, String>,
    reexports: &BTreeMap<(Module, String), Module>,
    hops: usize,
) -> Option<Module> {
    let known = (0..=path.len())
        .rev()
        .find(|&k| modules.contains_key(&path[..k]))?;
    let module = path[..known].to_vec();
    let target = path
        .get(known)
        .filter(|_| hops < 8)
        .and_then(|name| reexports.get(&(module.clone(), name.clone())));
    match target {
        Some(target) => {
            let mut followed = target.clone();
            followed.extend(path[known + 1..].iter().cloned());
            resolve(&followed, modules, reexports, hops + 1)
        }
        None => Some(module),
    }
}

/// Each module's dependencies within its crate.
fn dependencies(src: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut modules = BTreeMap::new();
    self::modules(src, src, &mut modules);
    let mut reexports = BTreeMap::new();
    for (module, code) in &modules {
        for (public, tree) in uses(code) {
            for path in use_paths(&tree).iter().map(|path| segments(path)) {
                let Some(name) = path.last().filter(|_| public) else {
                    continue;
                };
                let target = absolute(module, &path).unwrap_or_else(|| {
                    // A path from this module: `pub use child::Name`.
                    let mut target = module.clone();
                    target.extend(path.iter().cloned());
                    target
                });
                reexports.insert(
                    (module.clone(), name.clone()),
                    target[..target.len() - 1].to_vec(),
                );
            }
        }
    }
    let mut edges = BTreeMap::new();
    for (module, code) in &modules {
        let mut paths: Vec<Module> = uses(code)
            .into_iter()
            .flat_map(|(_, tree)| use_paths(&tree))
            .filter_map(|path| absolute(module, &segments(&path)))
            .collect();
        for anchor in ["crate::", "super::"] {
            for (at, _) in code.match_indices(anchor) {
                let tail: String = code[at..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                paths.extend(absolute(module, &segments(&tail)));
            }
        }
        let targets: BTreeSet<Module> = paths
            .iter()
            .filter_map(|path| resolve(path, &modules, &reexports, 0))
            .filter(|target| target != module)
            .collect();
        edges.insert(module.clone(), targets);
    }
    edges
}

/// A circle of modules, if the graph has one.
fn circle(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    fn visit(
        at: &Module,
        edges: &BTreeMap<Module, BTreeSet<Module>>,
        path: &mut Vec<Module>,
        done: &mut BTreeSet<Module>,
    ) -> Option<Vec<Module>> {
        if let Some(start) = path.iter().position(|module| module == at) {
            return Some(path[start..].to_vec());
        }
        if !done.insert(at.clone()) {
            return None;
        }
        path.push(at.clone());
        for next in edges.get(at).into_iter().flatten() {
            if let Some(found) = visit(next, edges, path, done) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|module| visit(module, edges, &mut Vec::new(), &mut done))
}

fn shown(circle: &[Module]) -> String {
    let names: Vec<String> = circle
        .iter()
        .map(|module| format!("crate::{}", module.join("::")))
        .collect();
    names.join(" -> ")
}

#[test]
fn neither_core_nor_the_pool_has_an_import_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    for core in ["queue-core", "spawn-core", "process-pool"] {
        let edges = dependencies(&root.join(core).join("src"));
        assert!(edges.len() > 10, "{core}: the walk found its modules");
        if let Some(circle) = circle(&edges) {
            panic!("{core} imports in a circle: {}", shown(&circle));
        }
    }
}

#[test]
fn a_circle_through_a_reexport_is_found() {
    let dir = std::env::temp_dir().join(format!("imports-{}", std::process::id()));
    fs::create_dir_all(dir.join("a")).unwrap();
    fs::write(dir.join("lib.rs"), "mod a;\nmod b;\n").unwrap();
    fs::write(
        dir.join("a/mod.rs"),
        "mod inner;\npub(crate) use inner::Thing;\n",
    )
    .unwrap();
    fs::write(
        dir.join("a/inner.rs"),
        "use crate::b::Other;\npub(crate) struct Thing;\n",
    )
    .unwrap();
    fs::write(
        dir.join("b.rs"),
        "// use crate::nothing;\nuse crate::a::Thing;\npub(crate) struct Other;\n",
    )
    .unwrap();
    let edges = dependencies(&dir);
    let found = circle(&edges).map(|circle| shown(&circle));
    assert_eq!(found.as_deref(), Some("crate::a::inner -> crate::b"));
    fs::write(dir.join("b.rs"), "pub(crate) struct Other;\n").unwrap();
    assert_eq!(circle(&dependencies(&dir)), None, "one way only");
    fs::remove_dir_all(&dir).unwrap();
}

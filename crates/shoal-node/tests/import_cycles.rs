//! No import cycle in shoal-node spans more than two files.
//!
//! Every `.rs` file under `src/` is a node; an edge `a -> b` means a file uses an item that `b`
//! defines (through `use crate::`, `super::` or `self::` paths, or such a path written inline),
//! with re-exports (`pub use` and `pub(crate) use`) followed to the file that defines the
//! item. Items under `#[cfg(test)]` do not count. A cycle of two files (a facade and one of
//! its components, a trait and the context its methods take) is allowed; a longer one fails
//! with the files on it, so the layering in docs/architecture.md stays true.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use syn::visit_mut::VisitMut;
use syn::{Item, UseTree};

/// A module path (`["actor", "cell"]`; empty for the crate root).
type ModPath = Vec<String>;

#[derive(Default)]
struct Crate {
    /// Every file, by module path.
    files: BTreeMap<ModPath, syn::File>,
    /// `(module, name) -> path` of what `module` re-exports as `name`; `None` for an item of
    /// another crate.
    exports: HashMap<(ModPath, String), Option<ModPath>>,
}

#[test]
fn no_import_cycle_spans_more_than_two_files() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut krate = Crate::default();
    load(&src, &src, &mut krate);
    assert!(
        krate.files.len() > 40,
        "found only {} files under {}",
        krate.files.len(),
        src.display()
    );
    let graph = krate.graph();
    let longest = longest_cycle(&graph);
    let names: Vec<String> = longest.iter().map(|m| display(m)).collect();
    assert!(
        longest.len() <= 2,
        "an import cycle of {} files: {}",
        longest.len(),
        names.join(" -> ")
    );
}

fn load(root: &Path, dir: &Path, krate: &mut Crate) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.is_dir() {
            load(root, &path, krate);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = path
            .strip_prefix(root)
            .unwrap_or_else(|e| panic!("{e}"))
            .with_extension("");
        let mut module: ModPath = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
        if module == ["lib"] {
            module.clear();
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        file.items.retain(|item| !is_test_only(item));
        krate.files.insert(module, file);
    }
}

fn is_test_only(item: &Item) -> bool {
    let attrs = match item {
        Item::Mod(m) => &m.attrs,
        Item::Fn(f) => &f.attrs,
        Item::Use(u) => &u.attrs,
        Item::Impl(i) => &i.attrs,
        _ => return false,
    };
    attrs
        .iter()
        .any(|a| a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test"))
}

impl Crate {
    fn graph(&mut self) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
        let mut uses: Vec<(ModPath, ModPath)> = Vec::new();
        let modules: Vec<ModPath> = self.files.keys().cloned().collect();
        for module in &modules {
            let file = self.files.get_mut(module).unwrap_or_else(|| unreachable!());
            let mut paths = Paths::default();
            paths.visit_file_mut(file);
            let use_paths: Vec<(bool, Vec<String>)> = file
                .items
                .iter()
                .filter_map(|item| match item {
                    Item::Use(u) => Some(u),
                    _ => None,
                })
                .flat_map(|u| {
                    let public = !matches!(u.vis, syn::Visibility::Inherited);
                    expand(&u.tree, Vec::new()).into_iter().map(move |p| (public, p))
                })
                .collect();
            for (public, path) in use_paths {
                self.record(module, path, public, &mut uses);
            }
            for path in paths.0 {
                if let Some(full) = absolute(module, &path) {
                    uses.push((module.clone(), full));
                }
            }
        }
        let mut graph: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
        for (from, path) in uses {
            if let Some(to) = self.resolve(path).filter(|to| *to != from && !to.is_empty()) {
                graph.entry(from).or_default().insert(to);
            }
        }
        graph
    }

    /// Records one path of a `use` item of `module`, and the re-export if it is public.
    fn record(
        &mut self,
        module: &ModPath,
        path: Vec<String>,
        public: bool,
        uses: &mut Vec<(ModPath, ModPath)>,
    ) {
        let name = path.last().cloned().unwrap_or_default();
        let full = absolute(module, &path);
        if public && name != "*" {
            self.exports.insert((module.clone(), name), full.clone());
        }
        if let Some(full) = full {
            uses.push((module.clone(), full));
        }
    }

    /// The file that defines what `path` names, following re-exports; `None` for an item of
    /// another crate.
    fn resolve(&self, mut path: ModPath) -> Option<ModPath> {
        for _ in 0..8 {
            let file = self.file_of(&path);
            let Some(next) = path.get(file.len()) else {
                return Some(file);
            };
            match self.exports.get(&(file.clone(), next.clone())) {
                Some(None) => return None,
                Some(Some(target)) if *target != path => {
                    let rest = path[file.len() + 1..].to_vec();
                    path = target.iter().cloned().chain(rest).collect();
                }
                _ => return Some(file),
            }
        }
        Some(self.file_of(&path))
    }

    /// The longest prefix of `path` that is a file.
    fn file_of(&self, path: &[String]) -> ModPath {
        (0..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|m| self.files.contains_key(m))
            .unwrap_or_default()
    }
}

/// The paths a `use` tree names, each from its first segment.
fn expand(tree: &UseTree, prefix: Vec<String>) -> Vec<Vec<String>> {
    let with = |s: String| prefix.iter().cloned().chain([s]).collect::<Vec<_>>();
    match tree {
        UseTree::Path(p) => expand(&p.tree, with(p.ident.to_string())),
        UseTree::Name(n) => vec![with(n.ident.to_string())],
        UseTree::Rename(r) => vec![with(r.ident.to_string())],
        UseTree::Glob(_) => vec![with("*".into())],
        UseTree::Group(g) => g.items.iter().flat_map(|t| expand(t, prefix.clone())).collect(),
    }
}

/// `path` as written in `module`, from the crate root; `None` unless it starts with `crate`,
/// `super` or `self`.
fn absolute(module: &ModPath, path: &[String]) -> Option<ModPath> {
    let (first, rest) = path.split_first()?;
    let base: &[String] = match first.as_str() {
        "crate" => &[],
        "self" => module,
        "super" => &module[..module.len().checked_sub(1)?],
        _ => return None,
    };
    Some(base.iter().cloned().chain(rest.iter().cloned()).collect())
}

/// Every path written outside `use` items.
#[derive(Default)]
struct Paths(Vec<Vec<String>>);

impl VisitMut for Paths {
    fn visit_item_use_mut(&mut self, _: &mut syn::ItemUse) {}

    fn visit_path_mut(&mut self, path: &mut syn::Path) {
        self.0
            .push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit_mut::visit_path_mut(self, path);
    }
}

/// The longest simple cycle of `graph` (empty if there is none).
fn longest_cycle(graph: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<ModPath> {
    let mut best: Vec<ModPath> = Vec::new();
    for start in graph.keys() {
        // Cycles whose smallest file is `start`, so each is walked once.
        let mut stack = vec![vec![start.clone()]];
        while let Some(path) = stack.pop() {
            let last = path.last().unwrap_or_else(|| unreachable!());
            for next in graph.get(last).into_iter().flatten().filter(|n| *n >= start) {
                if next == start {
                    if path.len() > best.len() {
                        best = path.clone();
                    }
                } else if !path.contains(next) {
                    stack.push(path.iter().cloned().chain([next.clone()]).collect());
                }
            }
        }
    }
    best
}

fn display(module: &[String]) -> String {
    if module.is_empty() {
        "lib.rs".into()
    } else {
        format!("{}.rs", module.join("/"))
    }
}

//! A crate's modules and which uses which, read from its sources with
//! `syn`, to find import circles: `a` uses `b` (a `use`, a path in code or
//! in a macro, a re-export) and `b`, through others, uses `a`. A parent
//! that re-exports its child while the child uses the parent's items is
//! such a circle. Inline modules count as part of their file; `#[cfg(test)]`
//! items are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

use crate::error::KitError;

/// A module's path in its crate: empty for the crate root.
type ModulePath = Vec<String>;

/// The modules of a crate and the edges between their files.
#[derive(Debug, Default)]
pub struct ModuleGraph {
    /// Every module, inline ones too, with the file module it belongs to.
    modules: BTreeMap<ModulePath, ModulePath>,
    /// File module → file modules it uses.
    edges: BTreeMap<ModulePath, BTreeSet<ModulePath>>,
}

impl ModuleGraph {
    /// Reads the crate whose root file is `root` (`src/lib.rs` or `src/main.rs`).
    pub fn of_crate(root: &Path) -> Result<Self, KitError> {
        let mut files = Vec::new();
        let mut graph = Self::default();
        graph.load(root, Vec::new(), &mut files)?;
        for (module, file) in &files {
            let mut visitor = Uses {
                graph: &graph,
                file: module,
                current: module.clone(),
                found: BTreeSet::new(),
            };
            visitor.visit_file(file);
            let found = visitor.found;
            graph.edges.entry(module.clone()).or_default().extend(found);
        }
        Ok(graph)
    }

    /// Parses the file of `module` and, recursively, the files it declares.
    fn load(
        &mut self,
        path: &Path,
        module: ModulePath,
        files: &mut Vec<(ModulePath, syn::File)>,
    ) -> Result<(), KitError> {
        let source = std::fs::read_to_string(path).map_err(|e| KitError::Source {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        let file = syn::parse_file(&source).map_err(|e| KitError::Source {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        self.modules.insert(module.clone(), module.clone());
        let children = children_dir(path);
        let mut declared = Vec::new();
        collect_modules(
            &file.items,
            &module,
            &module,
            &mut self.modules,
            &mut declared,
        );
        files.push((module, file));
        for child in declared {
            let name = child.last().cloned().unwrap_or_default();
            let flat = children.join(format!("{name}.rs"));
            let nested = children.join(&name).join("mod.rs");
            let file = if flat.is_file() { flat } else { nested };
            self.load(&file, child, files)?;
        }
        Ok(())
    }

    /// How many modules (files and inline ones) were found.
    pub fn module_count(&self) -> usize {
        self.modules.len()
    }

    /// The file modules `module` uses (`"session::run"`; `"crate"` for the root).
    pub fn uses(&self, module: &str) -> Vec<String> {
        self.edges
            .get(&parse_name(module))
            .map(|targets| targets.iter().map(|t| name(t)).collect())
            .unwrap_or_default()
    }

    /// Every import circle: groups of file modules that use each other.
    pub fn cycles(&self) -> Vec<Vec<String>> {
        strongly_connected(&self.edges)
            .into_iter()
            .filter(|group| group.len() > 1)
            .map(|group| group.iter().map(|m| name(m)).collect())
            .collect()
    }
}

/// Every edge, one per line: `a -> b`.
impl fmt::Display for ModuleGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (from, targets) in &self.edges {
            for to in targets {
                writeln!(f, "{} -> {}", name(from), name(to))?;
            }
        }
        Ok(())
    }
}

/// Source files under `dir` longer than `max_lines`, with their lengths.
pub fn files_over(dir: &Path, max_lines: usize) -> Result<Vec<(PathBuf, usize)>, KitError> {
    let mut over = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| KitError::Source {
        path: dir.display().to_string(),
        why: e.to_string(),
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            over.extend(files_over(&path, max_lines)?);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).map_err(|e| KitError::Source {
                path: path.display().to_string(),
                why: e.to_string(),
            })?;
            let lines = text.lines().count();
            if lines > max_lines {
                over.push((path, lines));
            }
        }
    }
    over.sort();
    Ok(over)
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "crate".into()
    } else {
        module.join("::")
    }
}

fn parse_name(name: &str) -> ModulePath {
    if name == "crate" {
        Vec::new()
    } else {
        name.split("::").map(str::to_owned).collect()
    }
}

/// Where the files of a file's child modules are.
fn children_dir(path: &Path) -> PathBuf {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if matches!(stem, "lib" | "main" | "mod") {
        dir
    } else {
        dir.join(stem)
    }
}

fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<TokenStream>()
                .is_ok_and(|t| t.to_string().split_whitespace().any(|w| w == "test"))
    })
}

/// Records the modules declared in `items` (of logical module `at`, in the
/// file of `file`); file modules go to `declared` for loading.
fn collect_modules(
    items: &[syn::Item],
    at: &ModulePath,
    file: &ModulePath,
    modules: &mut BTreeMap<ModulePath, ModulePath>,
    declared: &mut Vec<ModulePath>,
) {
    for item in items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        if is_test(&module.attrs) {
            continue;
        }
        let mut path = at.clone();
        path.push(module.ident.to_string());
        match &module.content {
            Some((_, inner)) => {
                modules.insert(path.clone(), file.clone());
                collect_modules(inner, &path, file, modules, declared);
            }
            None => declared.push(path),
        }
    }
}

/// Collects the file modules one file uses.
struct Uses<'g> {
    graph: &'g ModuleGraph,
    /// The file's module.
    file: &'g ModulePath,
    /// The logical module being visited (inline modules included).
    current: ModulePath,
    found: BTreeSet<ModulePath>,
}

impl Uses<'_> {
    /// Records the module `segments` (a path written in `self.current`) names, if any.
    fn resolve(&mut self, segments: &[String]) {
        let Some((first, rest)) = segments.split_first() else {
            return;
        };
        let (mut base, mut rest) = match first.as_str() {
            "crate" => (Vec::new(), rest),
            "self" => (self.current.clone(), rest),
            "super" => {
                let mut base = self.current.clone();
                base.pop();
                let mut rest = rest;
                while let Some(("super", more)) =
                    rest.split_first().map(|(s, more)| (s.as_str(), more))
                {
                    base.pop();
                    rest = more;
                }
                (base, rest)
            }
            _ => {
                let mut child = self.current.clone();
                child.push(first.clone());
                if !self.graph.modules.contains_key(&child) {
                    return;
                }
                (self.current.clone(), segments)
            }
        };
        while let Some((next, more)) = rest.split_first() {
            let mut child = base.clone();
            child.push(next.clone());
            if !self.graph.modules.contains_key(&child) {
                break;
            }
            base = child;
            rest = more;
        }
        if let Some(file) = self.graph.modules.get(&base)
            && file != self.file
        {
            self.found.insert(file.clone());
        }
    }

    /// Every path of a `use` tree, with its prefix.
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut path = prefix.clone();
                if n.ident != "self" {
                    path.push(n.ident.to_string());
                }
                self.resolve(&path);
            }
            syn::UseTree::Rename(r) => {
                let mut path = prefix.clone();
                path.push(r.ident.to_string());
                self.resolve(&path);
            }
            syn::UseTree::Glob(_) => {
                let path = prefix.clone();
                self.resolve(&path);
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }

    /// Records a path found in a macro's tokens, if it has two segments or more.
    fn token_path(&mut self, path: Vec<String>) {
        if path.len() > 1 {
            self.resolve(&path);
        }
    }

    /// Paths written inside a macro's tokens: `a::b::c` sequences.
    fn tokens(&mut self, tokens: TokenStream) {
        let mut path: Vec<String> = Vec::new();
        let mut colons = 0;
        for token in tokens {
            match token {
                TokenTree::Ident(ident) => {
                    if colons != 2 && !path.is_empty() {
                        let done = std::mem::take(&mut path);
                        self.token_path(done);
                    }
                    path.push(ident.to_string());
                    colons = 0;
                }
                TokenTree::Punct(p) if p.as_char() == ':' && !path.is_empty() => colons += 1,
                TokenTree::Group(group) => {
                    let done = std::mem::take(&mut path);
                    self.token_path(done);
                    colons = 0;
                    self.tokens(group.stream());
                }
                TokenTree::Punct(_) | TokenTree::Literal(_) => {
                    let done = std::mem::take(&mut path);
                    self.token_path(done);
                    colons = 0;
                }
            }
        }
        self.token_path(path);
    }
}

impl<'ast> Visit<'ast> for Uses<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs: &[syn::Attribute] = match item {
            syn::Item::Const(i) => &i.attrs,
            syn::Item::Enum(i) => &i.attrs,
            syn::Item::Fn(i) => &i.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Macro(i) => &i.attrs,
            syn::Item::Mod(i) => &i.attrs,
            syn::Item::Static(i) => &i.attrs,
            syn::Item::Struct(i) => &i.attrs,
            syn::Item::Trait(i) => &i.attrs,
            syn::Item::Type(i) => &i.attrs,
            syn::Item::Use(i) => &i.attrs,
            _ => &[],
        };
        if !is_test(attrs) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_item_mod(&mut self, module: &'ast syn::ItemMod) {
        if let Some((_, items)) = &module.content {
            self.current.push(module.ident.to_string());
            for item in items {
                self.visit_item(item);
            }
            self.current.pop();
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        // One segment is a local name or a visibility (`pub(crate)`), not a use.
        if path.segments.len() > 1 {
            let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
            self.resolve(&segments);
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.tokens(mac.tokens.clone());
        syn::visit::visit_macro(self, mac);
    }
}

/// Tarjan's strongly connected components of `edges`.
fn strongly_connected(edges: &BTreeMap<ModulePath, BTreeSet<ModulePath>>) -> Vec<Vec<ModulePath>> {
    struct State<'e> {
        edges: &'e BTreeMap<ModulePath, BTreeSet<ModulePath>>,
        index: BTreeMap<&'e ModulePath, usize>,
        low: BTreeMap<&'e ModulePath, usize>,
        stack: Vec<&'e ModulePath>,
        on_stack: BTreeSet<&'e ModulePath>,
        groups: Vec<Vec<ModulePath>>,
    }
    fn visit<'e>(state: &mut State<'e>, node: &'e ModulePath) {
        let n = state.index.len();
        state.index.insert(node, n);
        state.low.insert(node, n);
        state.stack.push(node);
        state.on_stack.insert(node);
        let edges = state.edges;
        for next in edges.get(node).into_iter().flatten() {
            if !state.index.contains_key(next) {
                visit(state, next);
                let low = state.low.get(next).copied().unwrap_or(n);
                if let Some(mine) = state.low.get_mut(node) {
                    *mine = (*mine).min(low);
                }
            } else if state.on_stack.contains(next) {
                let index = state.index.get(next).copied().unwrap_or(n);
                if let Some(mine) = state.low.get_mut(node) {
                    *mine = (*mine).min(index);
                }
            }
        }
        if state.low.get(node) == state.index.get(node) {
            let mut group = Vec::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(member);
                group.push(member.clone());
                if member == node {
                    break;
                }
            }
            group.sort();
            state.groups.push(group);
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for node in edges.keys() {
        if !state.index.contains_key(node) {
            visit(&mut state, node);
        }
    }
    state.groups
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    /// Writes `files` (relative path, text) under a new directory.
    fn crate_of(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn a_parent_and_a_child_using_each_other_are_a_circle() {
        let dir = crate_of(&[
            ("lib.rs", "mod store;\npub use store::Store;\n"),
            (
                "store/mod.rs",
                "mod sqlite;\npub use sqlite::Sqlite;\npub struct Error;\n",
            ),
            (
                "store/sqlite.rs",
                "use super::Error;\npub struct Sqlite(Error);\n",
            ),
        ]);
        let graph = ModuleGraph::of_crate(&dir.path().join("lib.rs")).unwrap();
        assert_eq!(graph.cycles(), vec![vec!["store", "store::sqlite"]]);
    }

    #[test]
    fn siblings_through_crate_paths_macros_and_code_are_edges() {
        let dir = crate_of(&[
            (
                "lib.rs",
                "mod a;\nmod b;\nmod c;\nmod d;\npub mod e { pub use super::d::X; }\n",
            ),
            ("a.rs", "use crate::{b::{self, B}, e};\n"),
            (
                "b.rs",
                "pub struct B;\nfn f() { tracing::info!(x = ?crate::c::C); }\n",
            ),
            (
                "c.rs",
                "pub struct C;\npub(crate) fn g() -> crate::d::X { let a = 1; f(a); crate::d::X }\n",
            ),
            (
                "d.rs",
                "pub struct X;\n#[cfg(test)]\nmod tests { use crate::a::*; }\n",
            ),
        ]);
        let graph = ModuleGraph::of_crate(&dir.path().join("lib.rs")).unwrap();
        assert_eq!(graph.uses("a"), ["crate", "b"]);
        assert_eq!(graph.uses("b"), ["c"]);
        assert_eq!(
            graph.uses("c"),
            ["d"],
            "a local named `a` and pub(crate) are not uses"
        );
        assert!(graph.uses("d").is_empty(), "test modules are left out");
        assert_eq!(graph.uses("crate"), ["d"]);
        assert!(graph.cycles().is_empty());
        assert_eq!(graph.module_count(), 6);
    }

    #[test]
    fn a_longer_circle_is_found_whole() {
        let dir = crate_of(&[
            ("lib.rs", "mod a;\nmod b;\nmod c;\nmod d;\n"),
            ("a.rs", "use crate::b::B;\npub struct A;\n"),
            ("b.rs", "pub struct B(crate::c::C);\n"),
            ("c.rs", "pub struct C(crate::a::A);\n"),
            ("d.rs", "use crate::a::A;\n"),
        ]);
        let graph = ModuleGraph::of_crate(&dir.path().join("lib.rs")).unwrap();
        assert_eq!(graph.cycles(), vec![vec!["a", "b", "c"]]);
    }

    #[test]
    fn long_files_are_listed() {
        let long = "// line\n".repeat(601);
        let dir = crate_of(&[("lib.rs", "mod a;\n"), ("a/b.rs", &long)]);
        let over = files_over(dir.path(), 600).unwrap();
        assert_eq!(over.len(), 1);
        assert_eq!(over[0].1, 601);
        assert!(files_over(dir.path(), 601).unwrap().is_empty());
    }
}

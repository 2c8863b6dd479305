//! Which files are indexed: a walk of the roots that honours .gitignore, .ignore, git's
//! global excludes and `.scryignore`, and skips binaries, huge files and secrets.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use ignore::WalkBuilder;
use ignore::overrides::OverrideBuilder;
use scry_paths::Roots;

use crate::EngineConfig;

/// Extensions that are never text; skipped without reading.
const BINARY_EXTENSIONS: &[&str] = &[
    "png",
    "jpg",
    "jpeg",
    "gif",
    "bmp",
    "ico",
    "webp",
    "tiff",
    "psd",
    "pdf",
    "zip",
    "gz",
    "tgz",
    "bz2",
    "xz",
    "zst",
    "7z",
    "rar",
    "jar",
    "war",
    "class",
    "so",
    "dylib",
    "dll",
    "exe",
    "o",
    "a",
    "lib",
    "obj",
    "pyc",
    "pyo",
    "wasm",
    "woff",
    "woff2",
    "ttf",
    "otf",
    "eot",
    "mp3",
    "mp4",
    "mov",
    "avi",
    "mkv",
    "wav",
    "flac",
    "ogg",
    "bin",
    "dat",
    "db",
    "sqlite",
    "gguf",
    "safetensors",
    "onnx",
    "pt",
    "npy",
    "npz",
    "parquet",
    "arrow",
    "usearch",
];

/// A file the walk admits.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub root: u32,
    pub rel: String,
    pub abs: PathBuf,
    pub size: u64,
    pub mtime_ns: i128,
}

/// Why a file was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    Secret,
    TooLarge,
    Binary,
    NotUtf8Name,
    /// A FIFO, socket or device: reading it could block forever.
    NotRegular,
    Unreadable,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Secret => "secret",
            SkipReason::TooLarge => "too-large",
            SkipReason::Binary => "binary",
            SkipReason::NotUtf8Name => "non-utf8-name",
            SkipReason::NotRegular => "not-a-regular-file",
            SkipReason::Unreadable => "unreadable",
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct Walked {
    pub files: Vec<Candidate>,
    pub skipped: Vec<(PathBuf, SkipReason)>,
}

pub(crate) struct Discovery {
    secrets: GlobSet,
    max_file_bytes: u64,
    include_hidden: bool,
    exclude: Vec<String>,
    index_dir: PathBuf,
}

pub(crate) fn mtime_ns(meta: &std::fs::Metadata) -> i128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128)
}

impl Discovery {
    pub fn new(config: &EngineConfig, index_dir: &Path) -> Discovery {
        let mut b = GlobSetBuilder::new();
        for p in &config.secret_patterns {
            match Glob::new(p) {
                Ok(g) => {
                    b.add(g);
                }
                Err(e) => tracing::warn!("ignoring bad secret pattern {p:?}: {e}"),
            }
        }
        Discovery {
            secrets: b.build().unwrap_or_else(|_| GlobSet::empty()),
            max_file_bytes: config.max_file_bytes,
            include_hidden: config.include_hidden,
            exclude: config.exclude.clone(),
            index_dir: index_dir.to_owned(),
        }
    }

    pub fn is_secret(&self, path: &Path) -> bool {
        path.file_name()
            .is_some_and(|n| self.secrets.is_match(Path::new(n)))
    }

    /// The walk of one root, with every ignore rule; `keep` prunes further.
    fn builder(
        &self,
        root: &Path,
        keep: impl Fn(&Path) -> bool + Send + Sync + 'static,
    ) -> WalkBuilder {
        let mut wb = WalkBuilder::new(root);
        wb.hidden(!self.include_hidden)
            .git_ignore(true)
            .git_global(true)
            .git_exclude(true)
            .ignore(true)
            .parents(true)
            .require_git(false)
            .follow_links(false)
            .add_custom_ignore_filename(".scryignore")
            .sort_by_file_name(|a, b| a.cmp(b));
        if !self.exclude.is_empty() {
            let mut ob = OverrideBuilder::new(root);
            for g in &self.exclude {
                let _ = ob.add(&format!("!{g}"));
            }
            if let Ok(o) = ob.build() {
                wb.overrides(o);
            }
        }
        let index_dir = self.index_dir.clone();
        wb.filter_entry(move |e| {
            !e.path().starts_with(&index_dir) && e.file_name() != ".git" && keep(e.path())
        });
        wb
    }

    /// Whether the walk of `root` reaches `abs` (a file inside it): not hidden, ignored,
    /// excluded or inside the index. Only the directories on the way are listed.
    pub fn walk_reaches(&self, root: &Path, abs: &Path) -> bool {
        let target = abs.to_owned();
        let on_the_way = move |p: &Path| target.starts_with(p);
        self.builder(root, on_the_way)
            .build()
            .filter_map(Result::ok)
            .any(|e| e.path() == abs)
    }

    /// Walks every root. Files are returned in a stable order.
    pub fn walk(&self, roots: &Roots) -> Walked {
        let mut out = Walked::default();
        for (i, root) in roots.roots().iter().enumerate() {
            let wb = self.builder(root, |_| true);
            for entry in wb.build() {
                let Ok(entry) = entry else { continue };
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    continue;
                }
                let path = entry.path();
                match self.admit(path) {
                    Err(reason) => out.skipped.push((path.to_owned(), reason)),
                    Ok(meta) => {
                        let Some(rel) = path.strip_prefix(root).ok().and_then(|r| r.to_str())
                        else {
                            out.skipped.push((path.to_owned(), SkipReason::NotUtf8Name));
                            continue;
                        };
                        out.files.push(Candidate {
                            root: i as u32,
                            rel: rel.replace('\\', "/"),
                            abs: path.to_owned(),
                            size: meta.len(),
                            mtime_ns: mtime_ns(&meta),
                        });
                    }
                }
            }
        }
        out
    }

    /// The checks that need no ignore files: secrets, size, binary extension.
    fn admit(&self, path: &Path) -> Result<std::fs::Metadata, SkipReason> {
        if self.is_secret(path) {
            return Err(SkipReason::Secret);
        }
        let meta = std::fs::metadata(path).map_err(|_| SkipReason::Unreadable)?;
        if !meta.is_file() {
            return Err(SkipReason::NotRegular);
        }
        if meta.len() > self.max_file_bytes {
            return Err(SkipReason::TooLarge);
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if ext.is_some_and(|e| BINARY_EXTENSIONS.contains(&e.as_str())) {
            return Err(SkipReason::Binary);
        }
        Ok(meta)
    }

    /// Reads a file that passed the walk: `Err` when it is binary, too large or unreadable.
    pub fn read(&self, path: &Path) -> Result<Vec<u8>, SkipReason> {
        let bytes = scry_paths::read_regular(path, self.max_file_bytes).map_err(|e| {
            if scry_paths::is_not_regular(&e) {
                SkipReason::NotRegular
            } else {
                SkipReason::Unreadable
            }
        })?;
        if bytes.len() as u64 > self.max_file_bytes {
            return Err(SkipReason::TooLarge);
        }
        if looks_binary(&bytes) {
            return Err(SkipReason::Binary);
        }
        Ok(bytes)
    }
}

/// A NUL byte in the first 8 KiB means binary, as git and ripgrep decide.
pub fn looks_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(8192)].contains(&0)
}

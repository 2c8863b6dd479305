//! Answers to repeated `search_code` and `get_context` calls, from memory.
//!
//! An entry is keyed by the index generation it was read from and the call's normalized
//! arguments, so a new generation misses by construction. Within one generation the disk
//! may still change before the watcher commits the change: an entry also remembers the
//! size and modification time of every file its answer names, and is served only while
//! they all still match, so a cached hit never claims a file is current when it is not.
//! Bounded by bytes, least recently used out first.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::Mutex;
use rmcp::model::CallToolResult;
use serde::Serialize;

/// A file an answer names, as it was on disk when the answer was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileStamp {
    pub path: PathBuf,
    /// `None`: the file was gone.
    pub stamp: Option<(u64, SystemTime)>,
}

impl FileStamp {
    pub(crate) fn now(path: PathBuf) -> FileStamp {
        let stamp = std::fs::metadata(&path)
            .ok()
            .and_then(|m| Some((m.len(), m.modified().ok()?)));
        FileStamp { path, stamp }
    }

    fn still_holds(&self) -> bool {
        FileStamp::now(self.path.clone()).stamp == self.stamp
    }
}

/// What is looked up: one tool's normalized arguments in one generation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    pub generation: u64,
    pub tool: &'static str,
    /// The arguments as canonical JSON (keys sorted), so spelling differences in key
    /// order or whitespace do not miss.
    pub args: String,
}

struct Entry<V> {
    value: Arc<V>,
    files: Vec<FileStamp>,
    bytes: usize,
    used: u64,
}

/// Hits and misses since the start.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CacheCounts {
    pub hits: u64,
    pub misses: u64,
    pub entries: usize,
    pub bytes: usize,
}

/// Answers of type `V`, kept as they were made: a hit is a clone, not a parse.
pub(crate) struct ResponseCache<V> {
    max_bytes: usize,
    inner: Mutex<Inner<V>>,
}

struct Inner<V> {
    entries: HashMap<CacheKey, Entry<V>>,
    bytes: usize,
    clock: u64,
    hits: u64,
    misses: u64,
}

impl<V: Serialize> ResponseCache<V> {
    pub(crate) fn new(max_bytes: usize) -> ResponseCache<V> {
        ResponseCache {
            max_bytes,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                bytes: 0,
                clock: 0,
                hits: 0,
                misses: 0,
            }),
        }
    }

    /// The answer stored for `key` if every file it names is unchanged on disk.
    pub(crate) fn get(&self, key: &CacheKey) -> Option<Arc<V>> {
        let files = {
            let inner = self.inner.lock();
            inner.entries.get(key).map(|e| e.files.clone())
        };
        // Files are checked outside the lock: a slow disk must not stall other calls.
        let fresh = files.as_ref().map(|f| f.iter().all(FileStamp::still_holds));
        let mut inner = self.inner.lock();
        match fresh {
            Some(true) => {
                inner.clock += 1;
                let clock = inner.clock;
                let e = inner.entries.get_mut(key)?;
                e.used = clock;
                let value = e.value.clone();
                inner.hits += 1;
                Some(value)
            }
            Some(false) => {
                if let Some(e) = inner.entries.remove(key) {
                    inner.bytes -= e.bytes;
                }
                inner.misses += 1;
                None
            }
            None => {
                inner.misses += 1;
                None
            }
        }
    }

    /// Stores an answer; one larger than a quarter of the cache is not kept. Entries of
    /// older generations go first, then the least recently used.
    pub(crate) fn put(&self, key: CacheKey, value: Arc<V>, files: Vec<FileStamp>) {
        let bytes = key.args.len()
            + serde_json::to_vec(&*value).map_or(0, |b| b.len())
            + files
                .iter()
                .map(|f| f.path.as_os_str().len() + 32)
                .sum::<usize>();
        if bytes > self.max_bytes / 4 {
            return;
        }
        let mut inner = self.inner.lock();
        let newest = key.generation;
        let old: Vec<CacheKey> = inner
            .entries
            .keys()
            .filter(|k| k.generation < newest)
            .cloned()
            .collect();
        for k in old {
            if let Some(e) = inner.entries.remove(&k) {
                inner.bytes -= e.bytes;
            }
        }
        while inner.bytes + bytes > self.max_bytes {
            let Some(lru) = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = inner.entries.remove(&lru) {
                inner.bytes -= e.bytes;
            }
        }
        inner.clock += 1;
        let used = inner.clock;
        if let Some(e) = inner.entries.insert(
            key,
            Entry {
                value,
                files,
                bytes,
                used,
            },
        ) {
            inner.bytes -= e.bytes;
        }
        inner.bytes += bytes;
    }

    pub(crate) fn counts(&self) -> CacheCounts {
        let inner = self.inner.lock();
        CacheCounts {
            hits: inner.hits,
            misses: inner.misses,
            entries: inner.entries.len(),
            bytes: inner.bytes,
        }
    }
}

impl ResponseCache<CallToolResult> {
    /// Keeps a complete answer under the generation it was read from, with the files
    /// it names as they are on disk now; errors and partial answers are not kept.
    pub(crate) fn keep(&self, mut key: CacheKey, result: &CallToolResult) {
        let Some(v) = &result.structured_content else {
            return;
        };
        if result.is_error == Some(true)
            || v.get("partial").and_then(|p| p.as_bool()) != Some(false)
        {
            return;
        }
        if let Some(g) = v.get("generation").and_then(|g| g.as_u64()) {
            key.generation = g;
        }
        let mut files = Vec::new();
        named_files(v, &mut files);
        files.sort();
        files.dedup();
        let stamps = files.into_iter().map(FileStamp::now).collect();
        self.put(key, Arc::new(result.clone()), stamps);
    }
}

/// Every `root` + `path` pair in an answer.
fn named_files(v: &serde_json::Value, out: &mut Vec<PathBuf>) {
    match v {
        serde_json::Value::Object(m) => {
            if let (Some(root), Some(path)) = (
                m.get("root").and_then(|r| r.as_str()),
                m.get("path").and_then(|p| p.as_str()),
            ) {
                out.push(std::path::Path::new(root).join(path));
            }
            m.values().for_each(|x| named_files(x, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| named_files(x, out)),
        _ => {}
    }
}

/// `value` with object keys sorted at every level: one spelling per request.
pub(crate) fn canonical(value: &serde_json::Value) -> String {
    fn sort(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for k in keys {
                    out.insert(k.clone(), sort(&m[k]));
                }
                serde_json::Value::Object(out)
            }
            serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(value).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(generation: u64, args: &str) -> CacheKey {
        CacheKey {
            generation,
            tool: "search_code",
            args: args.into(),
        }
    }

    #[test]
    fn a_repeated_call_in_one_generation_hits_and_a_new_generation_misses() {
        let cache = ResponseCache::new(1 << 20);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.rs");
        std::fs::write(&file, "fn a() {}").unwrap();
        cache.put(
            key(3, "q"),
            Arc::new(json!({"hits": 1})),
            vec![FileStamp::now(file.clone())],
        );
        assert_eq!(*cache.get(&key(3, "q")).unwrap(), json!({"hits": 1}));
        assert!(cache.get(&key(4, "q")).is_none());
        assert!(cache.get(&key(3, "other")).is_none());
        let c = cache.counts();
        assert_eq!((c.hits, c.misses, c.entries), (1, 2, 1));
        // A newer generation's answer drops the older ones.
        cache.put(key(4, "q"), Arc::new(json!(2)), Vec::new());
        assert_eq!(cache.counts().entries, 1);
        assert!(cache.get(&key(3, "q")).is_none());
    }

    #[test]
    fn an_answer_naming_a_file_changed_on_disk_is_not_served() {
        let cache = ResponseCache::new(1 << 20);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.rs");
        std::fs::write(&file, "fn a() {}").unwrap();
        cache.put(
            key(1, "q"),
            Arc::new(json!({"stale": false})),
            vec![FileStamp::now(file.clone())],
        );
        std::fs::write(&file, "fn a() { changed(); }").unwrap();
        assert!(cache.get(&key(1, "q")).is_none());
        assert_eq!(cache.counts().entries, 0, "the outdated entry is dropped");
        cache.put(
            key(1, "gone"),
            Arc::new(json!(1)),
            vec![FileStamp::now(file.clone())],
        );
        std::fs::remove_file(&file).unwrap();
        assert!(cache.get(&key(1, "gone")).is_none());
    }

    #[test]
    fn memory_stays_within_the_bound_least_recently_used_out_first() {
        let cache = ResponseCache::new(4_000);
        let big = |n: usize| Arc::new(json!("x".repeat(n)));
        cache.put(key(1, "a"), big(500), Vec::new());
        cache.put(key(1, "b"), big(500), Vec::new());
        cache.put(key(1, "c"), big(500), Vec::new());
        assert!(cache.get(&key(1, "a")).is_some()); // a is now the most recent
        for i in 0..20 {
            cache.put(key(1, &format!("n{i}")), big(500), Vec::new());
            assert!(cache.counts().bytes <= 4_000);
        }
        assert!(cache.get(&key(1, "b")).is_none());
        // Too big to keep at all.
        cache.put(key(1, "huge"), big(2_000), Vec::new());
        assert!(cache.get(&key(1, "huge")).is_none());
    }

    #[test]
    fn argument_order_does_not_matter() {
        assert_eq!(
            canonical(&json!({"query": "x", "k": 5, "f": {"b": 1, "a": [2, {"d": 1, "c": 0}]}})),
            canonical(&json!({"k": 5, "f": {"a": [2, {"c": 0, "d": 1}], "b": 1}, "query": "x"}))
        );
    }
}

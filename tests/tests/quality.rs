//! Retrieval quality cannot silently fall: BM25-only NDCG@10 on four repositories of
//! the shared semble benchmark (`../shared/bench-quality`), scored as
//! `scripts/bench-quality.py` scores it, must stay above floors set just under what
//! the ranking stage achieved (file and chunk protocols). The whole benchmark, with the
//! peers' numbers, is the script; this is its fast part.
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};

use scry_test_support::Sandbox;

/// (repository, file-protocol floor, chunk-protocol floor). Achieved when set (with
/// re-exports standing for definitions the index lacks, and the query's case choosing
/// between `Session` and `session()`): requests 0.988 / 0.988, express 0.985 / 0.985
/// (functions assigned to `app.x` and `res.x` as definitions, and qualified names in a
/// sentence), flask 0.918 / 0.918, axum 0.903 / 0.903 (Rust: definitions reached
/// through re-exports).
const FLOORS: &[(&str, f64, f64)] = &[
    ("requests", 0.97, 0.97),
    ("express", 0.975, 0.975),
    ("flask", 0.90, 0.90),
    ("axum", 0.89, 0.89),
];

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench-quality")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A benchmark target: a path, and a line span when the annotation gives one.
fn target(t: &serde_json::Value) -> (String, Option<(u64, u64)>) {
    if let Some(path) = t["path"].as_str() {
        return (
            path.to_owned(),
            Some((
                t["start_line"].as_u64().unwrap(),
                t["end_line"].as_u64().unwrap(),
            )),
        );
    }
    let s = t.as_str().unwrap();
    match s.split_once(':') {
        Some((path, span)) => {
            let (a, b) = span.split_once('-').unwrap();
            (
                path.to_owned(),
                Some((a.parse().unwrap(), b.parse().unwrap())),
            )
        }
        None => (s.to_owned(), None),
    }
}

fn same_file(result: &str, target: &str) -> bool {
    result == target
        || result.ends_with(&format!("/{target}"))
        || target.ends_with(&format!("/{result}"))
}

/// NDCG@10 of `hits` (path, first line, last line) against `targets`, as the benchmark
/// scores it: each target counts at the first rank that finds it, and a rank gains 1
/// however many targets it finds.
fn ndcg10(hits: &[(String, u64, u64)], targets: &[(String, Option<(u64, u64)>)]) -> f64 {
    let mut ranks = std::collections::BTreeSet::new();
    for (t, span) in targets {
        let first = hits.iter().take(10).position(|(path, start, end)| {
            same_file(path, t) && span.is_none_or(|(a, b)| !(*end < a || *start > b))
        });
        ranks.extend(first);
    }
    let dcg: f64 = ranks
        .iter()
        .map(|rank| 1.0 / ((rank + 2) as f64).log2())
        .sum();
    let ideal: f64 = (1..=targets.len().min(10))
        .map(|i| 1.0 / ((i + 1) as f64).log2())
        .sum();
    dcg / ideal
}

#[test]
fn bm25_quality_stays_above_its_floors_on_the_shared_benchmark() {
    let data = data();
    if !data.join("repos.json").is_file() {
        eprintln!("skipped: {} is absent", data.display());
        return;
    }
    let repos: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("repos.json")).unwrap()).unwrap();
    let mut report = Vec::new();
    for &(repo, file_floor, chunk_floor) in FLOORS {
        let s = Sandbox::new();
        copy_tree(&data.join("repos").join(repo), &s.ws());
        s.json(&["--no-model", "index", "--json"]);
        let queries: Vec<serde_json::Value> = serde_json::from_str(
            &std::fs::read_to_string(data.join("queries").join(format!("{repo}.json"))).unwrap(),
        )
        .unwrap();
        // Hits name paths from the benchmark root that was indexed; targets, from the
        // repository's root (`app.py` is not `sansio/app.py`).
        let root = repos["repos"][repo]["benchmark_root"]
            .as_str()
            .map_or(String::new(), |r| format!("{r}/"));
        let (mut file_sum, mut chunk_sum) = (0.0, 0.0);
        for q in &queries {
            let mut targets: Vec<_> = q["relevant"]
                .as_array()
                .unwrap()
                .iter()
                .map(target)
                .collect();
            if let Some(more) = q["secondary"].as_array() {
                targets.extend(more.iter().map(target));
            }
            let v = s.json(&[
                "--no-model",
                "search",
                "--json",
                "--no-refresh",
                "-k",
                "10",
                "--mode",
                "lexical",
                q["query"].as_str().unwrap(),
            ]);
            let hits: Vec<(String, u64, u64)> = v["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        format!("{root}{}", h["path"].as_str().unwrap()),
                        h["start_line"].as_u64().unwrap(),
                        h["end_line"].as_u64().unwrap(),
                    )
                })
                .collect();
            let mut files: Vec<(String, u64, u64)> = Vec::new();
            for (p, _, _) in &hits {
                if !files.iter().any(|(f, _, _)| f == p) {
                    files.push((p.clone(), 0, 0));
                }
            }
            let file_targets: Vec<_> = targets.iter().map(|(p, _)| (p.clone(), None)).collect();
            file_sum += ndcg10(&files, &file_targets);
            chunk_sum += ndcg10(&hits, &targets);
        }
        let n = queries.len() as f64;
        report.push((repo, file_sum / n, chunk_sum / n, file_floor, chunk_floor));
    }
    eprintln!("{report:?}");
    for (repo, file, chunk, file_floor, chunk_floor) in report {
        assert!(
            file >= file_floor,
            "{repo}: file NDCG@10 {file:.3} < {file_floor}"
        );
        assert!(
            chunk >= chunk_floor,
            "{repo}: chunk NDCG@10 {chunk:.3} < {chunk_floor}"
        );
    }
}

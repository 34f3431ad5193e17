//! The copies in spec/ are the ones `spec/refresh.sh` recorded: a file edited by hand, added or
//! dropped without refreshing `SHA256SUMS` fails here instead of silently changing what the
//! other tests check against.

use std::collections::BTreeSet;
use std::path::Path;

use sha2::{Digest, Sha256};

const SPEC_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../spec");

/// Files of spec/ that describe or produce the copies rather than being one.
const NOT_RECORDED: &[&str] = &["README.md", "SHA256SUMS", "refresh.sh"];

/// `(hex digest, path relative to spec/)` per line of `SHA256SUMS`.
fn recorded() -> Vec<(String, String)> {
    let path = format!("{SPEC_DIR}/SHA256SUMS");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .map(|line| {
            let (sum, name) = line
                .split_once("  ")
                .unwrap_or_else(|| panic!("not a sha256sum line: {line:?}"));
            assert!(
                sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit()),
                "not a sha256 digest: {line:?}"
            );
            (sum.to_owned(), name.to_owned())
        })
        .collect()
}

fn files_under(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let entry = entry.unwrap();
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.file_type().unwrap().is_dir() {
            files_under(&entry.path(), &format!("{name}/"), out);
        } else {
            out.insert(name);
        }
    }
}

#[test]
fn spec_files_match_their_recorded_sums() {
    let recorded = recorded();
    assert!(
        recorded.iter().any(|(_, n)| n == "openapi-2.166.json")
            && recorded.iter().any(|(_, n)| n == "openapi-2.167.json")
            && recorded.iter().any(|(_, n)| n == "fixtures/README.md"),
        "SHA256SUMS must cover both specifications and the fixtures"
    );
    for (sum, name) in recorded {
        let path = format!("{SPEC_DIR}/{name}");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let actual: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            actual, sum,
            "spec/{name} differs from the copy spec/refresh.sh recorded"
        );
    }
}

#[test]
fn every_spec_file_has_a_sum() {
    let mut found = BTreeSet::new();
    files_under(Path::new(SPEC_DIR), "", &mut found);
    for name in NOT_RECORDED {
        assert!(found.remove(*name), "spec/{name} is missing");
    }
    let listed: BTreeSet<String> = recorded().into_iter().map(|(_, n)| n).collect();
    let unlisted: Vec<_> = found.difference(&listed).collect();
    assert!(unlisted.is_empty(), "in spec/ without a sum: {unlisted:?}");
    let missing: Vec<_> = listed.difference(&found).collect();
    assert!(
        missing.is_empty(),
        "listed in SHA256SUMS, absent: {missing:?}"
    );
}

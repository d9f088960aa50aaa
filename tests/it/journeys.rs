//! The three users' journeys end to end, over HTTP against a real `provenance serve`: the
//! commands of the user guides in `docs/`, run as they are written, in the order a real
//! exchange between a rights holder, a publisher and an auditor would run them. Then one stored
//! entry is altered in the database, and the audit must fail and name it.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use crate::process::{create_account, test_only_key, Node, BIN};
use crate::support::TestDb;
use crate::works_api::{fixture, resized_jpeg_copy};

const GUIDES: &[&str] = &[
    "docs/guide-rights-holder.md",
    "docs/guide-publisher.md",
    "docs/guide-auditor.md",
];

/// The journey, as steps of the guides.
const JOURNEY: &[&str] = &[
    "rh-register",
    "pub-key",
    "pub-check",
    "pub-evaluate",
    "pub-record",
    "pub-verify",
    "audit-first",
    "rh-attributions",
    "rh-lookup",
    "rh-dispute",
    "pub-revoke",
    "audit-again",
];

/// The shell blocks of the guides, by the name in the `<!-- step: NAME -->` line before each.
fn guide_steps() -> HashMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut steps = HashMap::new();
    for guide in GUIDES {
        let text = std::fs::read_to_string(root.join(guide)).unwrap();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let Some(name) = line
                .trim()
                .strip_prefix("<!-- step:")
                .and_then(|rest| rest.strip_suffix("-->"))
            else {
                continue;
            };
            assert_eq!(
                lines.next().map(str::trim),
                Some("```sh"),
                "{guide}: {name}"
            );
            let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            let previous = steps.insert(name.trim().to_owned(), block.join("\n"));
            assert!(previous.is_none(), "step {name} appears twice");
        }
    }
    steps
}

struct Shell<'a> {
    dir: &'a Path,
    env: Vec<(&'static str, String)>,
}

impl Shell<'_> {
    /// Runs `script` with bash in the journey's directory; answers its exit code, stdout and
    /// stderr.
    fn run(&self, script: &str) -> (i32, String, String) {
        let bin_dir = Path::new(BIN).parent().unwrap();
        let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
        let out = Command::new("bash")
            .args(["-c", script])
            .current_dir(self.dir)
            .env("PATH", path)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[test]
fn the_guides_run_as_written_and_an_altered_entry_fails_the_audit() {
    let steps = guide_steps();
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let key = test_only_key(dir.path());
    let data = dir.path().join("data");
    let node = Node::start(&data, &db.url, &key);
    let work_dir = dir.path().join("journey");
    std::fs::create_dir(&work_dir).unwrap();
    std::fs::write(work_dir.join("work.png"), fixture("chelsea.png")).unwrap();
    std::fs::write(work_dir.join("copy.jpg"), resized_jpeg_copy("chelsea.png")).unwrap();
    let shell = Shell {
        dir: &work_dir,
        env: vec![
            ("SERVER", node.base.clone()),
            (
                "RH_TOKEN",
                create_account(&db.url, &data, "studio", "rights-holder"),
            ),
            (
                "PUB_TOKEN",
                create_account(&db.url, &data, "newsroom", "publisher"),
            ),
        ],
    };

    // One shell, so that what one step learns (a work id) is there for the next.
    let mut script = String::from("set -euo pipefail\n");
    for name in JOURNEY {
        let block = steps
            .get(*name)
            .unwrap_or_else(|| panic!("no guide has the step {name}"));
        script.push_str(&format!("echo '### {name}'\n{block}\n"));
    }
    let (code, stdout, stderr) = shell.run(&script);
    assert_eq!(code, 0, "the journey stopped:\n{stdout}\n{stderr}");
    let output = |name: &str| {
        let start = stdout.find(&format!("### {name}\n")).unwrap();
        let rest = &stdout[start..];
        let end = rest[4..].find("### ").map_or(rest.len(), |i| i + 4);
        rest[..end].to_owned()
    };

    // What each user saw.
    assert!(
        output("pub-check").contains("\"decision\": \"match\""),
        "{}",
        output("pub-check")
    );
    assert!(output("pub-evaluate").contains("\"allowed\": true"));
    assert!(
        output("pub-record").contains("\"Harbour at dawn\" by A. Photographer"),
        "{}",
        output("pub-record")
    );
    let verified = output("pub-verify");
    assert!(
        verified.contains("OK: entry 1 (attribution_recorded)"),
        "{verified}"
    );
    assert!(
        verified.contains("copy.jpg is the media the entry recorded"),
        "{verified}"
    );
    assert!(output("rh-attributions").contains("\"state\": \"active\""));
    assert!(
        output("rh-lookup").contains("\"id\": 1"),
        "{}",
        output("rh-lookup")
    );
    assert!(output("rh-dispute").contains("\"state\": \"disputed\""));
    assert!(output("pub-revoke").contains("\"state\": \"revoked\""));
    // The first audit read the whole log; the second only what was new since.
    let first = output("audit-first");
    assert!(
        first.contains("audited up to tree size 2 (previously 0)"),
        "{first}"
    );
    assert!(first.contains("entries checked in this run: 2"), "{first}");
    let again = output("audit-again");
    assert!(
        again.contains("audited up to tree size 4 (previously 2)"),
        "{again}"
    );
    assert!(again.contains("entries checked in this run: 2"), "{again}");
    assert!(again.contains("attribution_revoked: 1"), "{again}");

    // Someone with access to the database rewrites entry 2 (the dispute) with the bytes of
    // entry 3: a validly signed note, in the wrong place.
    db.execute(
        "UPDATE log_entries SET data = (SELECT data FROM log_entries WHERE entry_index = 3) \
         WHERE entry_index = 2",
    );
    let audit = "provenance audit --server \"$SERVER\" --key log.pub";
    let (code, _, stderr) = shell.run(&format!("{audit} --state fresh-state.json"));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("entry 2"),
        "the audit names the altered entry: {stderr}"
    );
    let (code, _, stderr) = shell.run(&format!("{audit} --state audit.json --full"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("entry 2"), "{stderr}");
}

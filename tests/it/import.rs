//! `provenance works import`, `check` and `fingerprint` with the real binary: a catalogue is
//! registered once however often the import is interrupted and re-run.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::process::{create_account, test_only_key, Node, BIN};
use crate::support::TestDb;

/// Real photographs (the PDQ fixtures, from scikit-image's data set and similar free
/// sources): copies `count` of them into `dir`, as `work-NN.<ext>`.
fn write_catalogue(dir: &Path, count: usize) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts/pdq-fixtures");
    let mut names: Vec<_> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("png" | "jpg")))
        .collect();
    names.sort();
    assert!(names.len() >= count, "only {} fixtures", names.len());
    for (n, path) in names.iter().take(count).enumerate() {
        let ext = path.extension().unwrap().to_str().unwrap();
        std::fs::copy(path, dir.join(format!("work-{n:02}.{ext}"))).unwrap();
    }
}

fn import_command(dir: &Path, data: &Path, url: &str, token: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["works", "import"])
        .arg(dir)
        .args([
            "--license",
            "CC-BY-4.0",
            "--creator",
            "Test Studio",
            "--jobs",
            "2",
        ])
        .args(["--token", token, "--database-url", url])
        .arg("--data-dir")
        .arg(data)
        .arg("--key-file")
        .arg(data.join("log.key"))
        .env("PROVENANCE_LOG", "warn");
    cmd
}

fn lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn count(lines: &[Value], status: &str) -> usize {
    lines.iter().filter(|l| l["status"] == status).count()
}

#[test]
fn an_interrupted_import_rerun_registers_every_work_exactly_once() {
    const WORKS: usize = 12;
    let db = TestDb::new();
    let data = tempfile::tempdir().unwrap();
    test_only_key(data.path());
    let catalogue = tempfile::tempdir().unwrap();
    write_catalogue(catalogue.path(), WORKS);
    std::fs::write(catalogue.path().join("notes.png"), b"not an image").unwrap();
    let token = create_account(&db.url, data.path(), "studio", "rights-holder");

    // First run: killed once a few works are acknowledged.
    let mut child = import_command(catalogue.path(), data.path(), &db.url, &token)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line: Value = serde_json::from_str(&line.unwrap()).unwrap();
        let registered = line["status"] == "registered";
        first.push(line);
        if registered && count(&first, "registered") == 4 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let acknowledged: Vec<i64> = first
        .iter()
        .filter(|l| l["status"] == "registered")
        .map(|l| l["work_id"].as_i64().unwrap())
        .collect();
    assert_eq!(acknowledged.len(), 4);

    // Second run: finishes, skipping what the first registered, reporting the bad file.
    let out = import_command(catalogue.path(), data.path(), &db.url, &token)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "one file failed");
    let second = lines(&out.stdout);
    assert_eq!(second.len(), WORKS + 1);
    let failed: Vec<&Value> = second.iter().filter(|l| l["status"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["path"].as_str().unwrap().ends_with("notes.png"));
    assert!(failed[0]["error"]
        .as_str()
        .unwrap()
        .contains("not an image"));
    let skipped = count(&second, "already_registered");
    assert!(
        skipped >= 4,
        "every acknowledged work is skipped: {skipped}"
    );
    assert_eq!(count(&second, "registered") + skipped, WORKS);
    for id in &acknowledged {
        assert!(second
            .iter()
            .any(|l| l["status"] == "already_registered" && l["work_id"].as_i64() == Some(*id)));
    }

    // Third run: nothing new. And the database holds each work once.
    let third = lines(
        &import_command(catalogue.path(), data.path(), &db.url, &token)
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(count(&third, "already_registered"), WORKS);
    let node = Node::start(data.path(), &db.url, &data.path().join("log.key"));
    let listed: Value = ureq::get(&format!("{}/v1/works?limit=500", node.base))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let works = listed["works"].as_array().unwrap();
    assert_eq!(works.len(), WORKS);
    assert!(works.iter().all(|w| w["creator"] == "Test Studio"));
    assert!(works.iter().any(|w| w["title"] == "work-07"));
}

#[test]
fn import_through_a_server_then_check_and_fingerprint_offline() {
    let db = TestDb::new();
    let data = tempfile::tempdir().unwrap();
    let key = test_only_key(data.path());
    let catalogue = tempfile::tempdir().unwrap();
    write_catalogue(catalogue.path(), 3);
    std::fs::write(
        catalogue.path().join("manifest.csv"),
        "file,title,license,ai_preferences\nwork-01.png,The Second One,CC0-1.0,train-ai=n\n",
    )
    .unwrap();
    let token = create_account(&db.url, data.path(), "studio", "rights-holder");
    let node = Node::start(data.path(), &db.url, &key);
    let out = Command::new(BIN)
        .args(["works", "import"])
        .arg(catalogue.path())
        .args(["--license", "CC-BY-4.0", "--creator", "Test Studio"])
        .args(["--server", &node.base, "--token", &token])
        .arg("--manifest")
        .arg(catalogue.path().join("manifest.csv"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let imported = lines(&out.stdout);
    assert_eq!(count(&imported, "registered"), 3);
    let second_id = imported
        .iter()
        .find(|l| l["path"].as_str().unwrap().ends_with("work-01.png"))
        .unwrap()["work_id"]
        .as_i64()
        .unwrap();
    let work: Value = ureq::get(&format!("{}/v1/works/{second_id}", node.base))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(work["work"]["title"], "The Second One");
    assert_eq!(work["work"]["license"], "CC0-1.0");
    assert_eq!(work["work"]["ai_preferences"], "train-ai=n");

    // Offline matching against the same database: a shrunk JPEG copy of work-01 is found.
    let original = image::open(catalogue.path().join("work-01.png")).unwrap();
    let copy_path = data.path().join("copy.jpg");
    original
        .resize(120, 90, image::imageops::FilterType::Triangle)
        .to_rgb8()
        .save(&copy_path)
        .unwrap();
    let out = Command::new(BIN)
        .arg("check")
        .arg(&copy_path)
        .arg(data.path().join("missing.png"))
        .args(["--database-url", &db.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "one of the files is missing");
    let checked = lines(&out.stdout);
    assert_eq!(checked.len(), 2);
    assert_eq!(checked[0]["decision"], "match", "{}", checked[0]);
    assert_eq!(checked[0]["works"][0]["work_id"].as_i64(), Some(second_id));
    assert_eq!(checked[0]["works"][0]["title"], "The Second One");
    assert!(checked[1]["error"]
        .as_str()
        .unwrap()
        .contains("reading the file"));

    // A partial copy of work-01 (a third cut away) is found by the local-feature stage; without
    // stored features (a work registered before that stage existed) only after `works
    // add-features` recomputes them from the original file.
    let crop_path = data.path().join("crop.jpg");
    let (w, h) = (original.width(), original.height());
    original
        .crop_imm(w / 4, h / 10, w * 3 / 4, h * 4 / 5)
        .resize_exact(w, h, image::imageops::FilterType::Triangle)
        .to_rgb8()
        .save(&crop_path)
        .unwrap();
    let check_crop = || {
        let out = Command::new(BIN)
            .arg("check")
            .arg(&crop_path)
            .args(["--database-url", &db.url])
            .output()
            .unwrap();
        assert!(out.status.success());
        lines(&out.stdout).remove(0)
    };
    let found = check_crop();
    assert_eq!(found["decided_by"]["kind"], "local_features", "{found}");
    assert_eq!(found["works"][0]["work_id"].as_i64(), Some(second_id));
    assert_eq!(found["local_stage"], true);
    db.execute("DELETE FROM work_features");
    let missed = check_crop();
    assert_ne!(missed["decided_by"]["kind"], "local_features", "{missed}");
    let out = Command::new(BIN)
        .args(["works", "add-features"])
        .arg(catalogue.path().join("work-01.png"))
        .arg(&crop_path)
        .args(["--database-url", &db.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "the crop is no registered work");
    let added = lines(&out.stdout);
    assert_eq!(
        added[0]["added"],
        serde_json::json!([second_id]),
        "{}",
        added[0]
    );
    assert!(added[1]["error"]
        .as_str()
        .unwrap()
        .contains("no registered work"));
    let found = check_crop();
    assert_eq!(found["decided_by"]["kind"], "local_features", "{found}");

    let out = Command::new(BIN)
        .arg("fingerprint")
        .arg(&copy_path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed = lines(&out.stdout);
    assert_eq!(printed[0]["format"], "jpg");
    assert_eq!(printed[0]["pdq"].as_str().unwrap().len(), 64);
    assert_eq!(printed[0]["pdq_dihedral"].as_array().unwrap().len(), 8);
}

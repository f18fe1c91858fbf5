//! The watched TOML file, on a real directory with real renames.

use std::path::{Path, PathBuf};
use std::time::Duration;
use wasmtime_global::{Globals, Value, ValueType};
use wasmtime_global_sources::file::{
    self, FileError, FileOptions, FileStatus, MAX_SIZE, WatchedFile,
};
use wasmtime_global_sources::{Literal, SyntaxError};

/// Long enough for an event on a loaded machine; a test that passes never waits it out.
const PATIENCE: Duration = Duration::from_secs(10);

/// Writes `text` to a new file beside `path` and renames it over `path`, as editors and deploy
/// tools do.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn versions(watch: &WatchedFile, n: u64) -> FileStatus {
    let (status, done) = watch.wait_for(PATIENCE, |s| s.versions >= n);
    assert!(done, "waited for version {n}: {status:?}");
    status
}

fn failures(watch: &WatchedFile, n: u64) -> FileStatus {
    let (status, done) = watch.wait_for(PATIENCE, |s| s.failures >= n);
    assert!(done, "waited for failure {n}: {status:?}");
    status
}

/// An integer as a file sets it for a name of no type yet: as written.
fn int(i: u64) -> Value {
    Value::Literal(Literal::Int(i.into()))
}

fn setup(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("globals.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn parses_every_kind_of_value_and_nested_names() {
    let parsed = file::parse(
        r#"
        FEATURE_X = true
        MAX_ITEMS = 100
        OFFSET = -5
        RATIO = 0.25
        TIMEOUT = "1m30s"
        HUGE = "18446744073709551615"
        [limits]
        burst = 64
        [limits.per_tenant]
        rate = 1.5
        "#,
    )
    .unwrap();
    let expected = [
        ("FEATURE_X", Literal::Bool(true)),
        ("HUGE", Literal::Int(u64::MAX.into())),
        ("MAX_ITEMS", Literal::Int(100.into())),
        ("OFFSET", Literal::Int((-5).into())),
        ("RATIO", Literal::Float(0.25)),
        ("TIMEOUT", Literal::Duration(90_000_000_000)),
        ("limits.burst", Literal::Int(64.into())),
        ("limits.per_tenant.rate", Literal::Float(1.5)),
    ];
    let got: Vec<_> = parsed.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(got, expected);
}

#[test]
fn refuses_what_no_global_holds() {
    type Expected = fn(&FileError) -> bool;
    let cases: [(&str, Expected); 6] = [
        (
            "A = [1, 2]",
            |e| matches!(e, FileError::Unsupported { name, kind: "an array" } if name == "A"),
        ),
        (
            "A = 1979-05-27",
            |e| matches!(e, FileError::Unsupported { name, kind: "a date" } if name == "A"),
        ),
        ("A = \"soon\"", |e| {
            matches!(e, FileError::Syntax { name, source: SyntaxError::Unrecognised { text } }
                if name == "A" && text == "soon")
        }),
        (
            "\"a.b\" = 1\n[a]\nb = 2",
            |e| matches!(e, FileError::Duplicate { name } if name == "a.b"),
        ),
        (
            "\"\" = 1",
            |e| matches!(e, FileError::Name { name, .. } if name.is_empty()),
        ),
        (
            "A = ",
            |e| matches!(e, FileError::Toml { message } if message.contains("line 1")),
        ),
    ];
    for (text, expected) in cases {
        let error = file::parse(text).unwrap_err();
        assert!(expected(&error), "{text:?} gave {error:?}");
    }
}

#[test]
fn loads_at_start_and_applies_every_replacement_by_rename() {
    let (_dir, path) = setup("MAX_ITEMS = 1\nGONE = true\n");
    let globals = Globals::new();
    let watch = WatchedFile::start(&path, &globals).unwrap();
    assert_eq!(globals.get("MAX_ITEMS"), Some(int(1)));
    assert_eq!(
        globals.get("GONE"),
        Some(Value::Literal(Literal::Bool(true)))
    );
    for i in 2..=30u64 {
        replace(&path, &format!("MAX_ITEMS = {i}\nTIMEOUT = \"{i}s\"\n"));
        let status = versions(&watch, i);
        assert_eq!(status.names, 2);
        assert_eq!(globals.get("MAX_ITEMS"), Some(int(i)));
        assert_eq!(
            globals.get("TIMEOUT"),
            Some(Value::Literal(Literal::Duration(i as i64 * 1_000_000_000)))
        );
        // The name that disappeared from the file is deleted.
        assert_eq!(globals.get("GONE"), None);
    }
    assert_eq!(watch.status().failures, 0);
}

#[test]
fn sees_writes_in_place_too() {
    let (_dir, path) = setup("A = 1\n");
    let globals = Globals::new();
    let watch = WatchedFile::start(&path, &globals).unwrap();
    std::fs::write(&path, "A = 2\n").unwrap();
    // The write truncates, then writes: the watch settles the empty file it may read between
    // the two (a_write_in_place_never_applies_the_truncated_file), then applies the new one.
    let (status, done) = watch.wait_for(PATIENCE, |_| globals.get("A") == Some(int(2)));
    assert!(done, "{status:?}");
    assert_eq!(status.last_error.map(|e| e.to_string()), None);
}

/// Issue 22, item 1: a write in place truncates the file, then writes it. The empty file in
/// between is not a version: the watch waits until two reads a settle period apart agree before
/// it applies a version that drops a name, so the registry never deletes the four names.
#[test]
fn a_write_in_place_never_applies_the_truncated_file() {
    use std::io::Write;
    let text = |i: u64| format!("A = {i}\nB = true\nC = \"{i}s\"\nD = 0.5\n");
    let (_dir, path) = setup(&text(1));
    let globals = Globals::new();
    // A settle period far longer than the writer's pause, so that a busy machine cannot
    // stretch the pause past it.
    let options = FileOptions::new().settle(Duration::from_millis(500));
    let watch = WatchedFile::start_with(&path, &globals, options).unwrap();
    for i in 2..=4u64 {
        let before = globals.snapshot().counters.sets;
        // As `echo ... > globals.toml` or an editor that writes in place: truncate, then write,
        // here with 20 ms between (a slow writer).
        let mut file = std::fs::File::create(&path).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        file.write_all(text(i).as_bytes()).unwrap();
        drop(file);
        let status = versions(&watch, i);
        assert_eq!(globals.get("A"), Some(int(i)));
        assert_eq!(status.names, 4);
        assert_eq!(status.failures, 0, "{status:?}");
        // One batch (A and C changed), not a batch deleting all four, then one setting them.
        let batches = globals.snapshot().counters.sets - before;
        assert_eq!(batches, 1, "version {i}: {status:?}");
    }
    assert_eq!(watch.status().versions, 4);
}

/// A file emptied for good is a version like any other: applied once it has stayed empty for
/// the settle period.
#[test]
fn a_file_emptied_for_good_is_applied_once_it_settles() {
    let (_dir, path) = setup("A = 1\nB = 2\n");
    let globals = Globals::new();
    let watch = WatchedFile::start(&path, &globals).unwrap();
    let emptied = std::time::Instant::now();
    std::fs::write(&path, "").unwrap();
    let status = versions(&watch, 2);
    assert!(
        emptied.elapsed() >= file::SETTLE,
        "applied before it settled"
    );
    assert_eq!(status.names, 0);
    assert_eq!((globals.get("A"), globals.get("B")), (None, None));
    // Settled: a version that drops names is applied no sooner than the settle period after
    // it was read.
    assert_eq!(FileOptions::new().settle_period(), file::SETTLE);
}

/// Waits for `name` to read `value` in `globals`.
fn reads(watch: &WatchedFile, globals: &Globals, name: &str, value: u64) {
    let (status, done) = watch.wait_for(PATIENCE, |_| globals.get(name) == Some(int(value)));
    assert!(done, "{name} never read {value}: {status:?}");
}

/// Issue 22, item 3: the file's directory is a link (`current -> v1`) switched to another
/// (`current -> v2`), as deploy tools do. The watch must follow the path, not the directory it
/// first watched: the switch is applied, and so is every later version in the new directory.
#[test]
fn a_switched_link_to_the_files_directory_is_followed() {
    let base = tempfile::tempdir().unwrap();
    for v in ["v1", "v2"] {
        std::fs::create_dir(base.path().join(v)).unwrap();
    }
    std::fs::write(base.path().join("v1/globals.toml"), "A = 1\n").unwrap();
    std::fs::write(base.path().join("v2/globals.toml"), "A = 2\n").unwrap();
    let current = base.path().join("current");
    std::os::unix::fs::symlink("v1", &current).unwrap();
    let path = current.join("globals.toml");
    let globals = Globals::new();
    let watch = WatchedFile::start(&path, &globals).unwrap();
    assert_eq!(globals.get("A"), Some(int(1)));
    plant_link(base.path(), "v2", &current);
    reads(&watch, &globals, "A", 2);
    for i in 3..=5 {
        replace(&base.path().join("v2/globals.toml"), &format!("A = {i}\n"));
        reads(&watch, &globals, "A", i);
    }
    // The old directory is not watched any more.
    replace(&base.path().join("v1/globals.toml"), "A = 100\n");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(globals.get("A"), Some(int(5)));
    assert_eq!(watch.status().last_error.map(|e| e.to_string()), None);
}

/// Issue 22, item 3: the file's directory renamed away and a new one made at its path.
#[test]
fn a_directory_renamed_away_and_made_again_is_followed() {
    let base = tempfile::tempdir().unwrap();
    let conf = base.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    let path = conf.join("globals.toml");
    std::fs::write(&path, "A = 1\n").unwrap();
    let globals = Globals::new();
    let watch = WatchedFile::start(&path, &globals).unwrap();
    std::fs::rename(&conf, base.path().join("conf.old")).unwrap();
    // While the path has no directory the last values stay, and the status says why.
    let (status, done) = watch.wait_for(PATIENCE, |s| s.last_error.is_some());
    assert!(done, "{status:?}");
    assert_eq!(globals.get("A"), Some(int(1)));
    std::fs::create_dir(&conf).unwrap();
    replace(&path, "A = 2\n");
    reads(&watch, &globals, "A", 2);
    for i in 3..=5 {
        replace(&path, &format!("A = {i}\n"));
        reads(&watch, &globals, "A", i);
    }
    assert_eq!(watch.status().last_error.map(|e| e.to_string()), None);
}

/// Issue 22, item 7: a name too long is refused as soon as its keys are, without joining the
/// rest: a dotted key of 80 keys of 10,000 bytes (an 800 KB file, within the cap) once built a
/// name at every level (32 MB in all) and the error carried the whole 800 KB name.
#[test]
fn a_name_too_long_is_refused_at_its_first_key_too_many() {
    let key = "k".repeat(10_000);
    let text = format!("{} = 1\n", vec![key.as_str(); 80].join("."));
    match file::parse(&text) {
        Err(FileError::Name {
            name,
            source: wasmtime_global_abi::NameError::TooLong { len },
        }) => {
            assert_eq!(len, 10_000, "the first key alone");
            assert!(
                name.len() <= 260,
                "an excerpt, not the name: {} bytes",
                name.len()
            );
            assert!(name.starts_with("kkkk") && name.ends_with('…'), "{name}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_kubernetes_style_swap_of_a_linked_directory_is_seen() {
    // A ConfigMap volume: globals.toml -> ..data/globals.toml, ..data -> a versioned directory,
    // replaced by renaming a new link over `..data`.
    let dir = tempfile::tempdir().unwrap();
    let version = |n: u32, text: &str| {
        let v = dir.path().join(format!("..v{n}"));
        std::fs::create_dir(&v).unwrap();
        std::fs::write(v.join("globals.toml"), text).unwrap();
        let tmp = dir.path().join("..data_tmp");
        std::os::unix::fs::symlink(format!("..v{n}"), &tmp).unwrap();
        std::fs::rename(&tmp, dir.path().join("..data")).unwrap();
    };
    version(1, "A = 1\n");
    let path = dir.path().join("globals.toml");
    std::os::unix::fs::symlink("..data/globals.toml", &path).unwrap();
    let globals = Globals::new();
    let watch = WatchedFile::start(&path, &globals).unwrap();
    assert_eq!(globals.get("A"), Some(int(1)));
    for n in 2..=5 {
        version(n, &format!("A = {n}\n"));
        versions(&watch, u64::from(n));
        assert_eq!(globals.get("A"), Some(int(u64::from(n))));
    }
}

#[test]
fn a_bad_first_version_is_a_typed_error_and_applies_nothing() {
    let (_dir, path) = setup("A = 1\nB = [\n");
    let globals = Globals::new();
    let error = WatchedFile::start(&path, &globals).unwrap_err();
    assert!(matches!(error, FileError::Toml { .. }), "{error:?}");
    assert_eq!(globals.get("A"), None);
    let missing = WatchedFile::start(path.with_extension("nope"), &globals).unwrap_err();
    assert!(
        matches!(&missing, FileError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{missing:?}"
    );
    assert_eq!(
        file::load(&path, &globals).unwrap_err().to_string(),
        error.to_string()
    );
}

#[test]
fn a_bad_version_keeps_the_last_good_values_until_a_good_one_comes() {
    let (_dir, path) = setup("A = 1\nB = 2\n");
    let globals = Globals::new();
    globals.define("TYPED", ValueType::Bool, None).unwrap();
    let watch = WatchedFile::start(&path, &globals).unwrap();

    replace(&path, "A = 10\nB = [\n");
    let status = failures(&watch, 1);
    assert!(matches!(
        status.last_error.as_deref(),
        Some(FileError::Toml { .. })
    ));
    // A good name beside a bad one is not applied either: a version is all or nothing.
    replace(&path, "A = 10\nTYPED = 3\n");
    let status = failures(&watch, 2);
    match status.last_error.as_deref() {
        Some(FileError::Type { name, source }) => {
            assert_eq!(name, "TYPED");
            assert_eq!(source.ty, ValueType::Bool);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(globals.get("A"), Some(int(1)));
    assert_eq!(globals.get("B"), Some(int(2)));
    assert_eq!(status.versions, 1);

    replace(&path, "A = 10\nTYPED = true\n");
    let status = versions(&watch, 2);
    assert!(status.last_error.is_none());
    assert_eq!(status.failures, 2);
    assert_eq!(globals.get("A"), Some(int(10)));
    assert_eq!(globals.get("B"), None);
    assert_eq!(globals.get("TYPED"), Some(Value::Bool(true)));
}

#[test]
fn a_deleted_file_keeps_its_values_and_its_return_is_applied() {
    let (_dir, path) = setup("A = 1\n");
    let globals = Globals::new();
    let watch = WatchedFile::start(&path, &globals).unwrap();
    std::fs::remove_file(&path).unwrap();
    let status = failures(&watch, 1);
    assert!(matches!(
        status.last_error.as_deref(),
        Some(FileError::Read { .. })
    ));
    assert_eq!(globals.get("A"), Some(int(1)));
    // The same text again ends the error.
    replace(&path, "A = 1\n");
    let status = versions(&watch, 2);
    assert!(status.last_error.is_none(), "{status:?}");
    assert_eq!(globals.get("A"), Some(int(1)));
}

/// Issue 22, item 2: the file types its names itself, in its `$types` table, so that a value
/// means the same whatever the embedder defined and whenever guests come.
#[test]
fn the_types_table_gives_names_their_type() {
    let text = r#"
        RATIO = 1
        TIMEOUT = "30s"
        COUNT = 7
        limits.burst = 64
        ["$types"]
        RATIO = "F64"
        TIMEOUT = "DURATION"
        limits.burst = "I64"
    "#;
    let version = file::parse_version(text).unwrap();
    assert_eq!(
        version.types.into_iter().collect::<Vec<_>>(),
        [
            ("RATIO".to_owned(), ValueType::F64),
            ("TIMEOUT".to_owned(), ValueType::Duration),
            ("limits.burst".to_owned(), ValueType::I64),
        ]
    );
    assert_eq!(version.values.len(), 4, "`$types` is no name");

    let (_dir, path) = setup(text);
    let globals = Globals::new();
    file::load(&path, &globals).unwrap();
    assert_eq!(
        globals.get("RATIO"),
        Some(Value::F64(1.0)),
        "typed, not a literal"
    );
    assert_eq!(
        globals.get("TIMEOUT"),
        Some(Value::Duration(30_000_000_000))
    );
    assert_eq!(globals.get("limits.burst"), Some(Value::I64(64)));
    assert_eq!(globals.get("COUNT"), Some(int(7)), "no type: as written");

    // The file's type, not the one the embedder defined: the registry refuses the version.
    let globals = Globals::new();
    globals.define("RATIO", ValueType::U64, None).unwrap();
    assert!(matches!(
        file::load(&path, &globals),
        Err(FileError::Registry(wasmtime_global::Error::TypeMismatch { ref name, .. }))
            if name == "RATIO"
    ));
    assert_eq!(
        globals.get("TIMEOUT"),
        None,
        "nothing of the version applied"
    );

    // Its value is none of its type (a duration needs a unit): refused.
    let (_dir, path) = setup("T = 30\n[\"$types\"]\nT = \"DURATION\"\n");
    assert!(matches!(
        file::load(&path, &Globals::new()),
        Err(FileError::Type { ref name, .. }) if name == "T"
    ));
}

#[test]
fn refuses_a_types_table_that_gives_no_type() {
    type Expected = fn(&FileError) -> bool;
    let cases: [(&str, Expected); 4] = [
        (
            "X = 1\n[\"$types\"]\nX = \"u64\"",
            |e| matches!(e, FileError::NotAType { name, text } if name == "X" && text == "\"u64\""),
        ),
        (
            "X = 1\n[\"$types\"]\nX = 2",
            |e| matches!(e, FileError::NotAType { name, text } if name == "X" && text == "an integer"),
        ),
        (
            "\"$types\" = 5",
            |e| matches!(e, FileError::NotAType { name, text } if name == "$types" && text == "an integer"),
        ),
        (
            "X = 1\n[\"$types\"]\nX = \"U64\"\nY = \"BOOL\"",
            |e| matches!(e, FileError::TypeWithoutValue { name } if name == "Y"),
        ),
    ];
    for (text, expected) in cases {
        let error = file::parse(text).unwrap_err();
        assert!(expected(&error), "{text:?} gave {error:?}");
    }
    assert_eq!(
        file::parse("X = 1\n[\"$types\"]\nY = \"BOOL\"")
            .unwrap_err()
            .to_string(),
        "\"Y\" has a type in `$types` but no value in the file"
    );
}

#[test]
fn integers_take_the_type_a_name_has() {
    let (_dir, path) = setup("U = 5\nI = 5\nF = 5\nN = -5\nD = \"5s\"\n");
    let globals = Globals::new();
    globals.define("I", ValueType::I64, None).unwrap();
    globals.define("F", ValueType::F64, None).unwrap();
    file::load(&path, &globals).unwrap();
    // Names of no type yet are set as written, and take the type they get later.
    assert_eq!(
        globals.get("U"),
        Some(Value::Literal(Literal::Int(5.into())))
    );
    assert_eq!(globals.get("I"), Some(Value::I64(5)));
    assert_eq!(globals.get("F"), Some(Value::F64(5.0)));
    assert_eq!(
        globals.get("N"),
        Some(Value::Literal(Literal::Int((-5).into())))
    );
    assert_eq!(
        globals.get("D"),
        Some(Value::Literal(Literal::Duration(5_000_000_000)))
    );
    globals.define("U", ValueType::F64, None).unwrap();
    globals.define("D", ValueType::Duration, None).unwrap();
    assert_eq!(globals.current("U"), Some(Value::F64(5.0)));
    assert_eq!(globals.current("D"), Some(Value::Duration(5_000_000_000)));
    // A type the value is none of cannot be defined while the value is set.
    assert!(matches!(
        globals.define("N", ValueType::U64, None),
        Err(wasmtime_global::Error::NotOfType { ref name, .. }) if name == "N"
    ));
}

#[test]
fn dropping_the_watch_stops_it_and_keeps_the_values() {
    let (_dir, path) = setup("A = 1\n");
    let globals = Globals::new();
    let watch = WatchedFile::start(&path, &globals).unwrap();
    drop(watch);
    replace(&path, "A = 2\n");
    // Another watch sees a later change: by then the first would have seen the earlier one.
    let other = Globals::new();
    let again = WatchedFile::start(&path, &other).unwrap();
    replace(&path, "A = 3\n");
    versions(&again, 2);
    assert_eq!(other.get("A"), Some(int(3)));
    assert_eq!(globals.get("A"), Some(int(1)));
}

#[test]
fn reading_the_file_is_not_an_event_that_reads_it_again() {
    let (dir, path) = setup("A = 1\n");
    let globals = Globals::new();
    let watch = WatchedFile::start(&path, &globals).unwrap();
    std::fs::write(dir.path().join("other.txt"), "x").unwrap();
    replace(&path, "A = 2\n");
    versions(&watch, 2);
    // A reload's own open and read of the file must not start another reload: if they did,
    // the count would run into the thousands while this thread sleeps.
    std::thread::sleep(Duration::from_millis(300));
    let reads = watch.status().reads;
    assert!((2..20).contains(&reads), "{reads} reads");
}

/// A directory the guest (or any less trusted writer) may write, holding the globals file, and
/// beside it a secret the writer must not reach: `data/globals.toml` and `secret/secret.toml`.
struct Planted {
    _root: tempfile::TempDir,
    data: PathBuf,
    path: PathBuf,
}

fn planted(text: &str) -> Planted {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let secret = root.path().join("secret");
    std::fs::create_dir(&data).unwrap();
    std::fs::create_dir(&secret).unwrap();
    std::fs::write(secret.join("secret.toml"), "A = 1234\n").unwrap();
    let path = data.join("globals.toml");
    std::fs::write(&path, text).unwrap();
    Planted {
        _root: root,
        data,
        path,
    }
}

/// What the attacker did: a relative link beside the file, renamed over it.
fn plant_link(dir: &Path, target: &str, over: &Path) {
    let tmp = dir.join("g.tmp");
    std::os::unix::fs::symlink(target, &tmp).unwrap();
    std::fs::rename(&tmp, over).unwrap();
}

fn mkfifo(path: &Path) {
    // No crate of the workspace makes FIFOs without `unsafe`; coreutils' mkfifo does.
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo {}: {status}", path.display());
}

#[test]
fn a_link_renamed_over_the_file_is_refused_when_links_are_not_followed() {
    let planted = planted("A = 1\n");
    let globals = Globals::new();
    let options = FileOptions::new().follow_links(false);
    let watch = WatchedFile::start_with(&planted.path, &globals, options).unwrap();
    plant_link(&planted.data, "../secret/secret.toml", &planted.path);
    let status = failures(&watch, 1);
    match status.last_error.as_deref() {
        Some(FileError::Link { path }) => assert_eq!(path, &planted.path),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        status.last_error.as_deref().unwrap().to_string(),
        format!(
            "{} is a symbolic link, which this source does not follow",
            planted.path.display()
        )
    );
    assert_eq!((status.versions, status.names), (1, 1));
    assert_eq!(globals.get("A"), Some(int(1)));
    // Read now, again: still refused, still the last good value, never the secret.
    assert!(matches!(
        watch.reload().unwrap_err().as_ref(),
        FileError::Link { .. }
    ));
    assert_eq!(globals.get("A"), Some(int(1)));
    let once = file::load_with(&planted.path, &Globals::new(), options).unwrap_err();
    assert!(
        matches!(&once, FileError::Link { path } if path == &planted.path),
        "{once:?}"
    );

    // A regular file put back is applied.
    replace(&planted.path, "A = 2\n");
    let status = versions(&watch, 2);
    assert!(status.last_error.is_none(), "{status:?}");
    assert_eq!(globals.get("A"), Some(int(2)));
}

#[test]
fn a_link_renamed_over_the_files_directory_is_never_taken_when_links_are_not_followed() {
    // data/conf/globals.toml; the writer of `data` moves `conf` away and puts in its place a
    // link to the secret's directory, whose file it names globals.toml.
    let planted = planted("A = 1\n");
    let conf = planted.data.join("conf");
    std::fs::create_dir(&conf).unwrap();
    let path = conf.join("globals.toml");
    std::fs::write(&path, "A = 1\n").unwrap();
    let secret_dir = planted.data.parent().unwrap().join("secret");
    std::fs::rename(
        secret_dir.join("secret.toml"),
        secret_dir.join("globals.toml"),
    )
    .unwrap();
    let globals = Globals::new();
    let options = FileOptions::new().follow_links(false);
    let watch = WatchedFile::start_with(&path, &globals, options).unwrap();
    let moved = planted.data.join("conf.old");
    std::fs::rename(&conf, &moved).unwrap();
    plant_link(&planted.data, "../secret", &conf);
    // The path now leads to the secret (A = 1234), as a reader that follows links sees...
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "A = 1234\n",
        "the link is in place"
    );
    // ...but the watch reads the directory it opened at start, wherever it is now: a new
    // version written there is applied, and the secret never is.
    replace(&moved.join("globals.toml"), "A = 2\n");
    let status = versions(&watch, 2);
    assert_eq!(status.failures, 0, "{status:?}");
    assert_eq!(globals.get("A"), Some(int(2)));
    assert!(!watch.reload().unwrap(), "the same bytes again");
    assert_eq!(globals.get("A"), Some(int(2)));
}

#[test]
fn the_default_follows_links_and_refusing_them_is_the_option() {
    // The default is for files the embedder's own deployment writes (a ConfigMap's links):
    // a link to a regular file is followed.
    let planted = planted("A = 1\n");
    let link = planted.data.join("link.toml");
    std::os::unix::fs::symlink("globals.toml", &link).unwrap();
    assert_eq!(file::load(&link, &Globals::new()).unwrap(), 1);
    let options = FileOptions::new().follow_links(false);
    let error = file::load_with(&link, &Globals::new(), options).unwrap_err();
    assert!(
        matches!(&error, FileError::Link { path } if path == &link),
        "{error:?}"
    );
    let error = WatchedFile::start_with(&link, &Globals::new(), options).unwrap_err();
    assert!(
        matches!(&error, FileError::Link { path } if path == &link),
        "{error:?}"
    );
    assert_eq!(FileOptions::default(), FileOptions::new());
    assert!(FileOptions::new().follows_links());
    assert_eq!(FileOptions::new().max(), MAX_SIZE);
    assert_eq!(MAX_SIZE, 1024 * 1024);
}

#[test]
fn a_fifo_renamed_over_the_file_is_refused_and_the_watch_goes_on() {
    for follow_links in [true, false] {
        let (dir, path) = setup("A = 1\n");
        let globals = Globals::new();
        let options = FileOptions::new().follow_links(follow_links);
        let watch = WatchedFile::start_with(&path, &globals, options).unwrap();
        let fifo = dir.path().join("g.fifo");
        mkfifo(&fifo);
        std::fs::rename(&fifo, &path).unwrap();
        // Before the fix the watch's thread blocked in open(2), waiting for a writer, and this
        // failure never came.
        let status = failures(&watch, 1);
        match status.last_error.as_deref() {
            Some(FileError::NotRegular { path: p, kind }) => {
                assert_eq!((p, *kind), (&path, "a FIFO"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            status.last_error.as_deref().unwrap().to_string(),
            format!("{} is a FIFO, not a regular file", path.display())
        );
        assert_eq!(globals.get("A"), Some(int(1)));
        // The watch is not held: a later good version is applied.
        replace(&path, "A = 2\n");
        versions(&watch, 2);
        assert_eq!(globals.get("A"), Some(int(2)));
    }
}

#[test]
fn a_link_to_a_device_is_refused_before_a_byte_is_read() {
    // Before the fix, /dev/zero was read until memory ran out (2.1 GB resident in 3.7 s, under
    // a 3 GB address-space limit).
    let planted = planted("A = 1\n");
    let globals = Globals::new();
    let watch = WatchedFile::start(&planted.path, &globals).unwrap();
    plant_link(&planted.data, "/dev/zero", &planted.path);
    let status = failures(&watch, 1);
    match status.last_error.as_deref() {
        Some(FileError::NotRegular { path, kind }) => {
            assert_eq!((path, *kind), (&planted.path, "a character device"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(globals.get("A"), Some(int(1)));
    let error = file::load("/dev/zero", &globals).unwrap_err();
    assert!(
        matches!(&error, FileError::NotRegular { path, kind: "a character device" }
            if path == Path::new("/dev/zero")),
        "{error:?}"
    );
    // With links not followed, the link itself is what is refused.
    let options = FileOptions::new().follow_links(false);
    let error = file::load_with(&planted.path, &globals, options).unwrap_err();
    assert!(matches!(&error, FileError::Link { .. }), "{error:?}");
}

#[test]
fn a_directory_is_not_a_globals_file() {
    let (dir, _path) = setup("A = 1\n");
    for follow_links in [true, false] {
        let options = FileOptions::new().follow_links(follow_links);
        let error = file::load_with(dir.path(), &Globals::new(), options).unwrap_err();
        assert!(
            matches!(&error, FileError::NotRegular { path, kind: "a directory" }
                if path == dir.path()),
            "{error:?}"
        );
    }
    // Renamed over the (emptied) name while watched.
    let (dir, path) = setup("A = 1\n");
    let globals = Globals::new();
    let watch = WatchedFile::start(&path, &globals).unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::rename(&sub, &path).unwrap();
    let (status, done) = watch.wait_for(PATIENCE, |s| {
        matches!(
            s.last_error.as_deref(),
            Some(FileError::NotRegular {
                kind: "a directory",
                ..
            })
        )
    });
    assert!(done, "{status:?}");
    assert_eq!(globals.get("A"), Some(int(1)));
}

/// `A = 2` padded with comment lines to exactly `len` bytes.
fn padded(len: usize) -> String {
    let mut text = String::from("A = 2\n");
    while text.len() < len {
        let line = "# padding\n";
        let room = len - text.len();
        if room >= line.len() {
            text.push_str(line);
        } else {
            text.push_str(&"#".repeat(room));
        }
    }
    assert_eq!(text.len(), len);
    text
}

#[test]
fn a_file_over_the_size_cap_is_refused_whole() {
    let cap = usize::try_from(MAX_SIZE).unwrap();
    let (dir, path) = setup("A = 1\n");
    let globals = Globals::new();
    let watch = WatchedFile::start(&path, &globals).unwrap();

    replace(&path, &padded(cap + 1));
    let status = failures(&watch, 1);
    match status.last_error.as_deref() {
        Some(FileError::TooLarge { path: p, max }) => assert_eq!((p, *max), (&path, MAX_SIZE)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        status.last_error.as_deref().unwrap().to_string(),
        format!(
            "{} is larger than 1048576 bytes, the most a globals file may hold",
            path.display()
        )
    );
    assert_eq!(globals.get("A"), Some(int(1)));

    // At the cap exactly, it is read and applied.
    replace(&path, &padded(cap));
    versions(&watch, 2);
    assert_eq!(globals.get("A"), Some(int(2)));

    // A sparse file of a terabyte is refused from its size, with nothing read.
    let sparse = dir.path().join("sparse.toml");
    let file = std::fs::File::create(&sparse).unwrap();
    file.set_len(1 << 40).unwrap();
    drop(file);
    let error = file::load(&sparse, &globals).unwrap_err();
    assert!(
        matches!(&error, FileError::TooLarge { path, max: MAX_SIZE } if path == &sparse),
        "{error:?}"
    );

    // The cap is an option.
    let options = FileOptions::new().max_size(5);
    let error = file::load_with(&path, &Globals::new(), options).unwrap_err();
    assert!(
        matches!(&error, FileError::TooLarge { max: 5, .. }),
        "{error:?}"
    );
    let small = dir.path().join("small.toml");
    std::fs::write(&small, "A = 3").unwrap();
    let other = Globals::new();
    assert_eq!(file::load_with(&small, &other, options).unwrap(), 1);
    assert_eq!(other.get("A"), Some(int(3)));
}

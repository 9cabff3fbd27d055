//! The rpm cataloger on databases the real rpm writes: tiny packages built
//! with `rpmbuild` and installed with `rpm --justdb` into a fresh sqlite
//! rpmdb, read back through the cataloger and through a layer, and compared
//! with `rpm -qa`. The SQLite reader is also checked against tables the
//! `sqlite3` shell writes at several page sizes, and against truncated and
//! corrupted files.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use clearance_scan::catalog::rpm::sqlite::{self, SqliteError};
use clearance_scan::catalog::{self, CatalogError, Cataloger, PackageType, rpm};
use support::{Entry, inventory, layer};

/// Fail (never skip) when a tool is missing, saying how to get it.
fn need(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{tool}` is not installed; run scripts/install-test-deps.sh (Debian package `{}`)",
        if tool == "rpmbuild" { "rpm" } else { tool }
    );
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Build the rpms of these spec files (name, text) under `dir`; their paths.
fn build(dir: &Path, specs: &[(&str, String)]) -> Vec<PathBuf> {
    need("rpmbuild");
    let top = dir.join("top");
    for (name, text) in specs {
        let spec = dir.join(format!("{name}.spec"));
        std::fs::write(&spec, text).unwrap();
        run(Command::new("rpmbuild")
            .args(["-bb", "--quiet", "--target", "x86_64", "--define"])
            .arg(format!("_topdir {}", top.display()))
            .arg(&spec));
    }
    let mut rpms = Vec::new();
    for arch in std::fs::read_dir(top.join("RPMS")).unwrap() {
        for f in std::fs::read_dir(arch.unwrap().path()).unwrap() {
            rpms.push(f.unwrap().path());
        }
    }
    rpms.sort();
    rpms
}

const SQLITE: [&str; 2] = ["--define", "_db_backend sqlite"];

/// A fresh sqlite rpmdb in `dir/db` with these rpms installed (database
/// only); its bytes and the `rpm -qa` lines `NAME EPOCHNUM:V-R ARCH SRPM`.
fn install(dir: &Path, rpms: &[PathBuf]) -> (Vec<u8>, Vec<String>) {
    need("rpm");
    let db = dir.join("db");
    std::fs::create_dir_all(&db).unwrap();
    run(Command::new("rpm")
        .args(SQLITE)
        .arg("--dbpath")
        .arg(&db)
        .arg("--initdb"));
    run(Command::new("rpm")
        .args(SQLITE)
        .arg("--dbpath")
        .arg(&db)
        .args(["-i", "--nodeps", "--justdb", "--noscripts", "--ignorearch"])
        .args(rpms));
    let listed = run(Command::new("rpm")
        .args(SQLITE)
        .arg("--dbpath")
        .arg(&db)
        .args([
            "-qa",
            "--qf",
            "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{ARCH} %{SOURCERPM}\\n",
        ]));
    let mut lines: Vec<String> = listed.lines().map(str::to_owned).collect();
    lines.sort();
    // rpm checkpoints its write-ahead log on close: the main file is whole.
    let wal = db.join("rpmdb.sqlite-wal");
    assert!(std::fs::metadata(&wal).map_or(true, |m| m.len() == 0));
    (std::fs::read(db.join("rpmdb.sqlite")).unwrap(), lines)
}

/// The cataloger's packages as `rpm -qa` lines.
fn as_rpm_lines(packages: &[catalog::Package]) -> Vec<String> {
    let mut lines: Vec<String> = packages
        .iter()
        .map(|p| {
            let (epoch, rest) = rpm::split_epoch(&p.version);
            let source = p
                .source
                .as_ref()
                .map(rpm::source_rpm_file)
                .unwrap_or_default();
            format!(
                "{} {}:{rest} {} {source}",
                p.name,
                epoch.unwrap_or("0"),
                p.arch.as_deref().unwrap_or("")
            )
        })
        .collect();
    lines.sort();
    lines
}

const METADATA: &str = "usr/lib/python3.9/site-packages/x-1.0.dist-info/METADATA";

/// `alpha` (x86_64, epoch 2) and `python3-x` (noarch, no epoch, a
/// subpackage of `xsrc`, installing a Python distribution's METADATA).
fn two_packages() -> Vec<(&'static str, String)> {
    vec![
        (
            "alpha",
            "Name: alpha\nVersion: 1.0\nRelease: 1\nEpoch: 2\nSummary: t\nLicense: MIT\n\
             %description\nt\n%files\n"
                .to_owned(),
        ),
        (
            "xsrc",
            format!(
                "Name: xsrc\nVersion: 1.0\nRelease: 3.el9\nSummary: t\nLicense: MIT\nBuildArch: noarch\n\
                 %description\nt\n%package -n python3-x\nSummary: t\n%description -n python3-x\nt\n\
                 %install\nmkdir -p %{{buildroot}}/{dir}\n\
                 printf 'Metadata-Version: 2.1\\nName: x\\nVersion: 1.0\\n' > %{{buildroot}}/{METADATA}\n\
                 %files -n python3-x\n/{METADATA}\n",
                dir = METADATA.rsplit_once('/').unwrap().0
            ),
        ),
    ]
}

fn read(path: &str, bytes: &[u8]) -> Result<Vec<catalog::Package>, CatalogError> {
    let mut warnings = Vec::new();
    let out = rpm::Rpm.read(path, bytes, None, &mut warnings);
    assert_eq!(warnings, []);
    out
}

#[test]
fn packages_rpm_installed_are_listed_as_rpm_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let rpms = build(dir.path(), &two_packages());
    let (db, expected) = install(dir.path(), &rpms);
    assert_eq!(
        expected,
        [
            "alpha 2:1.0-1 x86_64 alpha-1.0-1.src.rpm",
            "python3-x 0:1.0-3.el9 noarch xsrc-1.0-3.el9.src.rpm"
        ]
    );
    let packages = read("/var/lib/rpm/rpmdb.sqlite", &db).unwrap();
    assert_eq!(as_rpm_lines(&packages), expected);
    let alpha = &packages[0];
    assert_eq!(
        (alpha.name.as_str(), alpha.version.as_str(), alpha.kind),
        ("alpha", "2:1.0-1", PackageType::Rpm)
    );
    assert_eq!(alpha.path, "/var/lib/rpm/rpmdb.sqlite");
    let x = &packages[1];
    assert_eq!(x.version, "1.0-3.el9");
    let source = x.source.as_ref().unwrap();
    assert_eq!(
        (source.name.as_str(), source.version.as_str()),
        ("xsrc", "1.0-3.el9")
    );
}

const RHEL: &[u8] =
    b"NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.3\"\n";

/// Through a layer: Syft's purls, and the Python distribution that
/// `python3-x` installed names it as its owner (its fixes come from the
/// distribution, issue 9).
#[test]
fn an_rpm_layer_names_the_distribution_and_owns_its_python_files() {
    let dir = tempfile::tempdir().unwrap();
    let rpms = build(dir.path(), &two_packages());
    let (db, _) = install(dir.path(), &rpms);
    // Fedora ≥ 36 keeps the database under /usr, /var/lib/rpm a link.
    let base = layer(&[
        Entry::File("etc/os-release", RHEL),
        Entry::Link("var/lib/rpm", "../../usr/lib/sysimage/rpm"),
        Entry::File("usr/lib/sysimage/rpm/rpmdb.sqlite", &db),
        Entry::File(METADATA, b"Metadata-Version: 2.1\nName: x\nVersion: 1.0\n"),
    ]);
    let inv = inventory(&[base]);
    assert_eq!(inv.warnings, []);
    let got: Vec<_> = inv
        .packages
        .iter()
        .map(|f| {
            (
                f.package.purl.as_str(),
                f.owned_by.as_ref().map(|o| (o.kind, o.name.as_str())),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("pkg:pypi/x@1.0", Some((PackageType::Rpm, "python3-x"))),
            (
                "pkg:rpm/redhat/alpha@1.0-1?arch=x86_64&distro=rhel-9.3&epoch=2&upstream=alpha-1.0-1.src.rpm",
                None
            ),
            (
                "pkg:rpm/redhat/python3-x@1.0-3.el9?arch=noarch&distro=rhel-9.3&upstream=xsrc-1.0-3.el9.src.rpm",
                None
            ),
        ]
    );
    // A later layer that lays a link over the database's directory takes
    // its packages away.
    let classic = layer(&[Entry::File("var/lib/rpm/rpmdb.sqlite", &db)]);
    let moved = layer(&[Entry::Link("var/lib/rpm", "../../usr/lib/sysimage/rpm")]);
    let inv = inventory(&[classic, moved]);
    assert_eq!(inv.packages, []);
    assert_eq!(
        inv.removed
            .iter()
            .map(|r| (r.package.name.as_str(), r.layer, r.removed_in))
            .collect::<Vec<_>>(),
        [("alpha", 0, 1), ("python3-x", 0, 1)]
    );
}

/// Enough packages for the table's b-tree to have interior pages, and one
/// header (thousands of files) that spills onto a chain of overflow pages.
#[test]
fn large_databases_with_interior_and_overflow_pages_are_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = String::from(
        "Name: many\nVersion: 2\nRelease: 1\nSummary: t\nLicense: MIT\nBuildArch: noarch\n\
         %description\nt\n%install\nmkdir -p %{buildroot}/usr/share/big\n\
         for i in $(seq 1 3000); do : > %{buildroot}/usr/share/big/file-$i; done\n\
         %package -n many-big\nSummary: t\n%description -n many-big\nt\n\
         %files -n many-big\n/usr/share/big\n",
    );
    for i in 0..150 {
        spec.push_str(&format!(
            "%package -n many-{i:03}\nSummary: t\nEpoch: {i}\n%description -n many-{i:03}\nt\n%files -n many-{i:03}\n"
        ));
    }
    let rpms = build(dir.path(), &[("many", spec)]);
    let (db, expected) = install(dir.path(), &rpms);
    assert_eq!(expected.len(), 151);
    let packages = read("/var/lib/rpm/rpmdb.sqlite", &db).unwrap();
    assert_eq!(as_rpm_lines(&packages), expected);
    // The table's root really is an interior page (§1.6 type 5), the big
    // header really did spill, and its file list is whole.
    need("sqlite3");
    let copy = dir.path().join("copy.sqlite");
    std::fs::write(&copy, &db).unwrap();
    let root: usize = run(Command::new("sqlite3")
        .arg(&copy)
        .arg("SELECT rootpage FROM sqlite_schema WHERE name = 'Packages';"))
    .trim()
    .parse()
    .unwrap();
    assert_eq!(db[(root - 1) * 4096], 0x05);
    let rows = sqlite::table_blobs(&db, "Packages", 1, 1000).unwrap();
    assert!(rows.iter().any(|r| r.blob.len() > 4096 * 8));
    let owned = rpm::owned_files("/var/lib/rpm/rpmdb.sqlite", &db, |f| {
        f.starts_with("usr/share/big/")
    });
    assert_eq!(owned.len(), 3000);
    assert!(owned.iter().all(|(_, name)| name == "many-big"));
}

/// The SQLite reader against the `sqlite3` shell: every page size, with
/// and without auto-vacuum's pointer-map pages, payloads around each
/// overflow threshold.
#[test]
fn the_sqlite_reader_agrees_with_sqlite3_at_every_page_size() {
    need("sqlite3");
    let dir = tempfile::tempdir().unwrap();
    for (page_size, vacuum) in [(512, 0), (1024, 1), (4096, 0), (65536, 1)] {
        let usable: usize = page_size;
        let x = usable - 35;
        let m = (usable - 12) * 32 / 255 - 23;
        // Record sizes P around X, and where K = M + (P - M) % (U - 4) is
        // X, X + 1 or M; each row's record is its BLOB, a NULL for the
        // rowid alias and a header of 3 to 5 bytes.
        let record = |n: usize| {
            let serial = 2 * n + 12;
            let varint = if serial < 1 << 7 {
                1
            } else if serial < 1 << 14 {
                2
            } else {
                3
            };
            2 + varint + n
        };
        let blob_for = |p: usize| (p.saturating_sub(5)..p).find(|&n| record(n) == p).unwrap();
        let mut sizes: Vec<usize> = [
            x - 1,
            x,
            x + 1,
            x + usable - 4,
            x + usable - 3,
            m + usable - 4,
            m + 2 * (usable - 4),
        ]
        .into_iter()
        .map(blob_for)
        .collect();
        sizes.extend([0, 1, 100]);
        sizes.extend((1..40).map(|i| i * 97 + (i % 3) * usable));
        let blob = |n: usize, i: usize| -> Vec<u8> { (0..n).map(|j| (j * 31 + i) as u8).collect() };
        let mut sql = format!(
            "PRAGMA page_size={page_size};PRAGMA auto_vacuum={vacuum};\
             CREATE TABLE other (a TEXT);INSERT INTO other VALUES ('x');\
             CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);\
             CREATE INDEX pidx ON Packages(blob);BEGIN;"
        );
        for (i, n) in sizes.iter().enumerate() {
            let hex: String = blob(*n, i).iter().map(|b| format!("{b:02x}")).collect();
            sql.push_str(&format!("INSERT INTO Packages (blob) VALUES (X'{hex}');"));
        }
        sql.push_str("COMMIT;");
        let path = dir.path().join(format!("t{page_size}.sqlite"));
        let mut child = Command::new("sqlite3")
            .arg(&path)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), sql.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success());
        let bytes = std::fs::read(&path).unwrap();
        let rows = sqlite::table_blobs(&bytes, "packages", 1, 1000).unwrap();
        assert_eq!(rows.len(), sizes.len(), "page size {page_size}");
        for (i, (row, n)) in rows.iter().zip(&sizes).enumerate() {
            assert_eq!(row.rowid, i as i64 + 1);
            assert!(
                row.blob[..] == blob(*n, i)[..],
                "page size {page_size}, row {i}, {n} bytes"
            );
        }
        assert_eq!(
            sqlite::table_blobs(&bytes, "Packages", 1, 3),
            Err(SqliteError::TooManyRows(3))
        );
        assert_eq!(
            sqlite::table_blobs(&bytes, "Missing", 1, 3),
            Err(SqliteError::NoTable("Missing".into()))
        );
        // Column 0 is the rowid alias, stored as NULL.
        assert!(matches!(
            sqlite::table_blobs(&bytes, "Packages", 0, 1000),
            Err(SqliteError::NotBlob {
                rowid: 1,
                column: 0
            })
        ));
    }
}

/// Truncated and corrupted databases are refused with the file named, or
/// read in part; nothing panics and nothing loops.
#[test]
fn truncated_and_corrupt_databases_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let rpms = build(dir.path(), &two_packages());
    let (db, _) = install(dir.path(), &rpms);
    let path = "/var/lib/rpm/rpmdb.sqlite";
    let invalid = |bytes: &[u8]| {
        let mut warnings = Vec::new();
        match rpm::Rpm.read(path, bytes, None, &mut warnings) {
            Err(CatalogError::Invalid { path: p, reason }) => {
                assert_eq!(p, path);
                reason
            }
            other => panic!("{other:?}"),
        }
    };
    assert!(invalid(b"").contains("not an rpm database"));
    assert!(invalid(&db[..50]).contains("not an SQLite 3 database"));
    // Cut anywhere: shorter than its header says.
    for cut in (100..db.len()).step_by(4093).chain([db.len() - 1]) {
        let reason = invalid(&db[..cut]);
        assert!(reason.contains("truncated"), "{cut}: {reason}");
    }
    // Every byte of the first pages flipped in turn: an error or a
    // listing, never a panic.
    let mut listed = 0;
    for at in (0..db.len().min(16 * 4096)).step_by(7) {
        let mut bad = db.clone();
        bad[at] ^= 0xff;
        let mut warnings = Vec::new();
        if rpm::Rpm.read(path, &bad, None, &mut warnings).is_ok() {
            listed += 1;
        }
    }
    assert!(listed > 0);
    // A page that points back at itself.
    let mut looped = db.clone();
    let root = sqlite::table_blobs(&db, "Packages", 1, 10)
        .map(|r| r.len())
        .unwrap();
    assert_eq!(root, 2);
    // Page 1 becomes an interior page whose only child is page 1.
    looped[100] = 0x05;
    looped[103..105].copy_from_slice(&0u16.to_be_bytes());
    looped[108..112].copy_from_slice(&1u32.to_be_bytes());
    assert!(invalid(&looped).contains("reached twice"));
}

/// A header that does not parse is a warning naming the file and row; the
/// other packages are kept.
#[test]
fn a_bad_header_is_a_warning_and_the_rest_is_listed() {
    need("sqlite3");
    let dir = tempfile::tempdir().unwrap();
    let rpms = build(dir.path(), &two_packages());
    let (db, _) = install(dir.path(), &rpms);
    let copy = dir.path().join("copy.sqlite");
    std::fs::write(&copy, &db).unwrap();
    run(Command::new("sqlite3")
        .arg(&copy)
        .arg("UPDATE Packages SET blob = X'0000000100000010' WHERE hnum = 1;"));
    let bytes = std::fs::read(&copy).unwrap();
    let mut warnings = Vec::new();
    let packages = rpm::Rpm
        .read("/var/lib/rpm/rpmdb.sqlite", &bytes, None, &mut warnings)
        .unwrap();
    assert_eq!(packages.len(), 1);
    assert!(matches!(
        &warnings[..],
        [CatalogError::Invalid { path, reason }]
            if path == "/var/lib/rpm/rpmdb.sqlite" && reason.starts_with("row 1: header of 8 bytes")
    ));
}

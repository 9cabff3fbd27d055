//! Secrets over real layer streams: each credential file kind, private
//! keys in files a later layer deletes, masking, placeholders, the files
//! skipped (binary, large, NUL), hostile input, and the image config.
//!
//! No secret-shaped literal is written here: each fake secret is built at
//! run time from a seeded generator and its issuer's prefix, so that push
//! protection and secret scanners have nothing to flag in the repository.
#![allow(clippy::unwrap_used)]

#[path = "support/fake_secret.rs"]
mod fake_secret;
mod support;

use clearance_oci::layer::{LayerLimits, read_layer};
use clearance_scan::advisory::Severity;
use clearance_scan::layer_scan::LayerScan;
use clearance_scan::secrets::SecretsReport;
use clearance_scan::secrets::{
    HistoryLine, LayerSecrets, MAX_FINDINGS_PER_LAYER, SecretFinding, SecretScanner,
    env_var_is_secret, mark_deleted, scan_config, scan_text,
};
use support::{Entry, layer};

use fake_secret::{ALNUM, BASE32, BASE64, HEX, github_pat, npm_token, random};

fn aws_key_id(seed: u64) -> String {
    ["AKIA", &random(seed, 16, BASE32)].concat()
}
fn aws_secret(seed: u64) -> String {
    random(seed, 40, BASE64)
}
fn gitlab_pat(seed: u64) -> String {
    ["glpat", "-", &random(seed, 20, ALNUM)].concat()
}
fn pypi_token(seed: u64) -> String {
    ["pypi-AgEIcHlwaS5vcmc", &random(seed, 80, ALNUM)].concat()
}
fn dockerhub_pat(seed: u64) -> String {
    ["dckr", "_pat_", &random(seed, 27, ALNUM)].concat()
}
fn slack_bot(seed: u64) -> String {
    [
        "xox",
        "b-",
        &random(seed, 12, b"0123456789"),
        "-",
        &random(seed + 1, 12, b"0123456789"),
        "-",
        &random(seed + 2, 24, ALNUM),
    ]
    .concat()
}
fn slack_webhook(seed: u64) -> String {
    [
        "https://hooks.",
        "slack.com/services/T",
        &random(seed, 10, ALNUM),
        "/B",
        &random(seed + 1, 10, ALNUM),
        "/",
        &random(seed + 2, 24, ALNUM),
    ]
    .concat()
}
fn stripe_key(seed: u64) -> String {
    ["sk", "_live_", &random(seed, 24, ALNUM)].concat()
}
fn jwt(seed: u64) -> String {
    [
        "eyJ",
        &random(seed, 30, ALNUM),
        ".eyJ",
        &random(seed + 1, 40, ALNUM),
        ".",
        &random(seed + 2, 43, ALNUM),
    ]
    .concat()
}
fn azure_storage_key(seed: u64) -> String {
    [&random(seed, 86, BASE64), "=="].concat()
}
fn key_body(seed: u64) -> String {
    (0..6)
        .map(|i| random(seed + i, 64, BASE64))
        .collect::<Vec<_>>()
        .join("\n")
}
fn private_key(seed: u64) -> String {
    [
        "-----BEGIN RSA ",
        "PRIVATE KEY-----\n",
        &key_body(seed),
        "\n-----END RSA ",
        "PRIVATE KEY-----\n",
    ]
    .concat()
}

/// Each layer through the real reader and a scanner of its own.
fn scan_layers(layers: &[Vec<u8>]) -> Vec<LayerSecrets> {
    layers
        .iter()
        .enumerate()
        .map(|(i, tar)| {
            let mut scanner = SecretScanner::new(i);
            read_layer(&tar[..], &LayerLimits::default(), None, &mut scanner).unwrap();
            scanner.finish()
        })
        .collect()
}

/// Every layer's findings, with `deleted_in` filled.
fn findings(layers: &[Vec<u8>]) -> Vec<SecretFinding> {
    let scanned = scan_layers(layers);
    let removals: Vec<_> = scanned.iter().map(|l| l.removals.clone()).collect();
    let all = scanned.into_iter().flat_map(|l| l.findings).collect();
    mark_deleted(all, &removals)
}

/// The same layers as `clearance scan` reads them: one [`LayerScan`] per
/// layer (the removal record made from its listing), gathered by
/// [`SecretsReport::build`], in [`by_place`] order.
fn findings_as_scan_reads_them(layers: &[Vec<u8>]) -> Vec<SecretFinding> {
    let catalogers = std::sync::Arc::new(clearance_scan::catalog::all());
    let scanned = layers
        .iter()
        .enumerate()
        .map(|(i, tar)| {
            let mut scan = LayerScan::new(catalogers.clone());
            read_layer(&tar[..], &LayerLimits::default(), None, &mut scan).unwrap();
            scan.secrets_at(i, clearance_scan::layer_scan::Below::HasFindings)
        })
        .collect();
    by_place(SecretsReport::build(scanned, Vec::new()).findings)
}

/// Findings ordered by layer, path and line.
fn by_place(mut found: Vec<SecretFinding>) -> Vec<SecretFinding> {
    found.sort_by(|a, b| (a.layer, &a.path, a.line).cmp(&(b.layer, &b.path, b.line)));
    found
}

fn ids(found: &[SecretFinding]) -> Vec<(&str, &str, usize)> {
    found
        .iter()
        .map(|f| (f.rule_id.as_str(), f.path.as_str(), f.line))
        .collect()
}

/// No form of a finding shows the secret, nor more than its first four
/// characters.
fn assert_masked(found: &[SecretFinding], secrets: &[&str]) {
    for f in found {
        let forms = [
            format!("{f:?}"),
            format!("{}", f.masked),
            serde_json::to_string(f).unwrap(),
        ];
        for s in secrets {
            for form in &forms {
                assert!(!form.contains(s), "secret shown in {form}");
                assert!(
                    !form.contains(&s[..s.len().min(8)]),
                    "prefix shown in {form}"
                );
            }
        }
        assert!(f.masked.as_str().ends_with("****"));
        assert!(f.masked.as_str().len() <= 8, "{}", f.masked);
    }
}

#[test]
fn credential_files_of_each_kind_are_found() {
    let npm_legacy = random(11, 32, HEX);
    let pypi = pypi_token(12);
    let pypi_plain = random(13, 14, ALNUM);
    let docker_auth = random(14, 40, BASE64);
    let git_token = random(15, 30, ALNUM);
    let netrc_pw = random(16, 18, ALNUM);
    let env_pw = random(17, 20, ALNUM);
    let key = private_key(18);
    let pem = private_key(19);
    let (aws_id, aws_key) = (aws_key_id(20), aws_secret(21));

    let npmrc = format!(
        "registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={npm_legacy}\n"
    );
    let pypirc = format!(
        "[distutils]\nindex-servers = pypi private\n\n[pypi]\nusername = __token__\npassword = {pypi}\n\n[private]\nusername = ci\npassword: {pypi_plain}\n"
    );
    let docker = format!(
        "{{\n  \"auths\": {{\n    \"registry.example.com\": {{\n      \"auth\": \"{docker_auth}\"\n    }}\n  }}\n}}\n"
    );
    let git = format!("https://ci-bot:{git_token}@git.example.com\n");
    let netrc = format!("machine api.example.com\n  login deploy\n  password {netrc_pw}\n");
    let env = format!("APP_NAME=shop\nDB_PASSWORD={env_pw}\nDEBUG=false\n");
    let aws =
        format!("[default]\naws_access_key_id = {aws_id}\naws_secret_access_key = {aws_key}\n");

    let layers = [layer(&[
        Entry::Dir("root/"),
        Entry::File("root/.npmrc", npmrc.as_bytes()),
        Entry::File("root/.pypirc", pypirc.as_bytes()),
        Entry::File("root/.docker/config.json", docker.as_bytes()),
        Entry::File("root/.git-credentials", git.as_bytes()),
        Entry::File("root/.netrc", netrc.as_bytes()),
        Entry::File("app/.env", env.as_bytes()),
        Entry::File("root/.ssh/id_rsa", key.as_bytes()),
        Entry::File("etc/ssl/private/server.pem", pem.as_bytes()),
        Entry::File("root/.aws/credentials", aws.as_bytes()),
    ])];
    let found = findings(&layers);
    assert_eq!(
        ids(&found),
        [
            ("npmrc-auth-token", "/root/.npmrc", 2),
            ("pypi-upload-token", "/root/.pypirc", 6),
            ("pypirc-password", "/root/.pypirc", 10),
            ("docker-config-auth", "/root/.docker/config.json", 4),
            ("git-credentials", "/root/.git-credentials", 1),
            ("netrc-password", "/root/.netrc", 3),
            ("dotenv-secret", "/app/.env", 2),
            ("private-key", "/root/.ssh/id_rsa", 1),
            ("private-key", "/etc/ssl/private/server.pem", 1),
            ("aws-access-key-id", "/root/.aws/credentials", 2),
            ("aws-secret-access-key", "/root/.aws/credentials", 3),
        ]
    );
    assert!(found.iter().all(|f| f.layer == 0 && f.deleted_in.is_none()));
    let severity = |id: &str| found.iter().find(|f| f.rule_id == id).unwrap().severity;
    assert_eq!(severity("aws-secret-access-key"), Severity::Critical);
    assert_eq!(severity("private-key"), Severity::High);
    assert_masked(
        &found,
        &[
            &npm_legacy,
            &pypi,
            &pypi_plain,
            &docker_auth,
            &git_token,
            &netrc_pw,
            &env_pw,
            &key_body(18),
            &key_body(19),
            &aws_id,
            &aws_key,
        ],
    );
    // A private key is shown from its body, not its BEGIN line.
    let id_rsa = found
        .iter()
        .find(|f| f.path == "/root/.ssh/id_rsa")
        .unwrap();
    assert_eq!(
        id_rsa.masked.as_str(),
        format!("{}****", &key_body(18)[..4])
    );
}

#[test]
fn tokens_of_each_issuer_are_found() {
    let tokens = [
        ("github-pat", github_pat(1)),
        ("gitlab-pat", gitlab_pat(2)),
        ("npm-access-token", npm_token(3)),
        ("dockerhub-pat", dockerhub_pat(4)),
        ("slack-bot-token", slack_bot(5)),
        ("slack-webhook-url", slack_webhook(6)),
        ("stripe-access-token", stripe_key(7)),
        ("jwt", jwt(8)),
    ];
    let mut text = String::from("# deploy settings\n");
    for (i, (_, token)) in tokens.iter().enumerate() {
        text.push_str(&format!("setting_{i}: \"{token}\"\n"));
    }
    let azure = format!(
        "DefaultEndpointsProtocol=https;AccountName=shop;AccountKey={};EndpointSuffix=core.windows.net\n",
        azure_storage_key(9)
    );
    let sa_key = key_body(10).replace('\n', "\\n");
    let gcp = format!(
        "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"shop\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{sa_key}\\n-----END PRIVATE KEY-----\\n\",\n  \"client_email\": \"ci@shop.iam.gserviceaccount.com\"\n}}\n"
    );
    let layers = [layer(&[
        Entry::File("app/config.yaml", text.as_bytes()),
        Entry::File("app/azure.conn", azure.as_bytes()),
        Entry::File("app/sa.json", gcp.as_bytes()),
    ])];
    let found = findings(&layers);
    let mut expected: Vec<(&str, &str, usize)> = tokens
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, "/app/config.yaml", i + 2))
        .collect();
    expected.push(("azure-storage-account-key", "/app/azure.conn", 1));
    // One finding for the key: the service-account rule, not also the
    // private-key rule on the same bytes.
    expected.push(("gcp-service-account-key", "/app/sa.json", 4));
    assert_eq!(ids(&found), expected);
    let secrets: Vec<&str> = tokens.iter().map(|(_, t)| t.as_str()).collect();
    assert_masked(&found, &secrets);
}

#[test]
fn generic_assignments_need_a_high_entropy_value() {
    let api_key = random(30, 32, ALNUM);
    let password = [&random(31, 12, ALNUM), "!", &random(32, 4, ALNUM)].concat();
    let text = format!(
        "api_key = \"{api_key}\"\ndb_password = \"{password}\"\npassword = \"aaaaaaaaaaaa\"\ntoken = get_token()\nsecret_name = \"production-db\"\n"
    );
    let found = scan_text("/app/settings.py", text.as_bytes());
    let rules: Vec<_> = found.iter().map(|f| (f.rule.id, f.line)).collect();
    assert_eq!(rules, [("generic-api-key", 1), ("generic-password", 2)]);
}

#[test]
fn placeholders_are_not_reported() {
    let example = ["AKIA", "IOSFODNN7", "EXAMPLE"].concat();
    let env = format!(
        "API_KEY=changeme\nNPM_TOKEN=${{NPM_TOKEN}}\nDB_PASSWORD=<password>\nGITHUB_TOKEN=xxxxxxxxxxxxxxxx\nAWS_ACCESS_KEY_ID={example}\nSECRET_KEY=$SECRET_KEY\nAPI_TOKEN=your_token_here\n"
    );
    let npmrc = "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n";
    let layers = [layer(&[
        Entry::File("app/.env", env.as_bytes()),
        Entry::File("app/.npmrc", npmrc.as_bytes()),
        Entry::File(
            "app/README.txt",
            format!("export AWS_ACCESS_KEY_ID={example}\n").as_bytes(),
        ),
    ])];
    assert_eq!(ids(&findings(&layers)), []);
}

#[test]
fn a_private_key_a_later_layer_deletes_is_reported_with_the_deleting_layer() {
    let key = private_key(40);
    let kept = private_key(41);
    let token = github_pat(42);
    let layers = [
        layer(&[
            Entry::File("root/.ssh/id_rsa", key.as_bytes()),
            Entry::File("root/.ssh/deploy_key", kept.as_bytes()),
            Entry::File(
                "build/.git-credentials",
                format!("https://x:{token}@github.com\n").as_bytes(),
            ),
        ]),
        layer(&[Entry::File("root/.ssh/.wh.id_rsa", b"")]),
        // An opaque whiteout empties `build/` of what layer 0 put there.
        layer(&[Entry::Dir("build/"), Entry::File("build/.wh..wh..opq", b"")]),
    ];
    let found = findings(&layers);
    let deleted: Vec<_> = found
        .iter()
        .map(|f| (f.path.as_str(), f.layer, f.deleted_in))
        .collect();
    assert_eq!(
        deleted,
        [
            ("/root/.ssh/id_rsa", 0, Some(1)),
            ("/root/.ssh/deploy_key", 0, None),
            ("/build/.git-credentials", 0, Some(2)),
        ]
    );
    assert_masked(&found, &[&key_body(40), &key_body(41), &token]);
    // `clearance scan` reads the layers through LayerScan, whose removal
    // record comes from its listing: the same answer.
    assert_eq!(findings_as_scan_reads_them(&layers), by_place(found));
}

/// A hard link keeps a file's content when a later layer deletes the file
/// by its first name: the secret is still in the running image, at the
/// link's path (break-it: it was reported only as deleted).
#[test]
fn a_hard_link_keeps_a_secret_its_first_name_lost() {
    let token = github_pat(70);
    let layers = [
        layer(&[
            Entry::File("app/orig.txt", format!("token: {token}\n").as_bytes()),
            Entry::Hardlink("app/hardlink.txt", "app/orig.txt"),
        ]),
        layer(&[Entry::File("app/.wh.orig.txt", b"")]),
    ];
    let found = by_place(findings(&layers));
    let places: Vec<_> = found
        .iter()
        .map(|f| (f.path.as_str(), f.line, f.deleted_in))
        .collect();
    assert_eq!(
        places,
        [
            ("/app/hardlink.txt", 1, None),
            ("/app/orig.txt", 1, Some(1))
        ]
    );
    assert_eq!(findings_as_scan_reads_them(&layers), found);
}

#[test]
fn a_file_a_later_layer_rewrites_or_buries_counts_as_replaced() {
    let token = npm_token(50);
    let other = npm_token(51);
    let layers = [
        layer(&[
            Entry::File(
                "app/.npmrc",
                format!("//r/:_authToken={token}\n").as_bytes(),
            ),
            Entry::File("srv/conf/.env", format!("API_TOKEN={other}\n").as_bytes()),
        ]),
        layer(&[Entry::File(
            "app/.npmrc",
            b"registry=https://registry.npmjs.org/\n",
        )]),
        // A file where layer 0 had the directory `srv/conf`.
        layer(&[Entry::File("srv/conf", b"not a directory any more\n")]),
    ];
    let found = findings(&layers);
    let deleted: Vec<_> = found
        .iter()
        .map(|f| (f.path.as_str(), f.deleted_in))
        .collect();
    assert_eq!(
        deleted,
        [("/app/.npmrc", Some(1)), ("/srv/conf/.env", Some(2))]
    );
    assert_eq!(findings_as_scan_reads_them(&layers), by_place(found));
}

#[test]
fn skipped_files_binary_large_and_nul() {
    let token = github_pat(60);
    let line = format!("token: {token}\n");
    let mut large = line.clone().into_bytes();
    large.resize(2 << 20, b'\n');
    let mut nul = b"header\0".to_vec();
    nul.extend_from_slice(line.as_bytes());
    let layers = [layer(&[
        Entry::File("app/logo.png", line.as_bytes()),
        Entry::File("app/dump.sql", &large),
        Entry::File("app/blob", &nul),
        Entry::File("usr/share/doc/tool/README", line.as_bytes()),
        Entry::File(
            "usr/lib/python3/dist-packages/lib/tests/conf.py",
            line.as_bytes(),
        ),
        Entry::File("app/scanned.txt", line.as_bytes()),
    ])];
    let scanned = scan_layers(&layers);
    assert_eq!(
        ids(&scanned[0].findings),
        [("github-pat", "/app/scanned.txt", 1)]
    );
    let stats = &scanned[0].stats;
    assert_eq!(
        (
            stats.skipped_path,
            stats.skipped_large,
            stats.skipped_binary,
            stats.files_scanned
        ),
        (3, 1, 1, 1)
    );
}

#[test]
fn findings_past_the_layer_cap_are_counted_not_kept() {
    let file = |seed: u64| -> Vec<u8> {
        (0..400)
            .map(|i| format!("key{i} = {}\n", aws_key_id(seed * 1000 + i)))
            .collect::<String>()
            .into_bytes()
    };
    let (a, b, c) = (file(1), file(2), file(3));
    let layers = [layer(&[
        Entry::File("a.txt", &a),
        Entry::File("b.txt", &b),
        Entry::File("c.txt", &c),
    ])];
    let in_files: usize = [&a, &b, &c]
        .iter()
        .map(|f| scan_text("/a.txt", f).len())
        .sum();
    assert!(in_files > 1_150, "{in_files}");
    let scanned = scan_layers(&layers);
    assert_eq!(scanned[0].findings.len(), MAX_FINDINGS_PER_LAYER);
    assert_eq!(
        scanned[0].stats.findings_dropped as usize,
        in_files - MAX_FINDINGS_PER_LAYER
    );
}

#[test]
fn hostile_text_completes() {
    let mib = 1 << 20;
    let repeat = |unit: &str| unit.repeat(mib / unit.len()).into_bytes();
    let hostile = [
        vec![b'a'; mib],
        repeat("key="),
        repeat("password: "),
        repeat("eyJ"),
        repeat("eyJaaaaaaaaaaaaaaaaaaaaa.eyJ"),
        repeat("-----BEGIN PRIVATE KEY-----"),
        repeat("xoxb-1234567890-"),
        repeat("https://a:"),
        repeat("a://b:c@"),
        repeat("AKIA"),
        repeat("\"private_key\": \"-----BEGIN PRIVATE KEY-----service_account"),
        repeat("api_key=aB3dE5gH7jK9mN1pQ3sT "),
    ];
    for text in &hostile {
        for path in [
            "/app/x.txt",
            "/root/.npmrc",
            "/app/.env",
            "/root/.netrc",
            "/root/.docker/config.json",
        ] {
            let found = scan_text(path, text);
            assert!(found.len() <= 1_000);
        }
    }
}

#[test]
fn config_env_and_history_secrets() {
    let npm = random(70, 36, ALNUM);
    let db = random(71, 16, ALNUM);
    let hook = slack_webhook(72);
    let arg_pw = random(73, 16, ALNUM);
    let env = vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin".to_owned(),
        format!("DB_PASSWORD={db}"),
        format!("ALERTS={hook}"),
        "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D".to_owned(),
        "NPM_TOKEN=${NPM_TOKEN}".to_owned(),
    ];
    let env_line = format!("ENV DB_PASSWORD={db}");
    let run_line = format!("RUN |1 NPM_TOKEN={npm} /bin/sh -c npm ci # buildkit");
    let arg_line = format!("ARG ADMIN_PASSWORD={arg_pw}");
    let history = [
        HistoryLine {
            created_by: "/bin/sh -c #(nop) ADD file:0123 in / ",
            empty_layer: false,
        },
        HistoryLine {
            created_by: &env_line,
            empty_layer: true,
        },
        HistoryLine {
            created_by: &arg_line,
            empty_layer: true,
        },
        HistoryLine {
            created_by: &run_line,
            empty_layer: false,
        },
        HistoryLine {
            created_by: "CMD [\"node\", \"server.js\"]",
            empty_layer: true,
        },
    ];
    let found = scan_config(&env, &history);
    let got: Vec<_> = found
        .iter()
        .map(|f| (f.rule_id.as_str(), f.path.as_str(), f.layer))
        .collect();
    assert_eq!(
        got,
        [
            ("env-secret", "config:Env", 1),
            ("slack-webhook-url", "config:Env", 1),
            ("env-secret", "config:history[1]", 1),
            ("build-arg-secret", "config:history[2]", 1),
            ("build-arg-secret", "config:history[3]", 1),
        ]
    );
    assert_masked(&found, &[&npm, &db, &hook, &arg_pw]);
}

/// `env_var_is_secret`, the detector for masking `ENV` values: by name,
/// and by shape under any name (a Slack webhook, a JSON Web Token, an npm
/// token), which a list of names and prefixes misses.
#[test]
fn env_values_are_secret_by_name_or_by_shape() {
    let secret = [
        ("DB_PASSWORD", random(80, 16, ALNUM)),
        ("ALERTS", slack_webhook(81)),
        ("SESSION_COOKIE", jwt(82)),
        ("REGISTRY", npm_token(83)),
        (
            "STORAGE",
            format!("AccountName=x;AccountKey={}", azure_storage_key(84)),
        ),
        ("PUSH", dockerhub_pat(85)),
    ];
    for (name, value) in &secret {
        assert!(env_var_is_secret(name, value), "{name}");
    }
    let plain = [
        ("PATH", "/usr/local/bin:/usr/bin"),
        ("GPG_KEY", "A035C8C19219BA821ECEA86B64E628F8D684696D"),
        ("NPM_TOKEN", "${NPM_TOKEN}"),
        ("LANG", "C.UTF-8"),
        (
            "PYTHON_SHA256",
            "8fb5f9fbc7609fa822cb31549884575db7fd9657cbffb89510b5d7975963a83a",
        ),
    ];
    for (name, value) in plain {
        assert!(!env_var_is_secret(name, value), "{name}");
    }
}

mod properties {
    use clearance_scan::secrets::{MAX_FINDINGS_PER_TEXT, scan_text};
    use proptest::prelude::*;

    /// Words the rules look for, and the punctuation around them.
    const PIECES: &[&str] = &[
        "api_key",
        "password",
        "passwd",
        "token",
        "secret",
        "credentials",
        "=",
        ": ",
        ":",
        "\"",
        "'",
        "\n",
        " ",
        ",",
        "://",
        "@",
        "AKIA",
        "eyJ",
        ".",
        "-----BEGIN PRIVATE KEY-----",
        "-----END PRIVATE KEY-----",
        "xoxb-",
        "hooks.slack.com/services/",
        "_authToken=",
        "machine",
        "login",
        "auths",
        "\"auth\": ",
        "{",
        "}",
        "\\n",
        "?sv=",
        "&sig=",
        "service_account",
        "\"private_key\": ",
        "export ",
        "AccountKey=",
        "${",
        "$(",
        "ghp_",
        "npm_",
        "glpat-",
        "dckr_pat_",
        "sk_live_",
        "pypi-AgEIcHlwaS5vcmc",
        "\0",
    ];
    const PATHS: &[&str] = &[
        "/app/settings.py",
        "/root/.npmrc",
        "/root/.pypirc",
        "/root/.docker/config.json",
        "/root/.git-credentials",
        "/root/.netrc",
        "/app/.env",
        "/usr/lib/python3/dist-packages/x/conf.py",
    ];

    fn text() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                proptest::sample::select(PIECES).prop_map(|s| s.as_bytes().to_vec()),
                "[A-Za-z0-9+/=_.-]{1,48}".prop_map(String::into_bytes),
                proptest::collection::vec(any::<u8>(), 0..8),
            ],
            0..48,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Any text: no panic, the cap kept, every mask at most four
        /// characters then `****`, every line within the text.
        #[test]
        fn any_text_scans_within_bounds(
            text in text(),
            path in proptest::sample::select(PATHS),
        ) {
            let found = scan_text(path, &text);
            prop_assert!(found.len() <= MAX_FINDINGS_PER_TEXT);
            let lines = text.iter().filter(|b| **b == b'\n').count() + 1;
            for f in &found {
                let m = f.masked.as_str();
                prop_assert!(m.ends_with("****") && m.len() <= 8, "{m:?}");
                prop_assert!(f.line >= 1 && f.line <= lines);
            }
        }

        /// A token set apart by spaces is found whatever surrounds it, and
        /// no finding shows it.
        #[test]
        fn a_planted_token_is_found_and_masked(
            before in text(),
            after in text(),
            body in "[A-WYZa-wyz0-9]{36}",
        ) {
            let token = ["ghp", "_", &body].concat();
            let mut text = before;
            text.extend_from_slice(format!(" {token} ").as_bytes());
            text.extend_from_slice(&after);
            let found = scan_text("/app/x.txt", &text);
            prop_assert!(
                found.iter().any(|f| f.rule.id == "github-pat" && f.masked.as_str() == "ghp_****"),
                "{found:?}"
            );
            for f in &found {
                let shown = format!("{f:?}");
                prop_assert!(!shown.contains(&token), "{}", shown);
            }
        }
    }
}

/// Found by review: registries were looked up in the order serde_json
/// sorts them, each searched for after the last, so a registry listed
/// before one that sorts ahead of it was missed.
#[test]
fn docker_config_registries_out_of_key_order_are_all_found() {
    let (z, a) = (random(100, 40, BASE64), random(101, 40, BASE64));
    let config = format!(
        "{{\"auths\": {{\n\"z.example\": {{\"auth\": \"{z}\"}},\n\"a.example\": {{\"auth\": \"{a}\"}}\n}}}}\n"
    );
    let found = scan_text("/root/.docker/config.json", config.as_bytes());
    let lines: Vec<_> = found.iter().map(|f| (f.rule.id, f.line)).collect();
    assert_eq!(
        lines,
        [("docker-config-auth", 2), ("docker-config-auth", 3)]
    );
}

/// Found by the `secrets` fuzz target: `scan_config` looked up each `Env`
/// entry's `ENV` line by parsing every history line again, quadratic in a
/// config of thousands of entries (a fuzz input of 11,000 lines took
/// seconds). 20,000 of each would take minutes that way.
#[test]
fn f1_many_env_entries_and_history_lines_scan_in_linear_time() {
    let env: Vec<String> = (0..20_000).map(|i| format!("VAR_{i}=value{i}")).collect();
    let lines: Vec<String> = (0..20_000)
        .map(|i| format!("ENV VAR_{i}=value{i}"))
        .collect();
    let history: Vec<HistoryLine<'_>> = lines
        .iter()
        .map(|l| HistoryLine {
            created_by: l,
            empty_layer: false,
        })
        .collect();
    assert!(scan_config(&env, &history).is_empty());
}

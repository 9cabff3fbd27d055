//! The rules: what each kind of secret looks like.
//!
//! Most patterns are adapted from gitleaks' `config/gitleaks.toml`
//! (gitleaks v8, snapshot of 2026-07-22, commit `b58d3f10`): the regex,
//! the keywords that must appear before it runs, and the entropy floor.
//! Where a rule was changed (a pattern narrowed, an unbounded repetition
//! bounded, a keyword made rarer) the rule says so. Rules marked "ours"
//! are not in gitleaks. `docs/secrets.md` lists them all.
//!
//! NOTICE. The gitleaks rules are used under this licence:
//!
//! ```text
//! MIT License
//!
//! Copyright (c) 2019 Zachary Rice
//!
//! Permission is hereby granted, free of charge, to any person obtaining a copy
//! of this software and associated documentation files (the "Software"), to deal
//! in the Software without restriction, including without limitation the rights
//! to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
//! copies of the Software, and to permit persons to whom the Software is
//! furnished to do so, subject to the following conditions:
//!
//! The above copyright notice and this permission notice shall be included in all
//! copies or substantial portions of the Software.
//!
//! THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
//! IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
//! FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
//! AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
//! LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
//! OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
//! SOFTWARE.
//! ```

use crate::advisory::Severity;

/// What a finding of a rule is called and how bad it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    /// Stable identifier (`aws-access-key-id`); gitleaks' where the rule
    /// comes from there, unless noted.
    pub id: &'static str,
    /// One line for a person.
    pub title: &'static str,
    /// How bad a leak of this kind is.
    pub severity: Severity,
    /// When two findings cover the same bytes, the lower number is kept:
    /// 0 a token whose format names its issuer, 1 a credential file's
    /// field or a cloud key in context, 2 a private key or a URL's
    /// password, 3 the generic assignments.
    pub priority: u8,
}

/// A pattern rule, run over whole files (and config lines).
#[derive(Debug)]
pub(super) struct RegexRule {
    pub info: RuleInfo,
    /// Compiled with `unicode(false)`: `\w`, `\d`, `\s`, `\b` and `(?i)`
    /// are ASCII-only, as in Go's RE2 that gitleaks uses.
    pub regex: &'static str,
    /// Lower-case words, one of which must occur in the text (any case)
    /// before the regex runs.
    pub keywords: &'static [&'static str],
    /// A lower-case word that must also occur somewhere in the text.
    pub requires: Option<&'static str>,
    /// Which capture group is the secret: 0 for the first non-empty group
    /// (or the whole match when the regex has none), as gitleaks does.
    pub secret_group: usize,
    /// Shannon entropy (bits per byte) the secret must exceed.
    pub entropy: Option<f64>,
    /// Regexes that, matching the secret, make it not a finding.
    pub allow_secret: &'static [&'static str],
    /// Regexes that, matching the whole match, make it not a finding.
    pub allow_match: &'static [&'static str],
    /// Whether gitleaks' generic stopwords apply to the secret.
    pub stopwords: bool,
    /// Whether the rule is skipped in package trees (third-party and
    /// language library code, see `scanner::in_package_tree`): the generic
    /// rules, whose findings there are examples and defaults.
    pub generic: bool,
    /// Whether the match, for `allow_match`, starts up to 50 name bytes
    /// (`[\w.-]`) before where the regex matched: gitleaks' generic rule
    /// opens with `[\w.-]{0,50}?`, kept out of the regex (see there).
    pub name_before: bool,
}

const fn info(id: &'static str, title: &'static str, severity: Severity, priority: u8) -> RuleInfo {
    RuleInfo {
        id,
        title,
        severity,
        priority,
    }
}

const fn rule(info: RuleInfo, regex: &'static str, keywords: &'static [&'static str]) -> RegexRule {
    RegexRule {
        info,
        regex,
        keywords,
        requires: None,
        secret_group: 0,
        entropy: None,
        allow_secret: &[],
        allow_match: &[],
        stopwords: false,
        name_before: false,
        generic: false,
    }
}

impl RegexRule {
    const fn entropy(mut self, bits: f64) -> Self {
        self.entropy = Some(bits);
        self
    }
    const fn requires(mut self, word: &'static str) -> Self {
        self.requires = Some(word);
        self
    }
    const fn group(mut self, group: usize) -> Self {
        self.secret_group = group;
        self
    }
    const fn allow_secret(mut self, regexes: &'static [&'static str]) -> Self {
        self.allow_secret = regexes;
        self
    }
    const fn allow_match(mut self, regexes: &'static [&'static str]) -> Self {
        self.allow_match = regexes;
        self
    }
    const fn name_before(mut self) -> Self {
        self.name_before = true;
        self.generic = true;
        self
    }
    const fn generic(mut self) -> Self {
        self.generic = true;
        self
    }
    const fn stopwords(mut self) -> Self {
        self.stopwords = true;
        self
    }
}

use Severity::{Critical, High, Medium};

/// gitleaks' usual tail: the secret ends at a quote, white space, `;`, an
/// escaped newline or the end of the text.
macro_rules! end {
    () => {
        r#"(?:[\x60'"\s;]|\\[nr]|$)"#
    };
}

/// The pattern rules, most specific first.
pub(super) static REGEX_RULES: &[RegexRule] = &[
    // --- cloud ---
    // gitleaks `aws-access-token`, renamed: it matches the key id.
    rule(
        info("aws-access-key-id", "AWS access key ID", High, 0),
        r"\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        &["a3t", "akia", "asia", "abia", "acca"],
    )
    .entropy(3.0)
    .allow_secret(&[r".+EXAMPLE$"]),
    // Ours: the 40-character secret beside its name (`~/.aws/credentials`,
    // environment, `aws sts` JSON output).
    rule(
        info("aws-secret-access-key", "AWS secret access key", Critical, 1),
        r#"(?i)(?:aws)?[_.-]?secret[_.-]?access[_.-]?key["']?[ \t]{0,3}(?:=|:|=>|:=)[ \t]{0,3}["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        &[
            "secret_access_key",
            "secretaccesskey",
            "secret-access-key",
            "secret.access.key",
        ],
    )
    .entropy(3.5),
    // Ours: a service-account key file (`"type": "service_account"`).
    rule(
        info(
            "gcp-service-account-key",
            "Google Cloud service account key",
            Critical,
            1,
        ),
        r#""private_key"[ \t]{0,10}:[ \t]{0,10}"(-----BEGIN[ A-Z]{0,40}PRIVATE KEY-----[A-Za-z0-9+/=\\ ]{64,}?-----END[ A-Z]{0,40}PRIVATE KEY-----)"#,
        &["\"private_key\""],
    )
    .requires("service_account"),
    rule(
        info("gcp-api-key", "Google Cloud API key", Medium, 0),
        concat!(r"\b(AIza[\w-]{35})", end!()),
        &["aiza"],
    )
    .entropy(4.0),
    // Ours: a storage account key in a connection string or settings.
    rule(
        info(
            "azure-storage-account-key",
            "Azure storage account key",
            Critical,
            1,
        ),
        r#"(?i)\bAccountKey["']?[ \t]{0,3}(?:=|:)[ \t]{0,3}["']?([A-Za-z0-9+/]{86}==)"#,
        &["accountkey"],
    )
    .entropy(4.0)
    // The storage emulator's well-known key, published by Microsoft.
    .allow_secret(&[r"^Eby8vdM02xNOcqFl"]),
    // Ours: the signature of a shared access signature URL.
    rule(
        info(
            "azure-sas-token",
            "Azure shared access signature",
            High,
            1,
        ),
        r"(?i)[?&]sig=([A-Za-z0-9%+/=]{43,120})(?:[^A-Za-z0-9%+/=]|$)",
        &["sig="],
    )
    .requires("sv=")
    .entropy(3.5),
    rule(
        info("azure-ad-client-secret", "Azure AD client secret", High, 0),
        r#"(?:^|[\\'"\x60\s>=:(,)])([a-zA-Z0-9_~.]{3}\dQ~[a-zA-Z0-9_~.-]{31,34})(?:$|[\\'"\x60\s<),])"#,
        &["q~"],
    )
    .entropy(3.0),
    // --- source hosting and CI ---
    rule(
        info(
            "github-fine-grained-pat",
            "GitHub fine-grained personal access token",
            High,
            0,
        ),
        r"github_pat_\w{82}",
        &["github_pat_"],
    )
    .entropy(3.0),
    rule(
        info("github-pat", "GitHub personal access token", High, 0),
        r"ghp_[0-9a-zA-Z]{36}",
        &["ghp_"],
    )
    .entropy(3.0),
    rule(
        info("github-oauth", "GitHub OAuth access token", High, 0),
        r"gho_[0-9a-zA-Z]{36}",
        &["gho_"],
    )
    .entropy(3.0),
    rule(
        info("github-app-token", "GitHub App token", High, 0),
        r"(?:ghu|ghs)_[0-9a-zA-Z]{36}",
        &["ghu_", "ghs_"],
    )
    .entropy(3.0),
    rule(
        info("github-refresh-token", "GitHub refresh token", High, 0),
        r"ghr_[0-9a-zA-Z]{36}",
        &["ghr_"],
    )
    .entropy(3.0),
    rule(
        info("gitlab-pat", "GitLab personal access token", High, 0),
        r"glpat-[\w-]{20}",
        &["glpat-"],
    )
    .entropy(3.0),
    rule(
        info("gitlab-ptt", "GitLab pipeline trigger token", High, 0),
        r"glptt-[0-9a-f]{40}",
        &["glptt-"],
    )
    .entropy(3.0),
    rule(
        info(
            "gitlab-runner-authentication-token",
            "GitLab runner authentication token",
            High,
            0,
        ),
        r"glrt-[0-9a-zA-Z_\-]{20}",
        &["glrt-"],
    )
    .entropy(3.0),
    rule(
        info(
            "gitlab-rrt",
            "GitLab runner registration token",
            Medium,
            0,
        ),
        r"GR1348941[\w-]{20}",
        &["gr1348941"],
    )
    .entropy(3.0),
    rule(
        info("gitlab-deploy-token", "GitLab deploy token", High, 0),
        r"gldt-[0-9a-zA-Z_\-]{20}",
        &["gldt-"],
    )
    .entropy(3.0),
    // --- package registries ---
    rule(
        info("npm-access-token", "npm access token", High, 0),
        concat!(r"(?i)\b(npm_[a-z0-9]{36})", end!()),
        &["npm_"],
    )
    .entropy(2.0),
    // gitleaks `pypi-upload-token`.
    rule(
        info("pypi-upload-token", "PyPI upload token", High, 0),
        r"pypi-AgEIcHlwaS5vcmc[\w-]{50,1000}",
        &["pypi-ageichlwas5vcmc"],
    )
    .entropy(3.0),
    // Ours: Docker Hub personal and organisation access tokens.
    rule(
        info(
            "dockerhub-pat",
            "Docker Hub access token",
            High,
            0,
        ),
        r"\b(dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,64})(?:[^A-Za-z0-9_-]|$)",
        &["dckr_pat_", "dckr_oat_"],
    )
    .entropy(3.0),
    // --- chat ---
    // gitleaks `slack-bot-token`; its unbounded tail bounded to 64.
    rule(
        info("slack-bot-token", "Slack bot token", High, 0),
        r"xoxb-[0-9]{10,13}-[0-9]{10,13}[a-zA-Z0-9-]{0,64}",
        &["xoxb"],
    )
    .entropy(3.0),
    rule(
        info("slack-user-token", "Slack user token", High, 0),
        r"xox[pe](?:-[0-9]{10,13}){3}-[a-zA-Z0-9-]{28,34}",
        &["xoxp-", "xoxe-"],
    )
    .entropy(2.0),
    // gitleaks `slack-app-token`; its unbounded parts bounded.
    rule(
        info("slack-app-token", "Slack app-level token", High, 0),
        r"(?i)xapp-\d-[A-Z0-9]{1,32}-\d{1,32}-[a-z0-9]{1,128}",
        &["xapp"],
    )
    .entropy(2.0),
    rule(
        info("slack-legacy-bot-token", "Slack legacy bot token", High, 0),
        r"xoxb-[0-9]{8,14}-[a-zA-Z0-9]{18,26}",
        &["xoxb"],
    )
    .entropy(2.0),
    rule(
        info("slack-webhook-url", "Slack incoming webhook URL", Medium, 0),
        r"(?:https?://)?hooks.slack.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,56}",
        &["hooks.slack.com"],
    ),
    // --- payments, AI and other services ---
    rule(
        info("stripe-access-token", "Stripe secret or restricted key", High, 0),
        concat!(r"\b((?:sk|rk)_(?:test|live|prod)_[a-zA-Z0-9]{10,99})", end!()),
        &["sk_test", "sk_live", "sk_prod", "rk_test", "rk_live", "rk_prod"],
    )
    .entropy(2.0),
    rule(
        info("openai-api-key", "OpenAI API key", High, 0),
        concat!(
            r"\b(sk-(?:proj|svcacct|admin)-(?:[A-Za-z0-9_-]{74}|[A-Za-z0-9_-]{58})T3BlbkFJ(?:[A-Za-z0-9_-]{74}|[A-Za-z0-9_-]{58})\b|sk-[a-zA-Z0-9]{20}T3BlbkFJ[a-zA-Z0-9]{20})",
            end!()
        ),
        &["t3blbkfj"],
    )
    .entropy(3.0),
    rule(
        info("anthropic-api-key", "Anthropic API key", High, 0),
        concat!(r"\b(sk-ant-api03-[a-zA-Z0-9_\-]{93}AA)", end!()),
        &["sk-ant-api03"],
    ),
    rule(
        info("anthropic-admin-api-key", "Anthropic admin API key", High, 0),
        concat!(r"\b(sk-ant-admin01-[a-zA-Z0-9_\-]{93}AA)", end!()),
        &["sk-ant-admin01"],
    ),
    rule(
        info("huggingface-access-token", "Hugging Face access token", Medium, 0),
        concat!(r"\b(hf_(?i:[a-z]{34}))", end!()),
        &["hf_"],
    )
    .entropy(2.0),
    rule(
        info("sendgrid-api-token", "SendGrid API key", Medium, 0),
        concat!(r"\b(SG\.(?i)[a-z0-9=_\-\.]{66})", end!()),
        &["sg."],
    )
    .entropy(2.0),
    rule(
        info("digitalocean-pat", "DigitalOcean personal access token", High, 0),
        concat!(r"\b(dop_v1_[a-f0-9]{64})", end!()),
        &["dop_v1_"],
    )
    .entropy(3.0),
    rule(
        info("hashicorp-tf-api-token", "Terraform Cloud API token", High, 0),
        r"(?i)[a-z0-9]{14}\.(?-i:atlasv1)\.[a-z0-9\-_=]{60,70}",
        &["atlasv1"],
    )
    .entropy(3.5),
    // gitleaks `vault-service-token` without its legacy `s.` form, whose
    // two-letter keyword occurs in nearly every file.
    rule(
        info("vault-service-token", "HashiCorp Vault service token", High, 0),
        concat!(r"\b(hvs\.[\w-]{90,120})", end!()),
        &["hvs."],
    )
    .entropy(3.5),
    // gitleaks `jwt`, narrowed to `eyJ` (base64 of `{"`, how every JSON
    // Web Token header and payload begins) so that its keyword is rarer.
    rule(
        info("jwt", "JSON Web Token", Medium, 0),
        concat!(
            r"\b(eyJ[a-zA-Z0-9]{16,}\.eyJ[a-zA-Z0-9/\\_-]{16,}\.(?:[a-zA-Z0-9/\\_-]{10,}={0,2})?)",
            end!()
        ),
        &["eyj"],
    )
    .entropy(3.0),
    // --- keys and URLs ---
    rule(
        info("private-key", "private key", High, 2),
        r"(?i)-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\s\S-]{64,}?KEY(?: BLOCK)?-----",
        &["-----begin"],
    ),
    // Ours: `scheme://user:password@host`; the password is the secret.
    rule(
        info("url-credentials", "password in a URL", Medium, 2),
        r#"\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://([^\s:/?#@"'<>\x60\\]{1,100}):([^\s/?#@"'<>\x60\\]{3,200})@[a-zA-Z0-9.-]{1,253}"#,
        &["://"],
    )
    .group(2)
    .generic()
    // Ours: most passwords in URLs in code and documentation are examples
    // (`rms:secret123`, `Aladdin:opensesame`), with less entropy than
    // generated ones.
    .entropy(3.0)
    .allow_secret(&[
        r"(?i)^(?:pass(?:word|wd)?|pwd|pw|secret|test|user(?:name)?|changeme|change_me|changeit|x-oauth-basic)$",
        r"^[$%{<*\[]",
    ]),
    // --- generic assignments ---
    // gitleaks `generic-api-key`, with its name list narrowed to names
    // that hold keys, secrets and tokens (not `access`, `auth` or `key`
    // alone), and its allowlists. Its leading `[\w.-]{0,50}?` (the rest of
    // the name, for the match allowlist) is not in the regex: the match is
    // extended back over those bytes before the allowlist runs
    // (`name_before`), which finds the same values and keeps the lazy
    // DFA small; for the same reason the value's `{10,150}` is `{10,}`.
    rule(
        info("generic-api-key", "generic API key or secret", Medium, 3),
        concat!(
            r#"(?i)(?:api[_.-]?key|apikey|(?-i:[Aa]pi|API)[_.-]?(?:secret|token)|secret|token|credential|creds|access[_.-]?key|auth[_.-]?key)(?:[ \t\w.-]{0,20})[\s'"]{0,3}(?:=|>|:{1,3}=|\|\||:|=>|\?=|,)[\x60'"\s=]{0,5}([\w.=-]{10,}|[a-z0-9][a-z0-9+/]{11,}={0,3})"#,
            end!()
        ),
        &["api", "key", "secret", "token", "credential", "creds"],
    )
    .entropy(3.5)
    .stopwords()
    .name_before()
    .allow_secret(GENERIC_ALLOW_SECRET)
    .allow_match(&[GENERIC_ALLOW_MATCH]),
    // Ours, shaped like the rule above: a password assigned a literal.
    rule(
        info("generic-password", "password assigned in a file", Medium, 3),
        concat!(
            r#"(?i)(?:passw(?:or)?d|passphrase)(?:[ \t\w.-]{0,20})[\s'"]{0,3}(?:=|>|:{1,3}=|:|=>|\?=)[\x60'"\s=]{0,5}([\w.=~!@#%^&*+/-]{8,})"#,
            end!()
        ),
        &["passwd", "password", "passphrase"],
    )
    .entropy(3.5)
    .stopwords()
    .name_before()
    .allow_secret(GENERIC_ALLOW_SECRET)
    .allow_match(&[GENERIC_ALLOW_MATCH]),
];

/// Values of the generic rules that are not secrets: gitleaks' words
/// without digits, and (ours) assignments, constants (`MLKEM512_SECRET_KEY_BYTES`) and
/// versions (`passwd 1:4.13+dfsg1-1`, a package list's line).
const GENERIC_ALLOW_SECRET: &[&str] = &[
    r"^[a-zA-Z_.-]+$",
    // an assignment, not a value (`elevate_privileges=True`): base64
    // has `=` only at its end
    r"=[^=]",
    // a private identifier (`_private_key_pkcs12`)
    r"^_",
    r"^[A-Z0-9]+(?:_[A-Z0-9]+)+$",
    r"^v?\d+\.\d+(?:[.+~-][\w.+~-]*)?$",
];

/// gitleaks' `generic-api-key` allowlist on the whole match: names that
/// contain `key`, `token` or `secret` but hold no secret.
const GENERIC_ALLOW_MATCH: &str = r"(?i)(?:access(?:ibility|or)|access[_.-]?id|random[_.-]?access|api[_.-]?(?:id|name|version)|rapid|capital|[a-z0-9-]*?api[a-z0-9-]*?:jar:|author|X-MS-Exchange-Organization-Auth|Authentication-Results|(?:credentials?[_.-]?id|withCredentials)|(?:bucket|foreign|hot|idx|natural|primary|pub(?:lic)?|schema|sequence)[_.-]?key|(?:turkey)|key[_.-]?(?:alias|board|code|frame|id|length|mesh|name|pair|press(?:ed)?|ring|selector|signature|size|stone|storetype|word|up|down|left|right)|key[_.-]?vault[_.-]?(?:id|name)|keyVaultToStoreSecrets|key(?:store|tab)[_.-]?(?:file|path)|issuerkeyhash|(?-i:[DdMm]onkey|[DM]ONKEY)|keying|(?:secret)[_.-]?(?:length|name|size)|UserSecretsId|(?:csrf)[_.-]?token|(?:io\.jsonwebtoken[ \t]?:[ \t]?[\w-]+)|(?:api|credentials|token)[_.-]?(?:endpoint|ur[il])|public[_.-]?token|(?:key|token)[_.-]?file|(?-i:(?:[A-Z_]+=\n[A-Z_]+=|[a-z_]+=\n[a-z_]+=)(?:\n|\z))|(?-i:(?:[A-Z.]+=\n[A-Z.]+=|[a-z.]+=\n[a-z.]+=)(?:\n|\z)))";

// --- rules of credential files and image configuration (ours) ---

/// `_authToken=` in an `.npmrc`.
pub(super) const NPMRC_AUTH_TOKEN: RuleInfo =
    info("npmrc-auth-token", "npm registry token in .npmrc", High, 1);
/// `_auth=` or `_password=` (base64) in an `.npmrc`.
pub(super) const NPMRC_AUTH: RuleInfo =
    info("npmrc-auth", "npm registry password in .npmrc", High, 1);
/// `password =` in a `.pypirc`.
pub(super) const PYPIRC_PASSWORD: RuleInfo = info(
    "pypirc-password",
    "package index password in .pypirc",
    High,
    1,
);
/// `auths.*.auth` (and identity or registry tokens) in a Docker
/// `config.json`.
pub(super) const DOCKER_CONFIG_AUTH: RuleInfo = info(
    "docker-config-auth",
    "registry credentials in Docker config.json",
    High,
    1,
);
/// `https://user:token@host` in a `.git-credentials`.
pub(super) const GIT_CREDENTIALS: RuleInfo =
    info("git-credentials", "password in .git-credentials", High, 1);
/// `password` in a `.netrc`.
pub(super) const NETRC_PASSWORD: RuleInfo = info("netrc-password", "password in .netrc", High, 1);
/// `NAME=value` with a secret's name in a `.env` file.
pub(super) const DOTENV_SECRET: RuleInfo =
    info("dotenv-secret", "secret assigned in a .env file", Medium, 1);
/// An `ENV` value with a secret's name (image config or history).
pub(super) const ENV_SECRET: RuleInfo = info(
    "env-secret",
    "secret in an image environment variable",
    High,
    1,
);
/// A build argument with a secret's name kept in the image history.
pub(super) const BUILD_ARG_SECRET: RuleInfo = info(
    "build-arg-secret",
    "secret build argument kept in image history",
    High,
    1,
);

/// Every rule's description, pattern rules first.
pub fn all_rules() -> impl Iterator<Item = RuleInfo> {
    REGEX_RULES.iter().map(|r| r.info).chain([
        NPMRC_AUTH_TOKEN,
        NPMRC_AUTH,
        PYPIRC_PASSWORD,
        DOCKER_CONFIG_AUTH,
        GIT_CREDENTIALS,
        NETRC_PASSWORD,
        DOTENV_SECRET,
        ENV_SECRET,
        BUILD_ARG_SECRET,
    ])
}

//! Where the metadata database is, and how it is shown: a PostgreSQL URL
//! may carry a password in its user-info (`postgres://app:s3cret@db/trust`)
//! or in its query (`?password=`, `?sslpassword=`), and a password holding a
//! raw `/`, `?`, `#` or `@` makes the URL parse differently from what its
//! writer meant. Whatever reaches a message, a log line or the banner goes
//! through [`redact`], which parses the URL (the `url` crate, as sqlx does)
//! and never prints a part it cannot place.

use std::fmt;
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;
use std::str::FromStr;

use url::Url;

use super::store::StoreError;

/// What [`redact`] shows in place of a secret.
const HIDDEN: &str = "***";

/// Query parameters of a PostgreSQL URL that sqlx reads: anything else is
/// refused (sqlx would log an unknown parameter's value, password or not).
const POSTGRES_PARAMETERS: [&str; 18] = [
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

/// Which database engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Engine {
    Sqlite,
    Postgres,
}

/// A database URL, checked when built: `sqlite://PATH`, `postgres://…` or
/// `postgresql://…`, or a bare path (SQLite). `Display` and `Debug` show it
/// without any password.
#[derive(Clone)]
pub struct DatabaseUrl {
    /// What sqlx connects to (secrets included).
    url: String,
    engine: Engine,
}

impl DatabaseUrl {
    /// Check `text`. Errors name the URL without its password.
    pub fn parse(text: &str) -> Result<DatabaseUrl, StoreError> {
        let refuse = |message: String| StoreError::Open {
            url: redact(text),
            message,
        };
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            let url = Url::parse(text).map_err(|e| {
                refuse(format!(
                    "not a valid URL ({e}); percent-encode / ? # @ in the password (%2F %3F %23 %40)"
                ))
            })?;
            if misplaced_at(&url, false) {
                return Err(refuse(
                    "an '@' after the host: percent-encode / ? # @ in the password (%2F %3F %23 %40)"
                        .into(),
                ));
            }
            let unknown: Vec<String> = url
                .query_pairs()
                .map(|(k, _)| k.into_owned())
                .filter(|k| {
                    !POSTGRES_PARAMETERS.contains(&k.as_str()) && !k.starts_with("options[")
                })
                .collect();
            if !unknown.is_empty() {
                return Err(refuse(format!(
                    "unsupported connection parameter(s) {}; supported: {}",
                    unknown.join(", "),
                    POSTGRES_PARAMETERS.join(", ")
                )));
            }
            return Ok(DatabaseUrl {
                url: text.to_owned(),
                engine: Engine::Postgres,
            });
        }
        if let Some(rest) = text.strip_prefix("sqlite:") {
            let mut url = format!("sqlite:{rest}");
            if !rest.contains("mode=") && !rest.contains(":memory:") {
                url.push_str(if rest.contains('?') { "&" } else { "?" });
                url.push_str("mode=rwc");
            }
            return Ok(DatabaseUrl {
                url,
                engine: Engine::Sqlite,
            });
        }
        if keyword_connection_string(text) {
            return Err(refuse(
                "key=value connection strings are not supported; use postgres://USER:PASSWORD@HOST/DB"
                    .into(),
            ));
        }
        if text.contains("://") {
            return Err(refuse(
                "unsupported database; use sqlite://PATH or postgres://USER@HOST/DB".into(),
            ));
        }
        Ok(DatabaseUrl {
            url: format!("sqlite://{text}?mode=rwc"),
            engine: Engine::Sqlite,
        })
    }

    /// The URL sqlx connects to, secrets included: never print it.
    pub(super) fn secret(&self) -> &str {
        &self.url
    }

    pub(super) fn engine(&self) -> Engine {
        self.engine
    }

    /// An SQLite database's file, made (empty, mode 0600) when missing, so
    /// SQLite and its `-wal`/`-shm` files (which take the database's mode)
    /// are private from the start.
    pub(super) fn create_private_file(&self) -> Result<(), StoreError> {
        let Some(path) = self.sqlite_file() else {
            return Ok(());
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(StoreError::Open {
                url: self.to_string(),
                message: format!("creating {}: {e}", path.display()),
            }),
        }
    }

    /// The file of an SQLite URL (`sqlite://PATH`, `sqlite:PATH`), unless in
    /// memory or percent-encoded (sqlx decodes those; they are left to it).
    fn sqlite_file(&self) -> Option<PathBuf> {
        if self.engine != Engine::Sqlite {
            return None;
        }
        let rest = self.url.strip_prefix("sqlite:")?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next().unwrap_or(rest);
        (!path.is_empty() && !path.contains(":memory:") && !path.contains('%'))
            .then(|| PathBuf::from(path))
    }
}

impl FromStr for DatabaseUrl {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<DatabaseUrl, StoreError> {
        DatabaseUrl::parse(text)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.url))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// A database URL without its passwords, for messages and logs: the
/// user-info password and every query parameter whose name holds "pass"
/// (`password`, `sslpassword`) become `***`; a URL that does not parse, or
/// where an `@` after the host shows a password may stand outside the
/// user-info, is shown as its scheme only; a `key=value` connection string
/// is not shown at all. SQLite URLs and paths carry no password and are
/// shown as they are.
pub fn redact(text: &str) -> String {
    if text.starts_with("sqlite:") {
        return text.to_owned();
    }
    if keyword_connection_string(text) {
        return "(a key=value connection string, not shown)".to_owned();
    }
    let Some((scheme, _)) = text.split_once("://") else {
        return text.to_owned();
    };
    let hidden = format!(
        "{scheme}://(not shown: it does not parse as a URL with the password in its user-info)"
    );
    let Ok(mut url) = Url::parse(text) else {
        return hidden;
    };
    if misplaced_at(&url, true) {
        return hidden;
    }
    if url.password().is_some() && url.set_password(Some(HIDDEN)).is_err() {
        return hidden;
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let secret = k.to_ascii_lowercase().contains("pass");
                let v = if secret {
                    HIDDEN.into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.set_fragment(None);
    url.to_string()
}

/// Whether an `@` stands after the host, where only a password with a raw
/// `/`, `?` or `#` in it puts one (`postgres://app:12/pw@db/trust` parses as
/// host `app`, port 12, path `/pw@db/trust`). With `in_query`, an `@` in
/// the query counts too (`?user=me@corp` is legal, so it only hides).
fn misplaced_at(url: &Url, in_query: bool) -> bool {
    url.path().contains('@')
        || url.fragment().is_some_and(|f| f.contains('@'))
        || (in_query && url.query().is_some_and(|q| q.contains('@')))
}

/// Whether `text` starts like a libpq `key=value` connection string
/// (`host=db user=app password=…`).
fn keyword_connection_string(text: &str) -> bool {
    let text = text.trim_start();
    let key_len = text
        .bytes()
        .take_while(|b| b.is_ascii_alphabetic() || *b == b'_')
        .count();
    key_len > 0 && text[key_len..].trim_start().starts_with('=')
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cret";

    #[test]
    fn b5_passwords_are_hidden_in_every_url_form() {
        let cases = [
            (
                "postgres://app:s3cret@db:5432/trust",
                "postgres://app:***@db:5432/trust",
            ),
            (
                "postgresql://app:s3cret@db/trust",
                "postgresql://app:***@db/trust",
            ),
            (
                "postgres://db/trust?user=app&password=s3cret",
                "postgres://db/trust?user=app&password=***",
            ),
            (
                "postgres://db/trust?sslmode=verify-full&sslpassword=s3cret",
                "postgres://db/trust?sslmode=verify-full&sslpassword=***",
            ),
            (
                "postgres://db/trust?PassWord=s3cret",
                "postgres://db/trust?PassWord=***",
            ),
            // A raw '@' in the password: the last '@' ends the user-info.
            (
                "postgres://app:s3@cret@db/trust",
                "postgres://app:***@db/trust",
            ),
            (
                "postgres://app:s3%2Fcret@db/trust",
                "postgres://app:***@db/trust",
            ),
            (
                "postgres://app:s3cret@db/trust#s3cret",
                "postgres://app:***@db/trust",
            ),
        ];
        for (url, shown) in cases {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[test]
    fn b5_urls_that_do_not_parse_as_meant_are_not_shown() {
        for url in [
            // A raw '/' in the password: not a port, so no URL at all.
            "postgres://app:s3/cret@db/trust",
            // A numeric start makes it parse: host "app", port 12, path "/s3cret@db/trust".
            "postgres://app:12/s3cret@db/trust",
            "postgres://app:12?s3cret@db/trust",
            "postgres://app:12#s3cret@db/trust",
            "postgres://app:12?x=s3cret@db/trust",
            "postgres://app:s3cret@db:99999/trust",
        ] {
            let shown = redact(url);
            assert!(!shown.contains(SECRET), "{url} → {shown}");
            assert!(
                shown.starts_with("postgres://(not shown"),
                "{url} → {shown}"
            );
        }
        for dsn in [
            "host=db user=app password=s3cret dbname=trust",
            "  password = 's3cret' host=db",
        ] {
            assert_eq!(redact(dsn), "(a key=value connection string, not shown)");
        }
        assert_eq!(redact("/var/lib/trust.db"), "/var/lib/trust.db");
        assert_eq!(redact("sqlite:///tmp/t.db"), "sqlite:///tmp/t.db");
        assert_eq!(redact("mysql://app:s3cret@db/x"), "mysql://app:***@db/x");
    }

    #[test]
    fn b5_refusals_name_the_url_without_its_password() {
        for url in [
            "postgres://app:s3/cret@db/trust",
            "postgres://app:12/s3cret@db/trust",
            "postgres://db/trust?sslpassword=s3cret",
            "postgres://db/trust?passwd=s3cret",
            "host=db password=s3cret",
            "mysql://app:s3cret@db/x",
        ] {
            let err = DatabaseUrl::parse(url).unwrap_err();
            assert!(matches!(err, StoreError::Open { .. }), "{url}: {err:?}");
            assert!(!err.to_string().contains(SECRET), "{url}: {err}");
            assert!(!format!("{err:?}").contains(SECRET), "{url}: {err:?}");
        }
        let err = DatabaseUrl::parse("postgres://db/trust?sslpassword=s3cret").unwrap_err();
        assert!(
            matches!(&err, StoreError::Open { message, .. } if message.contains("sslpassword")),
            "{err}"
        );
    }

    #[test]
    fn b5_debug_and_display_hide_the_password() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db/trust?password=s3cret").unwrap();
        assert_eq!(url.engine(), Engine::Postgres);
        for shown in [url.to_string(), format!("{url:?}")] {
            assert!(!shown.contains(SECRET), "{shown}");
            assert!(shown.contains("app:***@db/trust"), "{shown}");
        }
        assert!(url.secret().contains(SECRET));
    }

    #[test]
    fn urls_are_recognised() {
        let sqlite = DatabaseUrl::parse("/tmp/t.db").unwrap();
        assert_eq!(sqlite.engine(), Engine::Sqlite);
        assert_eq!(sqlite.sqlite_file(), Some(PathBuf::from("/tmp/t.db")));
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/t.db").unwrap().secret(),
            "sqlite:///tmp/t.db?mode=rwc"
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite::memory:").unwrap().sqlite_file(),
            None
        );
        let pg = DatabaseUrl::parse("postgres://u@h/db?sslmode=require&options[search_path]=x");
        assert_eq!(pg.unwrap().engine(), Engine::Postgres);
        assert!(DatabaseUrl::parse("mysql://h/db").is_err());
    }

    #[test]
    fn n20_a_new_sqlite_file_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trust.db");
        let url = DatabaseUrl::parse(path.to_str().unwrap()).unwrap();
        url.create_private_file().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        url.create_private_file().unwrap();
    }
}

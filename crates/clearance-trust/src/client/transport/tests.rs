#![allow(clippy::unwrap_used)]

use super::*;
use crate::schema::RoleName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A server on 127.0.0.1 answering every request with `answer`.
async fn serve(answer: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf).await;
            let _ = conn.write_all(answer.as_bytes()).await;
        }
    });
    format!("http://{addr}/")
}

/// A server on 127.0.0.1 that answers every request with `answer` and
/// counts the requests that carried an `Authorization` header.
async fn recording(answer: String) -> (std::net::SocketAddr, Arc<Mutex<u32>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            if String::from_utf8_lossy(&head)
                .to_ascii_lowercase()
                .contains("\r\nauthorization:")
            {
                *count.lock().unwrap() += 1;
            }
            let _ = conn.write_all(answer.as_bytes()).await;
        }
    });
    (addr, seen)
}

/// A transport with a login that resolves `name` to `addr` (so a
/// non-loopback host name reaches a server on 127.0.0.1).
fn resolving(name: &str, addr: std::net::SocketAddr, insecure: Vec<String>) -> HttpTransport {
    let mut t = HttpTransport::allowing_http(Duration::from_secs(5), None, insecure.clone())
        .unwrap()
        .with_credential(Credential::parse_user_pass("alice:s3cret-pass"));
    t.http = reqwest::Client::builder()
        .use_preconfigured_tls(clearance_oci::registry::tls_config(None).unwrap())
        .redirect(clearance_oci::registry::redirect_policy(insecure))
        .resolve(name, addr)
        .build()
        .unwrap();
    t
}

#[tokio::test]
async fn b2_no_login_goes_over_plain_http_to_a_host_that_is_not_loopback() {
    let basic = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"trust\"\r\nContent-Length: 0\r\n\r\n";
    let (addr, seen) = recording(basic.to_owned()).await;
    let name = "trust.example.test";
    let url = format!("http://{name}:{}/v2/r/a/_trust/tuf/root.json", addr.port());

    // Not named insecure: refused before anything is sent.
    let err = resolving(name, addr, Vec::new())
        .fetch(&url, 1000)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::Insecure { host } if host.starts_with(name)),
        "{err}"
    );
    assert!(err.to_string().contains("--insecure-trust-server"), "{err}");

    // Named insecure: plain HTTP is allowed, the login is not.
    let err = resolving(name, addr, vec![name.to_owned()])
        .fetch(&url, 1000)
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::CredentialsOverHttp { .. }),
        "{err}"
    );
    assert_eq!(*seen.lock().unwrap(), 0, "the login reached the server");

    // A Bearer realm over plain HTTP off loopback does not get it either.
    let bearer = format!(
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"http://{name}:{}/token\",service=\"trust\"\r\nContent-Length: 0\r\n\r\n",
        addr.port()
    );
    let (addr, seen) = recording(bearer).await;
    let url = format!("http://{name}:{}/v2/r/a/_trust/tuf/root.json", addr.port());
    let err = resolving(name, addr, vec![name.to_owned()])
        .fetch(&url, 1000)
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::CredentialsOverHttp { .. }),
        "{err}"
    );
    assert_eq!(*seen.lock().unwrap(), 0);

    // On loopback the login is answered as before.
    let (addr, seen) = recording(basic.to_owned()).await;
    let url = format!("http://{addr}/v2/r/a/_trust/tuf/root.json");
    let _ = resolving("unused.test", addr, Vec::new())
        .fetch(&url, 1000)
        .await;
    assert_eq!(*seen.lock().unwrap(), 1);
}

#[tokio::test]
async fn a_redirect_to_plain_http_off_loopback_is_refused() {
    let url = serve(
        "HTTP/1.1 302 Found\r\nLocation: http://trust.example.invalid/root.json\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    let transport = HttpTransport::new(Duration::from_secs(5), None).unwrap();
    let err = transport
        .fetch(&format!("{url}root.json"), 1000)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::Transport { message, .. }
            if message.contains("redirect to plain HTTP on trust.example.invalid")),
        "{err:?}"
    );
}

#[tokio::test]
async fn b14_a_refused_publish_reads_a_bounded_answer() {
    // 8 MiB of refusal, without a length: read until 64 KiB, then stop.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = conn.read(&mut buf).await;
        let head = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
        let _ = conn.write_all(head.as_bytes()).await;
        let chunk = vec![b'x'; 64 << 10];
        for _ in 0..128 {
            if conn.write_all(&chunk).await.is_err() {
                break;
            }
        }
    });
    let transport = HttpTransport::new(Duration::from_secs(10), None).unwrap();
    let url = format!("http://{addr}/v2/r/a/_trust/tuf/");
    let err = transport
        .publish(&url, &[(RoleName::TARGETS, b"{}".to_vec())])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::Refused { status: 400, message, .. }
            if message.contains("larger than the limit of 65536 bytes")),
        "{err}"
    );
}

#[tokio::test]
async fn b18_a_limit_of_u64_max_does_not_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    std::fs::write(&path, b"abc").unwrap();
    let transport = HttpTransport::new(Duration::from_secs(5), None).unwrap();
    let url = format!("file://{}", path.display());
    assert_eq!(
        transport.fetch(&url, u64::MAX).await.unwrap().unwrap(),
        b"abc"
    );
}

#[tokio::test]
async fn a_body_longer_than_allowed_is_refused() {
    let url = serve("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789").await;
    let transport = HttpTransport::new(Duration::from_secs(5), None).unwrap();
    let err = transport.fetch(&url, 9).await.unwrap_err();
    assert!(matches!(err, FetchError::TooLong { limit: 9, .. }), "{err}");
    assert_eq!(
        transport.fetch(&url, 10).await.unwrap().unwrap(),
        b"0123456789"
    );
}

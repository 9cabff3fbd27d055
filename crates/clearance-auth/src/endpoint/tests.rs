//! The token endpoint over a real listener on 127.0.0.1, spoken to in raw HTTP/1.1.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::password::hash_password;
use crate::testutil::{sample_issuer, sample_rules};

const SERVICE: &str = "registry.example";

struct Reply {
    status: u16,
    head: String,
    body: serde_json::Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

async fn start() -> (SocketAddr, Arc<TokenService>) {
    let users = format!(
        "alice:{}\nbob:{}\n",
        bcrypt::hash("alice-pw", 4).unwrap(),
        hash_password("bob-pw").unwrap()
    );
    let service = Arc::new(TokenService {
        users: Users::parse(&users).unwrap(),
        rules: sample_rules(),
        issuer: sample_issuer(),
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = token_router(Arc::clone(&service));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (addr, service)
}

async fn send(addr: SocketAddr, request: String) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    Reply {
        status,
        head: head.to_owned(),
        body,
    }
}

async fn get(addr: SocketAddr, query: &str, basic: Option<(&str, &str)>) -> Reply {
    let auth = basic
        .map(|(user, password)| {
            let encoded = STANDARD.encode(format!("{user}:{password}"));
            format!("Authorization: Basic {encoded}\r\n")
        })
        .unwrap_or_default();
    let request =
        format!("GET /token?{query} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n");
    send(addr, request).await
}

async fn post(addr: SocketAddr, form: &str) -> Reply {
    let request = format!(
        "POST /token HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    send(addr, request).await
}

fn claims(service: &TokenService, reply: &Reply) -> crate::Claims {
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = reply.body["token"].as_str().unwrap();
    assert_eq!(reply.body["access_token"].as_str(), Some(token));
    service.issuer.verifier().verify(token).unwrap()
}

#[tokio::test]
async fn valid_user_gets_a_verifiable_token() {
    let (addr, service) = start().await;
    let query = format!("service={SERVICE}&scope=repository:team/app:pull,push");
    let reply = get(addr, &query, Some(("alice", "alice-pw"))).await;
    let claims = claims(&service, &reply);
    assert_eq!(claims.subject(), Some("alice"));
    assert!(claims.allows("team/app", Action::Push));
    assert!(claims.allows("team/app", Action::Pull));
    assert_eq!(reply.body["expires_in"], 300);
    let issued_at = reply.body["issued_at"].as_str().unwrap();
    assert_eq!(issued_at, rfc3339(claims.iat));
    assert!(
        issued_at.ends_with('Z') && issued_at.len() == 20,
        "{issued_at}"
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn argon2_users_sign_in_and_get_only_what_rules_allow() {
    let (addr, service) = start().await;
    let query = format!(
        "service={SERVICE}&scope=repository:team/app:pull,push&scope=repository:other/x:pull"
    );
    let claims = claims(&service, &get(addr, &query, Some(("bob", "bob-pw"))).await);
    assert_eq!(claims.subject(), Some("bob"));
    assert!(claims.allows("team/app", Action::Pull));
    assert!(!claims.allows("team/app", Action::Push));
    assert!(!claims.allows("other/x", Action::Pull));
    assert_eq!(claims.access.len(), 1);
}

#[tokio::test]
async fn bad_password_gets_401_with_the_basic_challenge() {
    let (addr, _) = start().await;
    let query = format!("service={SERVICE}&scope=repository:team/app:pull");
    for (user, password) in [("alice", "wrong"), ("nobody", "alice-pw"), ("", "")] {
        let reply = get(addr, &query, Some((user, password))).await;
        assert_eq!(reply.status, 401, "{user}");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Basic realm=\"clearance\"")
        );
        assert_eq!(reply.body["errors"][0]["code"], "UNAUTHORIZED");
        assert!(reply.body["errors"][0]["message"].is_string());
    }
    let request = format!(
        "GET /token?{query} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic !!!\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(send(addr, request).await.status, 401);
}

#[tokio::test]
async fn wrong_or_missing_service_gets_400() {
    let (addr, _) = start().await;
    let reply = get(
        addr,
        "service=elsewhere&scope=repository:team/app:pull",
        None,
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["errors"][0]["code"], "UNSUPPORTED");
    let message = reply.body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("\"elsewhere\"") && message.contains(SERVICE),
        "{message}"
    );
    assert_eq!(
        get(addr, "scope=repository:team/app:pull", None)
            .await
            .status,
        400
    );
    let twice = format!("service={SERVICE}&service={SERVICE}");
    assert_eq!(get(addr, &twice, None).await.status, 400);
}

#[tokio::test]
async fn anonymous_token_carries_only_public_pull() {
    let (addr, service) = start().await;
    let query = format!(
        "service={SERVICE}&scope=repository:public/tools:pull,push&scope=repository:team/app:pull"
    );
    let claims = claims(&service, &get(addr, &query, None).await);
    assert_eq!(claims.subject(), None);
    assert!(claims.allows("public/tools", Action::Pull));
    assert!(!claims.allows("public/tools", Action::Push));
    assert!(!claims.allows("team/app", Action::Pull));
}

#[tokio::test]
async fn nothing_granted_is_still_a_token() {
    let (addr, service) = start().await;
    let query = format!("service={SERVICE}&scope=repository:secret/x:push");
    let granted = claims(
        &service,
        &get(addr, &query, Some(("alice", "alice-pw"))).await,
    );
    assert!(granted.access.is_empty());
    let reply = get(addr, &format!("service={SERVICE}"), None).await;
    assert!(claims(&service, &reply).access.is_empty());
}

#[tokio::test]
async fn space_separated_scopes_merge_and_other_types_are_ignored() {
    let (addr, service) = start().await;
    let query = format!(
        "service={SERVICE}&scope=repository:team/app:pull%20repository:team/app:push\
         &scope=registry:catalog:*"
    );
    let claims = claims(
        &service,
        &get(addr, &query, Some(("alice", "alice-pw"))).await,
    );
    assert_eq!(claims.access.len(), 1);
    assert_eq!(claims.access[0].actions, ["pull", "push"]);
}

#[tokio::test]
async fn invalid_and_too_many_scopes_get_400() {
    let (addr, _) = start().await;
    let query = format!("service={SERVICE}&scope=repository:team/Host:5000/x:pull");
    let reply = get(addr, &query, None).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["errors"][0]["code"], "NAME_INVALID");
    let many: String = (0..=MAX_SCOPES)
        .map(|i| format!("&scope=repository:r{i}:pull"))
        .collect();
    let reply = get(addr, &format!("service={SERVICE}{many}"), None).await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn oauth2_password_grant() {
    let (addr, service) = start().await;
    let form = format!(
        "grant_type=password&username=alice&password=alice-pw&service={SERVICE}\
         &scope=repository%3Ateam%2Fapp%3Apush&client_id=containerd"
    );
    let claims = claims(&service, &post(addr, &form).await);
    assert!(claims.allows("team/app", Action::Push));
    let bad = form.replace("alice-pw", "nope");
    assert_eq!(post(addr, &bad).await.status, 401);
    let refresh = format!("grant_type=refresh_token&refresh_token=x&service={SERVICE}");
    assert_eq!(post(addr, &refresh).await.status, 400);
    let missing = format!("grant_type=password&service={SERVICE}");
    assert_eq!(post(addr, &missing).await.status, 400);
}

//! Helpers shared by the unit tests.

/// `team/*`: alice pulls and pushes, any signed-in user pulls;
/// `public/**`: anyone pulls.
pub(crate) fn sample_rules() -> crate::AccessRules {
    serde_json::from_value(serde_json::json!([
        {"repositories": "team/*", "users": ["alice"], "actions": ["pull", "push"]},
        {"repositories": "team/*", "users": ["*"], "actions": ["pull"]},
        {"repositories": "public/**", "anonymous": ["pull"]}
    ]))
    .unwrap()
}

/// Issues for service `registry.example` as `clearance`, 300 s tokens.
pub(crate) fn sample_issuer() -> crate::TokenIssuer {
    crate::TokenIssuer::new(
        crate::TokenKey::generate().unwrap(),
        "clearance",
        "registry.example",
        std::time::Duration::from_secs(300),
    )
}

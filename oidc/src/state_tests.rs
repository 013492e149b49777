use super::*;
use crate::model::{AuthenticatedUser, ResponseType, UserClaims};

fn pending(id: &str, expires: UnixTime) -> PendingAuthorization {
    PendingAuthorization {
        id: id.into(),
        client_id: "app".into(),
        client_name: "App".into(),
        redirect_uri: "https://app.example/cb".into(),
        response_type: ResponseType::Code,
        scope: vec!["openid".into()],
        state: None,
        nonce: None,
        code_challenge: None,
        prompt: None,
        max_age: None,
        login_hint: None,
        acr_values: Vec::new(),
        expires,
    }
}

fn code(family: &str, expires: UnixTime) -> CodeGrant {
    CodeGrant {
        client_id: "app".into(),
        redirect_uri: "https://app.example/cb".into(),
        code_challenge: None,
        scope: vec!["openid".into()],
        nonce: None,
        user: AuthenticatedUser {
            sub: "u1".into(),
            auth_time: 0,
            amr: vec!["pwd".into()],
            acr: None,
            claims: UserClaims::default(),
            sid: None,
        },
        family: family.into(),
        expires,
    }
}

fn access(family: &str, expires: UnixTime) -> AccessGrant {
    AccessGrant {
        sub: "u1".into(),
        client_id: "app".into(),
        scope: vec!["openid".into()],
        family: family.into(),
        expires,
    }
}

fn refresh(family: &str, expires: UnixTime) -> RefreshGrant {
    RefreshGrant {
        sub: "u1".into(),
        client_id: "app".into(),
        scope: vec!["openid".into()],
        auth_time: 0,
        amr: vec![],
        acr: None,
        sid: None,
        family: family.into(),
        expires,
    }
}

#[tokio::test]
async fn pending_is_single_use_and_expires() {
    let s = MemoryState::default();
    s.put_pending(&pending("p1", 700), 100).await.unwrap();
    assert!(s.get_pending("p1", 100).await.unwrap().is_some());
    assert!(s.get_pending("p1", 700).await.unwrap().is_none());
    assert!(s.take_pending("p1", 101).await.unwrap().is_some());
    assert!(s.take_pending("p1", 102).await.unwrap().is_none());
    s.put_pending(&pending("p2", 700), 100).await.unwrap();
    assert!(s.take_pending("p2", 700).await.unwrap().is_none());
}

#[tokio::test]
async fn codes_are_fresh_once_then_replayed_then_gone() {
    let s = MemoryState::default();
    s.put_code("k", &code("f", 160), 100).await.unwrap();
    assert!(matches!(
        s.take_code("k", 110, 1000).await.unwrap(),
        Taken::Fresh(_)
    ));
    assert!(
        matches!(s.take_code("k", 200, 1000).await.unwrap(), Taken::Replayed(g) if g.family == "f")
    );
    assert_eq!(s.take_code("k", 1000, 2000).await.unwrap(), Taken::Missing);
    s.put_code("late", &code("f", 160), 100).await.unwrap();
    assert_eq!(
        s.take_code("late", 160, 1000).await.unwrap(),
        Taken::Missing
    );
    assert_eq!(
        s.take_code("nope", 100, 1000).await.unwrap(),
        Taken::Missing
    );
}

#[tokio::test]
async fn concurrent_takes_see_one_fresh() {
    let s = std::sync::Arc::new(MemoryState::default());
    s.put_code("k", &code("f", 160), 100).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.take_code("k", 101, 500).await.unwrap()
        }));
    }
    let mut fresh = 0;
    for t in tasks {
        if matches!(t.await.unwrap(), Taken::Fresh(_)) {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
}

#[tokio::test]
async fn revoking_a_family_kills_its_tokens() {
    let s = MemoryState::default();
    s.put_access("a1", &access("f", 400), 100).await.unwrap();
    s.put_access("a2", &access("g", 400), 100).await.unwrap();
    s.put_refresh("r1", &refresh("f", 900), 100).await.unwrap();
    s.put_refresh("r2", &refresh("f", 900), 100).await.unwrap();
    assert!(matches!(
        s.take_refresh("r1", 101, 900).await.unwrap(),
        Taken::Fresh(_)
    ));
    s.revoke_family("f", 900, 102).await.unwrap();
    assert!(s.get_access("a1", 103).await.unwrap().is_none());
    assert!(s.get_access("a2", 103).await.unwrap().is_some());
    assert_eq!(
        s.take_refresh("r1", 103, 900).await.unwrap(),
        Taken::Missing
    );
    assert_eq!(
        s.take_refresh("r2", 103, 900).await.unwrap(),
        Taken::Missing
    );
    // A token of the family stored later (a race with the revocation) is still refused.
    s.put_access("a3", &access("f", 400), 104).await.unwrap();
    assert!(s.get_access("a3", 105).await.unwrap().is_none());
}

#[tokio::test]
async fn full_store_sweeps_then_refuses() {
    let s = MemoryState::new(2);
    s.put_access("a1", &access("f", 150), 100).await.unwrap();
    s.put_access("a2", &access("f", 400), 100).await.unwrap();
    assert!(s.put_access("a3", &access("f", 400), 120).await.is_err());
    s.put_access("a3", &access("f", 400), 150).await.unwrap();
    assert!(s.get_access("a1", 150).await.unwrap().is_none());
    assert_eq!(s.len(), 2);
    assert!(!s.is_empty());
}

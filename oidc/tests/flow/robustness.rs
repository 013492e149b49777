//! Random query strings and form bodies never panic and never make a 5xx.

use crate::support::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};

/// xorshift64*: deterministic, no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const NAMES: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "request",
    "request_uri",
    "response_mode",
    "grant_type",
    "code",
    "code_verifier",
    "client_secret",
    "refresh_token",
    "access_token",
    "id_token_hint",
    "post_logout_redirect_uri",
    "x",
    "",
    "%",
    "%zz",
    "a=b",
];

const VALUES: &[&str] = &[
    "code",
    "id_token",
    "token",
    "portal",
    "spa",
    "guacamole",
    "openid",
    "openid profile email",
    "https://portal.example/cb",
    "https%3A%2F%2Fportal.example%2Fcb",
    "https://guac.example/guacamole/",
    "S256",
    "plain",
    "none",
    "login none",
    "authorization_code",
    "refresh_token",
    "-1",
    "18446744073709551616",
    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    PORTAL_SECRET,
    "eyJhbGciOiJub25lIn0.e30.",
    "a.b.c",
    "%00",
    "%ff%fe",
    "%",
    "+",
    "&&",
    "==",
    "\u{1F600}",
    "\r\n",
    "<script>",
];

fn random_form(rng: &mut Rng) -> String {
    let mut out = String::new();
    for i in 0..rng.below(12) {
        if i > 0 {
            out.push_str(rng.pick(&["&", "&", "&", ";", "&&", ""]));
        }
        out.push_str(rng.pick(NAMES));
        if rng.below(8) != 0 {
            out.push('=');
            match rng.below(4) {
                0 => {
                    for _ in 0..rng.below(60) {
                        out.push(char::from(32 + rng.below(95) as u8));
                    }
                }
                _ => {
                    let v = rng_value(rng);
                    out.push_str(&enc_maybe(rng, v));
                }
            }
        }
    }
    out
}

fn rng_value(rng: &mut Rng) -> &'static str {
    VALUES[rng.below(VALUES.len())]
}

fn enc_maybe(rng: &mut Rng, v: &str) -> String {
    if rng.below(2) == 0 {
        enc(v)
    } else {
        v.to_owned()
    }
}

fn assert_sane(status: StatusCode, what: &str) {
    assert!(!status.is_server_error(), "{what} -> {status}");
}

#[tokio::test]
async fn random_requests_never_panic() {
    let env = env().await;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..1500 {
        let form = random_form(&mut rng);
        // Query strings with characters a URI cannot carry are rejected by the HTTP layer
        // before us; keep the ones it accepts.
        if let Ok(request) = Request::get(format!("/oauth2/authorize?{form}")).body(Body::empty()) {
            assert_sane(env.send(request).await.status, &form);
        }
        if let Ok(request) = Request::get(format!("/oauth2/logout?{form}")).body(Body::empty()) {
            assert_sane(env.send(request).await.status, &form);
        }
        for path in [
            "/oauth2/authorize",
            "/oauth2/token",
            "/oauth2/userinfo",
            "/oauth2/logout",
        ] {
            assert_sane(env.post_form(path, &form, &[]).await.status, &form);
        }
        let basic = rng.pick(&[
            "Basic cG9ydGFsOng=",
            "Basic !!",
            "Basic ",
            "Bearer x",
            "basic OjpA",
        ]);
        assert_sane(
            env.post_form("/oauth2/token", &form, &[("authorization", basic)])
                .await
                .status,
            &form,
        );
    }
    // Raw bytes that are not even UTF-8.
    for _ in 0..300 {
        let bytes: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
        for path in [
            "/oauth2/authorize",
            "/oauth2/token",
            "/oauth2/userinfo",
            "/oauth2/logout",
        ] {
            let request = Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(bytes.clone()))
                .unwrap();
            assert_sane(env.send(request).await.status, path);
        }
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let env = env().await;
    let big = format!("grant_type=authorization_code&code={}", "a".repeat(100_000));
    let r = env.post_form("/oauth2/token", &big, &[]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

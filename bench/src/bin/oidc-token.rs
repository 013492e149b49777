//! The OIDC token endpoint's requests/s next to the raw ID-token signing rate of the key type.
//!
//!     cargo run --release -p mfa-bench --bin oidc-token -- [--requests 2000] [--alg EdDSA|RS256]
//!
//! The provider runs in process (the `mfa-oidc` router, a memory state and key store, a stub
//! backend), so the figure is the endpoint's own cost: client authentication, the code
//! lookup, PKCE, minting the access token and signing the ID token. Codes are minted before
//! the clock starts (each comes from a completed authorization). The raw rate signs the same
//! kind of ID token with `openidconnect` directly, without the endpoint around it.

use anyhow::Context;
use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine as _;
use clap::Parser;
use mfa_oidc::{
    AuthenticatedUser, ClientRegistration, KeySet, MemoryKeyStore, MemoryState, OidcBackend,
    OidcEvent, Provider, Settings, SigningAlg, SystemClock, UserClaims, hash_client_secret,
};
use std::sync::Arc;
use std::time::Instant;
use tower::ServiceExt;

#[derive(Debug, Parser)]
struct Args {
    /// Token requests to time.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Signing algorithm: EdDSA or RS256.
    #[arg(long, default_value = "EdDSA")]
    alg: String,
    /// Concurrent requests in flight.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    /// Keep codes and tokens in this Redis (`redis://HOST:PORT`), as several gateway
    /// instances do with `[shared] url`, instead of in process.
    #[arg(long)]
    redis: Option<String>,
}

/// This process's CPU time so far (utime + stime from /proc/self/stat), in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of stat; after the ")" they are the 12th and 13th (from 0: 11, 12).
    (ticks(11) + ticks(12)) / 100.0
}

#[derive(Debug)]
struct Stub;

#[async_trait::async_trait]
impl OidcBackend for Stub {
    fn login_url(&self, id: &str) -> String {
        format!("/login?auth={id}")
    }
    async fn current_user(&self, _sub: &str) -> Option<UserClaims> {
        Some(claims())
    }
    async fn record(&self, _event: OidcEvent) {}
    async fn end_session(
        &self,
        _: Option<&str>,
        _: &axum::http::HeaderMap,
    ) -> axum::http::HeaderMap {
        axum::http::HeaderMap::new()
    }
}

fn claims() -> UserClaims {
    UserClaims {
        name: Some("Ann de Vries".into()),
        email: Some("ann@example.org".into()),
        email_verified: true,
        preferred_username: Some("ann".into()),
        organisation: Some("Practice Noord".into()),
    }
}

const REDIRECT: &str = "https://rp.example.org/callback";
const SECRET: &str = "bench-client-secret-0123456789abcdef";
// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

async fn mint_code(provider: &Arc<Provider>, router: &axum::Router) -> anyhow::Result<String> {
    let uri = format!(
        "/oauth2/authorize?response_type=code&client_id=rp&redirect_uri={}&scope=openid%20profile%20email&state=s&nonce=n&code_challenge={CHALLENGE}&code_challenge_method=S256",
        urlencode(REDIRECT)
    );
    let res = router
        .clone()
        .oneshot(Request::get(uri).body(Body::empty())?)
        .await?;
    let location = res
        .headers()
        .get(header::LOCATION)
        .context("authorize: no redirect")?
        .to_str()?;
    let id = location
        .split("auth=")
        .nth(1)
        .context("authorize: no pending id")?;
    let user = AuthenticatedUser {
        sub: "5f1c2d3e-0000-4000-8000-000000000001".into(),
        auth_time: 0,
        amr: vec!["pwd".into(), "otp".into()],
        acr: None,
        claims: claims(),
        sid: None,
    };
    let res = provider.complete(id, user).await?;
    let location = res
        .headers()
        .get(header::LOCATION)
        .context("complete: no redirect")?
        .to_str()?;
    let code = location
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("code="))
        .context("no code")?;
    Ok(code.to_owned())
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn token_request(code: &str) -> anyhow::Result<Request<Body>> {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("rp:{SECRET}"));
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        urlencode(REDIRECT)
    );
    Ok(Request::post("/oauth2/token")
        .header(header::AUTHORIZATION, format!("Basic {basic}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))?)
}

/// ID tokens per second signed straight with openidconnect (no endpoint), on one thread.
fn raw_signing_rate(alg: SigningAlg, n: usize) -> anyhow::Result<f64> {
    use openidconnect::core::{
        CoreEdDsaPrivateSigningKey, CoreIdToken, CoreIdTokenClaims, CoreJwsSigningAlgorithm,
        CoreRsaPrivateSigningKey,
    };
    use openidconnect::{
        Audience, EmptyAdditionalClaims, IssuerUrl, StandardClaims, SubjectIdentifier,
    };
    let stored = KeySet::generate(alg, 0, 0)?;
    let pem = String::from_utf8(stored.private_pkcs8_or_pem.clone())?;
    let claims = || -> anyhow::Result<CoreIdTokenClaims> {
        let now = chrono::Utc::now();
        Ok(CoreIdTokenClaims::new(
            IssuerUrl::new("https://bench.localhost".into())?,
            vec![Audience::new("rp".into())],
            now + chrono::Duration::seconds(300),
            now,
            StandardClaims::new(SubjectIdentifier::new(
                "5f1c2d3e-0000-4000-8000-000000000001".into(),
            )),
            EmptyAdditionalClaims {},
        ))
    };
    let started = Instant::now();
    match alg {
        SigningAlg::EdDsa => {
            let key = CoreEdDsaPrivateSigningKey::from_ed25519_pem(&pem, None)
                .map_err(anyhow::Error::msg)?;
            for _ in 0..n {
                CoreIdToken::new(claims()?, &key, CoreJwsSigningAlgorithm::EdDsa, None, None)?;
            }
        }
        SigningAlg::Rs256 => {
            let key = CoreRsaPrivateSigningKey::from_pem(&pem, None).map_err(anyhow::Error::msg)?;
            for _ in 0..n {
                CoreIdToken::new(
                    claims()?,
                    &key,
                    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                    None,
                    None,
                )?;
            }
        }
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let alg = match args.alg.as_str() {
        "EdDSA" => SigningAlg::EdDsa,
        "RS256" => SigningAlg::Rs256,
        other => anyhow::bail!("--alg {other}: EdDSA or RS256"),
    };
    let mut client = ClientRegistration::new("rp", "Bench RP", REDIRECT);
    client.secret_sha256 = Some(hash_client_secret(SECRET));
    client.id_token_alg = alg;
    let state: Arc<dyn mfa_oidc::OidcState> = match &args.redis {
        None => Arc::new(MemoryState::new(args.requests + 1000)),
        Some(url) => {
            let settings = mfa_gateway::shared::SharedSettings {
                url: url.clone(),
                ca_file: None,
                password_env: None,
                key_prefix: format!("mfa-bench-oidc-{}:", std::process::id()),
                timeout: std::time::Duration::from_millis(2000),
            };
            let key = mfa_gateway::crypto::MasterKey::from_bytes(&[7u8; 32])
                .ok_or_else(|| anyhow::anyhow!("key"))?;
            let redis = mfa_gateway::shared::RedisShared::connect(&settings, &key)?;
            Arc::new(mfa_gateway::shared::oidc::RedisOidcState::new(redis))
        }
    };
    let provider = Provider::new(
        Settings::new("https://bench.localhost"),
        vec![client],
        Arc::new(Stub),
        state,
        Arc::new(MemoryKeyStore::default()),
        Arc::new(SystemClock),
        Arc::new(mfa_oidc::NoPages),
    )
    .await?;
    let router = provider.router();
    let mut codes = Vec::with_capacity(args.requests);
    for _ in 0..args.requests {
        codes.push(mint_code(&provider, &router).await?);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "OIDC token endpoint, {} ID tokens, {} requests, concurrency {}, {cores} cores, state {}",
        alg.as_str(),
        args.requests,
        args.concurrency,
        if args.redis.is_some() {
            "Redis"
        } else {
            "in process"
        }
    );
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let chunks: Vec<Vec<String>> = codes
        .chunks(args.requests.div_ceil(args.concurrency.max(1)))
        .map(<[String]>::to_vec)
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in chunks {
        let router = router.clone();
        tasks.spawn(async move {
            let mut ok = 0usize;
            for code in chunk {
                let req = token_request(&code)?;
                let res = router.clone().oneshot(req).await?;
                if res.status().is_success() {
                    ok += 1;
                }
            }
            anyhow::Ok(ok)
        });
    }
    let mut ok = 0;
    while let Some(r) = tasks.join_next().await {
        ok += r??;
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    println!(
        "token endpoint: {:.0} requests/s ({ok} of {} answered 200, {:.3} ms each, {:.3} ms CPU each in this process)",
        args.requests as f64 / secs,
        args.requests,
        1000.0 * secs / args.requests as f64,
        1000.0 * cpu / args.requests as f64
    );
    let raw = tokio::task::spawn_blocking(move || raw_signing_rate(alg, 2000)).await??;
    println!(
        "raw {} ID-token signing, one thread: {raw:.0} tokens/s",
        alg.as_str()
    );
    Ok(())
}

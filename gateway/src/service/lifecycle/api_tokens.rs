//! Per-organisation API tokens: issued, listed and revoked by org admins and the
//! operator, and the actor a token acts as.

use super::*;

impl Gateway {
    /// A new API token for `org` (operator only): returned once, stored as its SHA-256.
    pub async fn issue_api_token(
        &self,
        actor: &Actor,
        org: OrgId,
        label: &str,
        now: UnixTime,
    ) -> Result<(ApiToken, SecretString)> {
        self.operator_only(actor, "issue API token", now).await?;
        let org = self.admin_org(actor, org, now).await?;
        let label = clean(label, "label", 100, false)?;
        let (secret, hash) = new_secret()?;
        let mut event = actor.event(EventKind::ApiTokenIssued, now);
        event.detail = Some(serde_json::json!({ "label": label, "action": "issued" }));
        let token = self
            .store
            .create_api_token(org.id, &hash, &label, actor.who(), now, event)
            .await?;
        let text = SecretString::new(format!("{}.{secret}", token.id));
        Ok((token, text))
    }

    pub async fn revoke_api_token(&self, actor: &Actor, id: i64, now: UnixTime) -> Result<()> {
        self.operator_only(actor, "revoke API token", now).await?;
        let mut event = actor.event(EventKind::ApiTokenIssued, now);
        event.detail = Some(serde_json::json!({ "token_id": id, "action": "revoked" }));
        self.store
            .revoke_api_token(id, now, event)
            .await
            .map_err(|e| match e {
                StoreError::NotFound(t) => ServiceError::NotFound(t),
                e => e.into(),
            })
    }

    pub async fn api_tokens(&self, actor: &Actor, now: UnixTime) -> Result<Vec<ApiToken>> {
        self.operator_only(actor, "list API tokens", now).await?;
        Ok(self.store.api_tokens(None).await?)
    }

    /// The actor an `Authorization: Bearer` token stands for, or None (unknown, revoked,
    /// malformed: all the same; compared in constant time).
    pub async fn api_actor(
        &self,
        bearer: &str,
        source: Option<IpAddr>,
        request_id: Option<String>,
    ) -> Result<Option<Actor>> {
        let Some((id, hash)) = split_secret(bearer) else {
            return Ok(None);
        };
        let token = self.store.api_token(id).await?;
        Ok(token
            .filter(|t| crate::secret::ct_eq(&t.token_hash, &hash) && t.revoked_at.is_none())
            .map(|t| Actor::api(&t, source, request_id)))
    }
}

//! Approvals for everyone (issue 12): a held second-factor-only (or `code_only` push) login
//! answered from any browser at `/approve` with the username and a code from any linked
//! phone or token, or a recovery or temporary code. The code goes through
//! [`Gateway::login`] as `CodeAfterPassword` (the held RADIUS request vouches for the first
//! factor), so limits, lockout, replay rules and audit apply as to every login; a wrong
//! code counts toward the lockout. The answer never says whether the username exists or
//! has a login waiting: the caller shows one message for every refusal.

use super::*;
use crate::approval::Answer;
use crate::audit::Outcome;

/// The client the /approve page's attempts are audited under.
pub(crate) const APPROVE_CLIENT: &str = "approve";

impl Gateway {
    /// Answer the held login of `username` with `code`. True only when a login was waiting
    /// and the code is right: it is then approved. `source` is the browser's address.
    pub async fn approve_with_code(
        &self,
        limits: &Limits,
        username: &str,
        code: SecretString,
        source: IpAddr,
        request_id: Option<String>,
        now: UnixTime,
    ) -> Result<bool> {
        let username = crate::store::normalise_username(username);
        let attempt = Attempt {
            username: username.clone(),
            credentials: Credentials::CodeAfterPassword { code },
            channel: Channel::Portal,
            client: Some(APPROVE_CLIENT.into()),
            source: Some(source),
            request_id,
            nas: None,
            typed_username: None,
        };
        if !self.within_limits(limits, &attempt, now).await {
            return Ok(false);
        }
        let person = if username.is_empty() {
            None
        } else {
            self.store.person_by_username(&username).await?
        };
        let pending = match person.as_ref() {
            Some(p) => self
                .approvals
                .pending_for(p.id, now)
                .await
                .map(|prompt| (p, prompt)),
            None => None,
        };
        let Some((person, prompt)) = pending else {
            // Nothing waits (or nobody by that name): refused like a wrong code, audited.
            self.reject_without_check(&attempt, Reason::NoPendingApproval, now)
                .await?;
            return Ok(false);
        };
        let decision = self.login(attempt, now).await?;
        let Verdict::Accept { device_label, .. } = decision.verdict else {
            return Ok(false);
        };
        if self
            .approvals
            .answer(person.id, &prompt.id, Answer::Approved, now)
            .await
            .is_none()
        {
            // Answered, replaced or expired meanwhile.
            return Ok(false);
        }
        let mut event = Self::person_event(person, EventKind::ApprovalAnswered, "", now);
        event.actor = format!("person:{}", person.id);
        event.channel = Channel::Portal;
        event.client = Some(APPROVE_CLIENT.into());
        event.source = Some(source.to_string());
        event.request_id = decision.event.request_id.clone();
        event.device_label = Some(device_label);
        event.outcome = Outcome::Done;
        event.reason = Some(Answer::Approved.as_str().into());
        event.detail = Some(serde_json::json!({
            "method": "code",
            "client": prompt.client,
            "login_source": prompt.source,
            "login_channel": prompt.channel,
        }));
        self.store.append_event(&event).await?;
        Ok(true)
    }
}

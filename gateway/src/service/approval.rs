//! Out-of-band approval as a login: RADIUS second-factor-only clients (Microsoft RD Gateway)
//! and "send a request to my phone" on the login page. The person is asked on their devices
//! (Web Push, the portal's live page, the webhook), the login waits (no thread: a oneshot and
//! a timer that checks the gateway clock for the expiry) and is answered Accept only after
//! its event is committed.

use super::*;
use crate::approval::{Answer, Prompt, Refused};
use crate::audit::Outcome;
use crate::model::Role;

/// The device id an Accept by approval names (no device row: the person's session answered).
pub const APPROVAL_DEVICE_ID: DeviceId = -1;

/// The client name shown to the person when the client has none of its own.
const DEFAULT_CLIENT_LABEL: &str = "Remote desktop";
/// The request is no longer waiting for an answer.
pub const REQUEST_GONE: &str = "svc-request-gone";

impl Gateway {
    pub fn approvals(&self) -> &Arc<crate::approval::Hub> {
        &self.approvals
    }

    /// The public URL of the web front (set by `serve` once it is known).
    pub fn set_public_url(&self, url: &str) {
        let _ = self.public_url.set(url.trim_end_matches('/').to_owned());
    }

    pub fn public_url(&self) -> Option<&str> {
        self.public_url.get().map(String::as_str)
    }

    /// A login attempt's event, decided without the engine (approval).
    fn approval_event(
        attempt: &Attempt,
        person: Option<&Person>,
        outcome: Outcome,
        reason: Option<Reason>,
        now: UnixTime,
    ) -> AuditEvent {
        let mut event = AuditEvent {
            time: now,
            kind: EventKind::LoginAttempt,
            actor: person.map_or_else(|| "anonymous".to_owned(), |p| format!("person:{}", p.id)),
            person_id: person.map(|p| p.id),
            username: Some(person.map_or_else(|| attempt.username.clone(), |p| p.username.clone())),
            org_id: person.map(|p| p.org_id),
            channel: attempt.channel,
            client: attempt.client.clone(),
            source: attempt.source.map(|s| s.to_string()),
            device_id: None,
            device_label: (outcome == Outcome::Accept).then(|| "out-of-band approval".to_owned()),
            outcome,
            reason: reason.map(|r| r.as_str().to_owned()),
            request_id: attempt.request_id.clone(),
            detail: Some(serde_json::json!({ "method": "approval" })),
        };
        attempt.stamp(&mut event);
        event
    }

    async fn approval_decision(
        &self,
        attempt: &Attempt,
        person: Option<&Person>,
        reason: Option<Reason>,
        now: UnixTime,
    ) -> Result<Decision> {
        let outcome = if reason.is_none() {
            Outcome::Accept
        } else {
            Outcome::Reject
        };
        let event = Self::approval_event(attempt, person, outcome, reason, now);
        self.store.append_event(&event).await?;
        count_decision(&event);
        let verdict = match reason {
            None => Verdict::Accept {
                device_id: APPROVAL_DEVICE_ID,
                device_label: "out-of-band approval".into(),
            },
            Some(r) => Verdict::Reject(r),
        };
        Ok(Decision {
            verdict,
            changes: Default::default(),
            event,
        })
    }

    /// Ask the person named in `attempt` to approve this login on a device of theirs, and
    /// wait for the answer (at most the configured timeout, by the gateway clock: see
    /// [`crate::approval::Ticket::wait`]). `client_label` is what the person is shown
    /// ("Remote desktop").
    pub async fn login_by_approval(
        &self,
        attempt: &Attempt,
        client_label: Option<&str>,
        now: UnixTime,
    ) -> Result<Decision> {
        self.login_by_approval_matched(attempt, client_label, None, now)
            .await
    }

    /// As [`Gateway::login_by_approval`], with number matching when `number` is given (the
    /// login page shows it; the phone must pick it among three).
    pub async fn login_by_approval_matched(
        &self,
        attempt: &Attempt,
        client_label: Option<&str>,
        number: Option<u8>,
        now: UnixTime,
    ) -> Result<Decision> {
        let person = match self
            .resolve_login_name(
                attempt.channel,
                attempt.client.as_deref(),
                &attempt.username,
            )
            .await?
        {
            crate::store::NameMatch::Found(p) => p,
            crate::store::NameMatch::Unknown => {
                return self
                    .approval_decision(attempt, None, Some(Reason::UnknownUser), now)
                    .await;
            }
            crate::store::NameMatch::Ambiguous(_) => {
                return self
                    .approval_decision(attempt, None, Some(Reason::AmbiguousUsername), now)
                    .await;
            }
        };
        if self.client_refuses(attempt, &person).await? {
            return self
                .approval_decision(attempt, Some(&person), Some(Reason::ClientNotForOrg), now)
                .await;
        }
        if let Some(policy) = self.stored_policy(person.org_id).await? {
            let refused = if !policy.allows_approvals() {
                Some(Reason::ApprovalsNotAllowed)
            } else if attempt.channel == Channel::Radius
                && !policy.allows_source(attempt.client.as_deref(), attempt.source)
            {
                Some(Reason::SourceNotAllowed)
            } else {
                None
            };
            if refused.is_some() {
                return self
                    .approval_decision(attempt, Some(&person), refused, now)
                    .await;
            }
        }
        let refuse = match person.state {
            PersonState::Disabled => Some(Reason::PersonDisabled),
            PersonState::Removed => Some(Reason::PersonRemoved),
            PersonState::Active if person.blocked_at.is_some() => Some(Reason::PersonBlocked),
            PersonState::Active if person.locked_until.is_some_and(|t| t > now) => {
                Some(Reason::LockedOut)
            }
            PersonState::Active => None,
        };
        // Nobody to ask (no phone, token, key or live temporary code): refused at once
        // rather than after the timeout.
        let refuse = match refuse {
            None if !self.can_answer(&person, now).await? => Some(Reason::NoDevice),
            other => other,
        };
        if let Some(reason) = refuse {
            return self
                .approval_decision(attempt, Some(&person), Some(reason), now)
                .await;
        }
        let label = client_label.unwrap_or(DEFAULT_CLIENT_LABEL);
        let ticket = match self
            .approvals
            .start_matched(
                person.id,
                label,
                attempt.channel.as_str(),
                attempt.source.map(|s| s.to_string()),
                number,
                now,
            )
            .await
        {
            Ok(t) => t,
            Err(refused) => {
                let reason = match refused {
                    Refused::TooManyPrompts => Reason::TooManyPrompts,
                    Refused::Locked => Reason::ApprovalsLocked,
                    Refused::Full => Reason::Overloaded,
                    Refused::Unavailable => Reason::SharedStateUnavailable,
                };
                metrics::counter!(crate::telemetry::APPROVALS, "result" => reason.as_str())
                    .increment(1);
                return self
                    .approval_decision(attempt, Some(&person), Some(reason), now)
                    .await;
            }
        };
        let prompt = ticket.prompt.clone();
        let mut asked = Self::person_event(&person, EventKind::ApprovalRequested, "system", now);
        asked.channel = attempt.channel;
        asked.client = attempt.client.clone();
        asked.source = attempt.source.map(|s| s.to_string());
        asked.request_id = attempt.request_id.clone();
        asked.detail = Some(serde_json::json!({ "shown_as": label, "expires": prompt.expires }));
        attempt.stamp(&mut asked);
        if let Err(e) = self.store.append_event(&asked).await {
            self.approvals.finish(person.id, &prompt.id).await;
            return Err(e.into());
        }
        self.announce_prompt(&person, &prompt);
        // Until the answer, or the gateway clock passes the prompt's expiry.
        let reason = match ticket.wait(self.clock(), now).await {
            Some(Answer::Approved) => None,
            Some(Answer::Denied) => Some(Reason::ApprovalDenied),
            Some(Answer::NotMe) => Some(Reason::ApprovalNotMe),
            Some(Answer::Replaced) => Some(Reason::ApprovalReplaced),
            None => {
                self.approvals.finish(person.id, &prompt.id).await;
                Some(Reason::ApprovalTimedOut)
            }
        };
        metrics::counter!(
            crate::telemetry::APPROVALS,
            "result" => reason.map_or("approved", |r| r.as_str())
        )
        .increment(1);
        self.approval_decision(attempt, Some(&person), reason, self.now())
            .await
    }

    /// Tell the person's devices about a prompt: the webhook, Web Push (the portal's live
    /// page learns through the hub). Runs on its own task.
    fn announce_prompt(&self, person: &Person, prompt: &Prompt) {
        self.push_prompt(person, prompt);
        let Some(webhook) = self.webhook.clone() else {
            return;
        };
        let gateway = self.clone();
        let (person, prompt) = (person.clone(), prompt.clone());
        tokio::spawn(async move {
            // The display text, in the person's language, with the language named.
            let lang = gateway.lang_of(&person).await;
            let body = serde_json::json!({
                "event": "approval_requested",
                "lang": lang.as_str(),
                "title": crate::i18n::t(lang, "push-title"),
                "text": super::push::prompt_text(&prompt, lang),
                "username": person.username,
                "name": person.full_name,
                "org_id": person.org_id,
                "client": prompt.client,
                "source": prompt.source,
                "time": crate::audit::format_time(prompt.created),
                "expires": crate::audit::format_time(prompt.expires),
                "approve_url": gateway.public_url().map(|u| format!("{u}/portal/approvals")),
                // Any browser: the username and a code from any phone or token.
                "approve_with_code_url": gateway.public_url().map(|u| format!("{u}/approve")),
            });
            let now = prompt.created;
            if let Err(e) = webhook.post(&body, now).await {
                tracing::warn!(error = %e, "approval webhook failed");
            }
        });
    }

    /// The person answers their pending approval `id` in the portal; audited. "Not me" also
    /// alerts the operators (webhook, and mail to operators with an address).
    pub async fn answer_approval(
        &self,
        actor: &Actor,
        id: &str,
        answer: Answer,
        now: UnixTime,
    ) -> Result<Prompt> {
        self.answer_approval_with(actor, id, answer, None, now)
            .await
            .map(|(prompt, _)| prompt)
    }

    /// As [`Gateway::answer_approval`], with the number chosen (number matching): a wrong
    /// one denies, audited with reason `wrong_number`. Returns the answer given.
    pub async fn answer_approval_with(
        &self,
        actor: &Actor,
        id: &str,
        answer: Answer,
        chosen: Option<u8>,
        now: UnixTime,
    ) -> Result<(Prompt, Answer)> {
        let person = actor.own()?;
        let Some((prompt, given)) = self
            .approvals
            .answer_with(person.id, id, answer, chosen, now)
            .await
        else {
            return Err(refused(REQUEST_GONE));
        };
        let wrong_number = given != answer;
        let answer = given;
        let mut event = actor.event(EventKind::ApprovalAnswered, now);
        event.outcome = if answer == Answer::Approved {
            Outcome::Done
        } else {
            Outcome::Reject
        };
        event.reason = Some(if wrong_number {
            "wrong_number".to_owned()
        } else {
            answer.as_str().to_owned()
        });
        event.detail = Some(serde_json::json!({
            "client": prompt.client,
            "login_source": prompt.source,
            "login_channel": prompt.channel,
            "suspected_attack": answer == Answer::NotMe,
            "number_matching": prompt.number.is_some(),
        }));
        self.store.append_event(&event).await?;
        if answer == Answer::NotMe {
            self.alert_operators(person, &prompt, &event).await?;
        }
        Ok((prompt, answer))
    }

    /// Can anyone answer an approval for `person`: an active device of any kind (a phone
    /// or token gives a code for /approve, a browser gets the push), or a live temporary
    /// code?
    async fn can_answer(&self, person: &Person, now: UnixTime) -> Result<bool> {
        let devices = self.store.devices_of(person.id).await?;
        if devices.iter().any(|d| d.state == DeviceState::Active) {
            return Ok(true);
        }
        let temporary = self.store.temporary_codes(person.id).await?;
        Ok(temporary
            .iter()
            .any(|c| c.expires_at.is_none_or(|e| now < e)))
    }

    async fn alert_operators(
        &self,
        person: &Person,
        prompt: &Prompt,
        context: &AuditEvent,
    ) -> Result<()> {
        tracing::warn!(
            person = person.id,
            source = prompt.source.as_deref().unwrap_or("-"),
            "suspected attack: a person reported a login approval request as not theirs"
        );
        let what = format!(
            "{} ({}) reported a login request from {} to {} as not theirs",
            person.full_name,
            person.username,
            prompt.source.as_deref().unwrap_or("an unknown address"),
            prompt.client
        );
        if let Some(webhook) = self.webhook.clone() {
            let body = serde_json::json!({
                "event": "suspected_attack",
                "username": person.username,
                "name": person.full_name,
                "org_id": person.org_id,
                "client": prompt.client,
                "source": prompt.source,
                "time": crate::audit::format_time(context.time),
            });
            let now = context.time;
            tokio::spawn(async move {
                if let Err(e) = webhook.post(&body, now).await {
                    tracing::warn!(error = %e, "suspected-attack webhook failed");
                }
            });
        }
        for operator in self.store.people(None).await? {
            if operator.state == PersonState::Active && operator.roles.contains(&Role::Operator) {
                let body = format!(
                    "{what}.\n\nWhen: {}\nFurther approvals for this person are refused for a while.\nSee the audit trail (reason not_me).\n",
                    crate::audit::format_time(context.time)
                );
                self.notify(
                    &operator,
                    super::notify::Notice {
                        subject: "Suspected attack: a login approval was reported as not mine"
                            .into(),
                        audit_body: Some(body.clone()),
                        body,
                    },
                    context,
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{GatewayClock, ManualClock};
    use std::time::Duration;

    const NOW: UnixTime = 1_800_000_000;

    /// A gateway on a clock the test moves, with Ann (one phone) in an organisation.
    async fn gateway() -> (Gateway, Arc<ManualClock>, tempfile::TempDir) {
        let (gw, dir) = crate::service::test_gateway().await;
        let clock = Arc::new(ManualClock::new(NOW));
        let gw = gw.with_clock(GatewayClock::new(clock.clone()));
        let org = gw
            .create_org("Practice", &Actor::cli(), NOW)
            .await
            .expect("org");
        let new = NewPerson {
            username: "ann".into(),
            full_name: "Ann".into(),
            email: None,
            employee_number: None,
            org_id: org.id,
            roles: vec![crate::model::Role::Person],
        };
        gw.create_person(new, None, &Actor::cli(), NOW)
            .await
            .expect("ann");
        gw.add_totp(
            "ann",
            "phone",
            OtpParams::totp_default(),
            &Actor::cli(),
            NOW,
        )
        .await
        .expect("phone");
        (gw, clock, dir)
    }

    fn rd_gateway_attempt() -> Attempt {
        let mut a = cli_attempt(
            "ann",
            Credentials::PasswordOnly {
                password: SecretString::default(),
            },
        );
        a.channel = Channel::Radius;
        a.client = Some("rdgw".into());
        a
    }

    /// The pending prompt, once the login has asked.
    async fn prompt(gw: &Gateway, person: PersonId) -> Prompt {
        for _ in 0..200 {
            if let Some(p) = gw.approvals().pending_for(person, gw.now()).await {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no prompt");
    }

    #[tokio::test]
    async fn a_held_login_times_out_when_the_gateway_clock_passes_the_timeout() {
        let (gw, clock, _dir) = gateway().await;
        let timeout = i64::try_from(gw.approvals().settings().timeout_seconds).expect("small");
        let login = tokio::spawn({
            let gw = gw.clone();
            async move { gw.login_by_approval(&rd_gateway_attempt(), None, NOW).await }
        });
        let asked = prompt(&gw, gw.person("ann").await.expect("ann").id).await;
        assert_eq!(asked.expires, NOW + timeout);
        clock.advance(timeout - 1);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(!login.is_finished(), "a second of the timeout is left");
        clock.advance(1);
        // Ended within a check of the clock, not after the timeout in real seconds.
        let decided = tokio::time::timeout(Duration::from_secs(3), login)
            .await
            .expect("in time")
            .expect("joined")
            .expect("decided");
        assert_eq!(decided.verdict, Verdict::Reject(Reason::ApprovalTimedOut));
        assert_eq!(decided.event.time, NOW + timeout, "by the gateway clock");
        assert!(gw.approvals().is_empty(), "forgotten");
    }

    #[tokio::test]
    async fn an_approval_in_time_accepts_the_held_login() {
        let (gw, clock, _dir) = gateway().await;
        let login = tokio::spawn({
            let gw = gw.clone();
            async move { gw.login_by_approval(&rd_gateway_attempt(), None, NOW).await }
        });
        let ann = gw.person("ann").await.expect("ann");
        let asked = prompt(&gw, ann.id).await;
        clock.advance(10);
        let answered = gw
            .approvals()
            .answer(ann.id, &asked.id, Answer::Approved, gw.now())
            .await;
        assert!(answered.is_some());
        let decided = tokio::time::timeout(Duration::from_secs(3), login)
            .await
            .expect("in time")
            .expect("joined")
            .expect("decided");
        assert!(matches!(decided.verdict, Verdict::Accept { .. }));
    }
}

//! Joiners: completing a "new employee" request makes the account and sends the
//! activation link; the activation page opens it, sets the password and links the first
//! phone.

use super::*;

impl Gateway {
    /// Completes a joiner request: the account is made (no password yet) and the
    /// activation link sent; the link is returned.
    pub(super) async fn complete_joiner(
        &self,
        actor: &Actor,
        request: &LifecycleRequest,
        mut done_event: AuditEvent,
        base_url: &str,
        now: UnixTime,
    ) -> Result<(LifecycleRequest, SecretString)> {
        let id = request.id;
        let RequestData::NewEmployee {
            full_name,
            email,
            employee_number,
            username,
            start_date,
            phone,
            token,
        } = request.data.clone()
        else {
            return Err(ServiceError::Internal(
                "complete_joiner: another kind of request".into(),
            ));
        };
        let note = if token {
            format!(
                "account made (start {start_date}); activation link sent; a hardware token is to be linked from the organisation's stock"
            )
        } else {
            format!("account made (start {start_date}); activation link sent")
        };
        let _ = phone;
        let change = completed(actor, &note);
        let new = NewPerson {
            username: username.clone(),
            full_name,
            email: Some(email),
            employee_number: Some(employee_number).filter(|e| !e.is_empty()),
            org_id: request.org_id,
            roles: vec![Role::Person],
        };
        let (secret, hash) = new_secret()?;
        let expires_at = now + ACTIVATION_SECONDS;
        let mut created = actor.event(EventKind::PersonCreated, now);
        created.org_id = Some(request.org_id);
        created.username = Some(crate::store::normalise_username(&username));
        created.detail = Some(serde_json::json!({ "request": id, "roles": "person" }));
        let mut issued = actor.event(EventKind::ActivationLinkIssued, now);
        issued.org_id = Some(request.org_id);
        issued.detail = Some(serde_json::json!({ "request": id, "expires_at": expires_at }));
        done_event.username = created.username.clone();
        let (done, person, link_id) = self
            .store
            .complete_new_employee(
                id,
                &new,
                &hash,
                expires_at,
                &change,
                now,
                vec![created, done_event.clone(), issued.clone()],
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => invalid("svc-username-taken-meanwhile"),
                e => crate::service::refusal::store_refused(e),
            })?;
        let url = format!(
            "{}/activate/{link_id}.{secret}",
            base_url.trim_end_matches('/')
        );
        issued.person_id = Some(person.id);
        self.send_activation(&person, &url, expires_at, &issued);
        Ok((done, SecretString::new(url)))
    }

    fn send_activation(&self, person: &Person, url: &str, expires_at: UnixTime, ctx: &AuditEvent) {
        let (p, url) = (person.clone(), url.to_owned());
        self.notify_in(
            person,
            move |gw, lang| gw.activation_notice(&p, &url, expires_at, lang),
            ctx,
        );
    }

    /// The mail with a new account's activation link (the link is a credential: never in the
    /// audit detail).
    pub(in crate::service) fn activation_notice(
        &self,
        person: &Person,
        url: &str,
        expires_at: UnixTime,
        lang: crate::i18n::Lang,
    ) -> super::notify::Notice {
        use crate::i18n::{t, t_args};
        let until = self.time_in(expires_at, lang);
        let body = super::notify::letter(
            lang,
            &person.full_name,
            &[
                &t_args(lang, "mail-activation-body", &[("until", until.into())]),
                url,
                &t(lang, "mail-activation-not-expected"),
            ],
        );
        super::notify::Notice {
            subject: t(lang, "mail-activation-subject"),
            body,
            audit_body: None,
        }
    }

    /// The live link `token` names (constant-time hash comparison), or `Invalid`.
    async fn live_link(&self, token: &str, now: UnixTime) -> Result<ActivationLink> {
        let (id, hash) = split_secret(token).ok_or_else(|| invalid(LINK_INVALID))?;
        let link = self
            .store
            .activation_link(id)
            .await?
            .filter(|l| crate::secret::ct_eq(&l.token_hash, &hash))
            .filter(|l| l.used_at.is_none() && l.expires_at > now)
            .ok_or_else(|| invalid(LINK_INVALID))?;
        Ok(link)
    }

    /// Open an activation link: who it is for and the first phone's key (made and kept,
    /// sealed, with the link the first time).
    pub async fn open_activation(&self, token: &str, now: UnixTime) -> Result<Activation> {
        let mut link = self.live_link(token, now).await?;
        let person = self
            .store
            .person_by_id(link.person_id)
            .await?
            .filter(|p| p.state == PersonState::Active)
            .ok_or_else(|| invalid(LINK_INVALID))?;
        if link.sealed_seed.is_none() {
            let seed =
                random_bytes(20).map_err(|_| ServiceError::Crypto("random generator".into()))?;
            let uid = new_uid();
            let sealed = self.seal(&seed, &uid)?;
            self.store
                .set_activation_seed(link.id, &sealed, &uid)
                .await?;
            link = self
                .store
                .activation_link(link.id)
                .await?
                .ok_or_else(|| invalid(LINK_INVALID))?;
        }
        let (Some(sealed), Some(uid)) = (&link.sealed_seed, &link.seed_uid) else {
            return Err(invalid(LINK_INVALID));
        };
        let seed = self
            .key
            .open(sealed, uid.as_bytes())
            .map_err(|e| ServiceError::Crypto(e.to_string()))?;
        let directory = self
            .directory_of(
                &person,
                self.store.password_hash(person.id).await?.is_some(),
            )
            .await?
            .map(|d| d.name().to_owned());
        Ok(Activation {
            person,
            seed,
            directory,
        })
    }

    /// Use an activation link: set the password (twice the same, the configured minimum
    /// length) and link the first phone, confirmed by its current code. Once.
    pub async fn activate(
        &self,
        token: &str,
        input: ActivationInput,
        source: Option<IpAddr>,
        now: UnixTime,
    ) -> Result<Person> {
        let link = self.live_link(token, now).await?;
        let Activation {
            person,
            seed,
            directory,
        } = self.open_activation(token, now).await?;
        let ActivationInput {
            password,
            again,
            label,
            code,
        } = input;
        // A directory's person signs in with the directory's password: none is set here.
        let hash = if directory.is_some() {
            None
        } else {
            if !crate::secret::ct_eq(password.expose().as_bytes(), again.expose().as_bytes()) {
                return Err(invalid(crate::service::refusal::PASSWORDS_DIFFER));
            }
            match self.hash_password(password).await {
                Ok(h) => Some(h),
                Err(ServiceError::Password(e)) => {
                    return Err(crate::service::refusal::password_refused(e));
                }
                Err(e) => return Err(e),
            }
        };
        let params = crate::otp::OtpParams::totp_default();
        let step = match crate::otp::check_totp(
            seed.expose(),
            &params,
            code.trim(),
            now,
            self.engine.otp_policy().totp_skew_steps,
            None,
        ) {
            crate::otp::TotpCheck::Matched { step } => step,
            _ => {
                return Err(invalid(crate::service::portal::WRONG_NEW_CODE));
            }
        };
        let uid = link.seed_uid.clone().ok_or_else(|| invalid(LINK_INVALID))?;
        let sealed = link
            .sealed_seed
            .clone()
            .ok_or_else(|| invalid(LINK_INVALID))?;
        let phone = NewDevice {
            uid,
            person_id: Some(person.id),
            org_id: Some(person.org_id),
            kind: DeviceKind::PhoneTotp,
            label: label_or(&label, "phone")?,
            serial: None,
            manufacturer: None,
            otp: params,
            sealed_secret: sealed,
            counter: 0,
            state: DeviceState::Active,
        };
        let actor = format!("person:{}", person.id);
        let mut events = Vec::new();
        let kinds = if hash.is_some() {
            &[
                EventKind::ActivationCompleted,
                EventKind::PasswordChanged,
                EventKind::DeviceLinked,
            ][..]
        } else {
            &[EventKind::ActivationCompleted, EventKind::DeviceLinked][..]
        };
        for &kind in kinds {
            let mut e = Self::person_event(&person, kind, &actor, now);
            e.channel = Channel::Portal;
            e.client = Some("activation".into());
            e.source = source.map(|s| s.to_string());
            events.push(e);
        }
        self.store
            .complete_activation(link.id, hash.as_deref(), &phone, step, now, events)
            .await
            .map_err(|e| match e {
                StoreError::Invalid(_) => invalid(LINK_INVALID),
                e => e.into(),
            })?;
        Ok(person)
    }

    /// A new activation link for a person who has not activated (the old one is void).
    pub async fn reissue_activation(
        &self,
        actor: &Actor,
        id: PersonId,
        base_url: &str,
        now: UnixTime,
    ) -> Result<SecretString> {
        let (person, _) = self.admin_person(actor, id, now).await?;
        if person.state != PersonState::Active {
            return Err(invalid(NOT_ACTIVE));
        }
        // A link sets the password and adds a phone: only for an account never activated,
        // or it would hand the account to whoever holds the link.
        if self.store.password_hash(person.id).await?.is_some() {
            return Err(invalid("svc-has-password"));
        }
        let (secret, hash) = new_secret()?;
        let expires_at = now + ACTIVATION_SECONDS;
        let mut event = actor.event(EventKind::ActivationLinkIssued, now);
        event.org_id = Some(person.org_id);
        event.username = Some(person.username.clone());
        event.detail = Some(serde_json::json!({ "expires_at": expires_at }));
        let link_id = self
            .store
            .issue_activation_link(person.id, None, &hash, now, expires_at, event.clone())
            .await?;
        let url = format!(
            "{}/activate/{link_id}.{secret}",
            base_url.trim_end_matches('/')
        );
        event.person_id = Some(person.id);
        self.send_activation(&person, &url, expires_at, &event);
        Ok(SecretString::new(url))
    }
}

//! What org admins and the operator do to people and organisations directly (not by a
//! request): list, unlock, block, temporary codes, linking tokens; switch-over dates and
//! the token stock.

use super::*;

impl Gateway {
    /// The organisations the actor may see.
    pub async fn admin_orgs(&self, actor: &Actor) -> Result<Vec<Organisation>> {
        Ok(self
            .store
            .orgs()
            .await?
            .into_iter()
            .filter(|o| actor.may(o.id))
            .collect())
    }

    /// An organisation by id, if the actor may see it.
    pub async fn admin_org(&self, actor: &Actor, id: OrgId, now: UnixTime) -> Result<Organisation> {
        match self.store.org_by_id(id).await? {
            Some(org) if actor.may(org.id) => Ok(org),
            _ => Err(self.deny(actor, format!("organisation {id}"), now).await),
        }
    }

    /// The people of an organisation (not removed).
    pub async fn admin_people(
        &self,
        actor: &Actor,
        org: OrgId,
        now: UnixTime,
    ) -> Result<Vec<Person>> {
        let org = self.admin_org(actor, org, now).await?;
        Ok(self
            .store
            .people(Some(org.id))
            .await?
            .into_iter()
            .filter(|p| p.state != PersonState::Removed)
            .collect())
    }

    /// A person and their devices, if the actor may see them.
    pub async fn admin_person(
        &self,
        actor: &Actor,
        id: PersonId,
        now: UnixTime,
    ) -> Result<(Person, Vec<Device>)> {
        match self.store.person_by_id(id).await? {
            Some(p) if actor.may(p.org_id) => {
                let devices = self.store.devices_of(p.id).await?;
                Ok((p, devices))
            }
            _ => Err(self.deny(actor, format!("person {id}"), now).await),
        }
    }

    /// A person the actor may act on for their credentials (temporary code, token, unlock,
    /// block): as `admin_person`, and an org admin may not act on the provider's staff
    /// (operators, auditors) even of their own organisation (404, audited access_denied).
    pub async fn admin_person_to_change(
        &self,
        actor: &Actor,
        id: PersonId,
        now: UnixTime,
    ) -> Result<Person> {
        let (person, _) = self.admin_person(actor, id, now).await?;
        let staff = person
            .roles
            .iter()
            .any(|r| matches!(r, Role::Operator | Role::Auditor));
        if staff && !actor.is_operator() {
            return Err(self.deny(actor, format!("person {id}"), now).await);
        }
        Ok(person)
    }

    /// Unlock a person (the lockout and every source's password throttle), by an org admin
    /// of their organisation or an operator; audited.
    pub async fn admin_unlock(&self, actor: &Actor, id: PersonId, now: UnixTime) -> Result<()> {
        let person = self.admin_person_to_change(actor, id, now).await?;
        let event = Self::person_event_by(&person, EventKind::PersonUnlocked, actor, now);
        Ok(self.store.unlock_person(person.id, event).await?)
    }

    /// Block a person now (`true`) or lift the block: immediate and reversible, audited.
    /// Every channel refuses a blocked person from the next request on; the caller ends their
    /// web sessions and pending approvals. Returns the person.
    pub async fn admin_block(
        &self,
        actor: &Actor,
        id: PersonId,
        block: bool,
        now: UnixTime,
    ) -> Result<Person> {
        let person = self.admin_person_to_change(actor, id, now).await?;
        let kind = if block {
            EventKind::PersonBlocked
        } else {
            EventKind::PersonUnblocked
        };
        let event = Self::person_event_by(&person, kind, actor, now);
        self.store
            .set_blocked(person.id, block.then_some(now), event)
            .await?;
        if block {
            self.approvals().cancel_person(person.id).await;
        }
        Ok(person)
    }

    /// A temporary code for a person's lost device, issued by the actor (audited with them).
    pub async fn admin_temporary_code(
        &self,
        actor: &Actor,
        id: PersonId,
        valid_minutes: u32,
        now: UnixTime,
    ) -> Result<(SecretString, UnixTime)> {
        let person = self.admin_person_to_change(actor, id, now).await?;
        if person.state != PersonState::Active {
            return Err(invalid(NOT_ACTIVE));
        }
        self.temporary_code_for(&person, valid_minutes, actor, now)
            .await
    }

    /// Link a hardware token from the organisation's stock (or the provider's unallocated
    /// stock) to a person of the actor's organisation.
    pub async fn admin_assign_token(
        &self,
        actor: &Actor,
        id: PersonId,
        serial: &str,
        now: UnixTime,
    ) -> Result<Device> {
        let person = self.admin_person_to_change(actor, id, now).await?;
        if person.state != PersonState::Active {
            return Err(invalid(NOT_ACTIVE));
        }
        let serial = clean(serial, "serial number", 64, true)?;
        let not_in_stock = || invalid("svc-not-in-stock");
        self.store
            .device_by_serial(&serial)
            .await?
            .filter(|d| d.kind == DeviceKind::HardwareToken && d.state == DeviceState::InStock)
            .filter(|d| d.org_id.is_none_or(|o| o == person.org_id))
            .ok_or_else(not_in_stock)?;
        let event = Self::person_event_by(&person, EventKind::DeviceLinked, actor, now);
        let label = format!("token {serial}");
        self.store
            .assign_token(&serial, person.id, &label, event)
            .await
            .map_err(|e| match e {
                StoreError::Invalid(_) | StoreError::NotFound(_) => not_in_stock(),
                e => e.into(),
            })
    }

    /// Set (or clear, with an empty date) an organisation's switch-over date (operator).
    pub async fn set_switch_over(
        &self,
        actor: &Actor,
        org: OrgId,
        date: &str,
        now: UnixTime,
    ) -> Result<()> {
        self.operator_only(actor, "set switch-over", now).await?;
        let org = self.admin_org(actor, org, now).await?;
        let at = if date.trim().is_empty() {
            None
        } else {
            Some(parse_date(date).ok_or_else(|| invalid("svc-date"))?)
        };
        let mut event = actor.event(EventKind::TokenStockChanged, now);
        event.detail = Some(serde_json::json!({ "switch_over": at }));
        Ok(self.store.set_switch_over(org.id, at, event).await?)
    }

    pub async fn switch_over(&self, org: OrgId) -> Result<Option<UnixTime>> {
        Ok(self.store.switch_over(org).await?)
    }

    /// Token stock per organisation with planned demand (operator only).
    pub async fn stock(&self, actor: &Actor, now: UnixTime) -> Result<Vec<StockCount>> {
        self.operator_only(actor, "token stock", now).await?;
        Ok(self.store.stock_counts().await?)
    }
}

//! Leavers: a "remove account" request removes the person now, or on its end date (the
//! periodic task), with their tokens returned to stock or marked lost.

use super::*;

impl Gateway {
    /// Completes a leaver request: removed now, or on the end date when it is later.
    pub(super) async fn complete_leaver(
        &self,
        actor: &Actor,
        request: &LifecycleRequest,
        now: UnixTime,
    ) -> Result<LifecycleRequest> {
        let id = request.id;
        let RequestData::RemoveAccount {
            person_id,
            end_date,
            tokens,
        } = request.data.clone()
        else {
            return Err(ServiceError::Internal(
                "complete_leaver: another kind of request".into(),
            ));
        };
        let person = self.org_person(request.org_id, person_id).await?;
        let end = parse_date(&end_date).unwrap_or(now);
        Ok(if end > now {
            let note = format!("the account will be removed on {end_date}");
            let change = RequestChange {
                from: &OPEN,
                to: RequestStatus::InProgress,
                actor: actor.who(),
                note: Some(&note),
                data: None,
                scheduled_at: Some(end),
            };
            let mut event = Self::request_event(actor, request, RequestStatus::InProgress, now);
            event.detail = Some(serde_json::json!({
                "request": id, "status": "in_progress", "scheduled_at": end,
            }));
            self.store
                .update_request(id, &change, now, event)
                .await
                .map_err(crate::service::refusal::store_refused)?
        } else {
            self.remove_leaver(actor, request, &person, tokens, now)
                .await?
        })
    }

    /// Remove a leaver now, completing `request`.
    async fn remove_leaver(
        &self,
        actor: &Actor,
        request: &LifecycleRequest,
        person: &Person,
        tokens: TokenFate,
        now: UnixTime,
    ) -> Result<LifecycleRequest> {
        let note = match tokens {
            TokenFate::Return => {
                "account removed; hardware tokens back in the organisation's stock"
            }
            TokenFate::Lost => "account removed; hardware tokens marked lost",
        };
        let change = completed(actor, note);
        let done_event = Self::request_event(actor, request, RequestStatus::Done, now);
        let mut removed = actor.event(EventKind::PersonRemoved, now);
        removed.org_id = Some(person.org_id);
        removed.username = Some(person.username.clone());
        removed.detail = Some(serde_json::json!({ "request": request.id }));
        let mut events = vec![done_event, removed];
        if tokens == TokenFate::Lost {
            let mut stock = actor.event(EventKind::TokenStockChanged, now);
            stock.org_id = Some(person.org_id);
            stock.detail = Some(serde_json::json!({ "request": request.id, "lost_of": person.id }));
            events.push(stock);
        }
        self.store
            .remove_person_now(person.id, tokens, Some((request.id, &change)), now, events)
            .await
            .map_err(crate::service::refusal::store_refused)?
            .ok_or_else(|| ServiceError::Internal("removal without its request".into()))
    }

    /// Leavers whose end date has come: removed (the periodic task). Returns how many.
    pub async fn apply_due_removals(&self, now: UnixTime) -> Result<usize> {
        let system = Actor::system("system", Channel::System, "lifecycle");
        let mut applied = 0;
        for request in self.store.due_removals(now).await? {
            let RequestData::RemoveAccount {
                person_id, tokens, ..
            } = request.data
            else {
                continue;
            };
            match self.org_person(request.org_id, person_id).await {
                Ok(person) => {
                    let done = self
                        .remove_leaver(&system, &request, &person, tokens, now)
                        .await?;
                    self.tell_requester(&system, &done, None, now).await;
                }
                Err(_) => {
                    // Removed some other way meanwhile: the request is done all the same.
                    let change = RequestChange {
                        from: &[RequestStatus::InProgress],
                        to: RequestStatus::Done,
                        actor: system.who(),
                        note: Some("the account was removed already"),
                        data: None,
                        scheduled_at: None,
                    };
                    let event = Self::request_event(&system, &request, RequestStatus::Done, now);
                    self.store
                        .update_request(request.id, &change, now, event)
                        .await
                        .map_err(crate::service::refusal::store_refused)?;
                }
            }
            applied += 1;
        }
        Ok(applied)
    }
}

//! Changes of an account by request: name, e-mail, a hardware token replaced.

use super::*;

impl Gateway {
    /// Completes a change of an account: name, e-mail, a replaced token.
    pub(super) async fn complete_change(
        &self,
        actor: &Actor,
        request: &LifecycleRequest,
        done_event: AuditEvent,
        now: UnixTime,
    ) -> Result<LifecycleRequest> {
        let id = request.id;
        let RequestData::ChangeAccount {
            person_id,
            full_name,
            email,
            replace_token,
            old_token,
            new_serial,
        } = request.data.clone()
        else {
            return Err(ServiceError::Internal(
                "complete_change: another kind of request".into(),
            ));
        };
        let person = self.org_person(request.org_id, person_id).await?;
        let what = AccountChange {
            full_name: Some(full_name).filter(|s| !s.is_empty()),
            email: Some(email).filter(|s| !s.is_empty()),
            unlink_tokens: replace_token.then_some(old_token),
            new_serial: Some(new_serial).filter(|s| replace_token && !s.is_empty()),
        };
        let note = "account changed";
        let change = completed(actor, note);
        let mut changed = actor.event(EventKind::PersonChanged, now);
        changed.org_id = Some(person.org_id);
        changed.username = Some(person.username.clone());
        changed.detail = Some(serde_json::json!({
            "request": id,
            "name": what.full_name.is_some(),
            "email": what.email.is_some(),
        }));
        let mut events = vec![done_event, changed];
        if replace_token {
            let mut stock = actor.event(EventKind::TokenStockChanged, now);
            stock.org_id = Some(person.org_id);
            stock.detail = Some(serde_json::json!({
                "request": id,
                "old_token": match old_token { TokenFate::Lost => "lost", TokenFate::Return => "returned" },
                "new_serial": what.new_serial,
            }));
            events.push(stock);
        }
        self.store
            .complete_change(id, person.id, &what, &change, now, events)
            .await
            .map_err(crate::service::refusal::store_refused)
    }
}

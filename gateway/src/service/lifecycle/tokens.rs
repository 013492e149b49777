//! Token orders and reservations by request: an order moves tokens from the provider's
//! stock to the organisation; a reservation is non-binding and moves nothing.

use super::*;

impl Gateway {
    /// Completes a token order: the tokens move from stock to the organisation.
    pub(super) async fn complete_order(
        &self,
        actor: &Actor,
        request: &LifecycleRequest,
        done_event: AuditEvent,
        now: UnixTime,
    ) -> Result<LifecycleRequest> {
        let id = request.id;
        let RequestData::OrderTokens { count, .. } = request.data.clone() else {
            return Err(ServiceError::Internal(
                "complete_order: another kind of request".into(),
            ));
        };
        let note = format!("{count} tokens moved from stock to the organisation");
        let change = completed(actor, &note);
        let mut stock = actor.event(EventKind::TokenStockChanged, now);
        stock.org_id = Some(request.org_id);
        stock.detail = Some(serde_json::json!({
            "request": id, "shipped": count,
        }));
        self.store
            .complete_order(
                id,
                request.org_id,
                count,
                &change,
                now,
                vec![done_event, stock],
            )
            .await
            .map_err(crate::service::refusal::store_refused)
    }

    /// Completes a reservation (non-binding: nothing moves).
    pub(super) async fn complete_reservation(
        &self,
        actor: &Actor,
        request: &LifecycleRequest,
        done_event: AuditEvent,
        now: UnixTime,
    ) -> Result<LifecycleRequest> {
        let id = request.id;
        let RequestData::ReserveTokens { count } = request.data.clone() else {
            return Err(ServiceError::Internal(
                "complete_reservation: another kind of request".into(),
            ));
        };
        let note = format!("{count} tokens reserved");
        let change = completed(actor, &note);
        self.store
            .update_request(id, &change, now, done_event)
            .await
            .map_err(crate::service::refusal::store_refused)
    }
}

"""Step 6, actions: apply the decisions to a placed message: events, status changes, outbox rows."""

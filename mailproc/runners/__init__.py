"""The loops, one per flow: they own transactions, retries and quarantine."""

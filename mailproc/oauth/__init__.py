"""OAuth2 sign-in for mailboxes and the outgoing server: provider presets, the login flows,
grants kept encrypted and refreshed by one process at a time, and the SASL strings."""

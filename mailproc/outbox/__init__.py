"""Step 7, outbox: every outgoing mail is a row written in the deciding transaction."""

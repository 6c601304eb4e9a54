"""Step 2, store: keep every raw message once; write the parsed message, its refs and attachments."""

"""Step 2, store: keep every raw message once; write the parsed message, its refs and attachments;
keep the versions of templates and KB articles edited in the web console."""

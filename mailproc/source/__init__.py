"""Step 1, source: fetch raw bytes from each mailbox and hand them to the store."""

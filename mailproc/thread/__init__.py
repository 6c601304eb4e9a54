"""Step 5, thread: which case a message belongs to (ordered rules) and the lookups they ask."""

"""Step 6, policy: pure decisions that return a value with its rule and reason; no database."""

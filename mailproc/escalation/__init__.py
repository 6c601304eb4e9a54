"""Step 9, escalation: the ladder, the pure plan, the once-only claim, the executor, reminders."""

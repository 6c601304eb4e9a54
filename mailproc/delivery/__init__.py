"""Step 8, delivery: send claimed rows through SMTP or to files; when to try again."""

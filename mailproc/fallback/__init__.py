"""Step 10, fallback: when mail fails: health, circuit breaker, probe, alerts, the phone list."""

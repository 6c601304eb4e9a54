"""Long-running processes over the mailproc library: poller, RQ worker, scheduler."""

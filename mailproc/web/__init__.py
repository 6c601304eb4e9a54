"""The web console: server-rendered pages for admins, leads and agents over the same database."""

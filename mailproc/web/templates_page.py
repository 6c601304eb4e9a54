"""The template editor (filled in below)."""
routes = []

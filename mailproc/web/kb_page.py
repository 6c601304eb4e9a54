"""The KB pages."""
routes = []

"""Sandboxed Jinja2 over templates/: render, a case's context, samples, check."""

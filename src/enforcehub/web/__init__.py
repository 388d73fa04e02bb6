"""The hub over HTTP: API routes (and, later, the dashboard)."""

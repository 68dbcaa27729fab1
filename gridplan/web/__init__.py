"""Flask web UI (issue 4)."""

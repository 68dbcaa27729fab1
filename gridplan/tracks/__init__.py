"""Patrols as they were done: track import and cleaning, presence per micro-grid, compliance."""

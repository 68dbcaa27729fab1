"""Printable route sheets: HTML and PDF, one A4 page per patroller and slice, with an SVG map."""

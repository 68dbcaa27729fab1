"""Analysis: hot spots (Gi*), their aggregation per micro-grid and slice, back-tests."""

"""Example data for the bundled feature repo (``feature_repo/``)."""

"""The featureplat release (recorded in plan files and MLflow runs)."""
__version__ = "0.1.0"

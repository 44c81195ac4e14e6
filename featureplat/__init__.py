"""featureplat: define features once, run them identically in training and serving."""
from featureplat import _core
from featureplat.errors import FeatureplatError, FeatureTypeError, InputError, PlanError

__all__ = ["FeatureplatError", "FeatureTypeError", "InputError", "PlanError"]

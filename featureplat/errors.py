"""Exceptions raised by featureplat. Each message names what was wrong and where."""


class FeatureplatError(Exception):
    """Base class of every featureplat error. ``index`` is the plan step or row, if any."""

    index: int | None = None


class PlanError(FeatureplatError, ValueError):
    """A plan, plan file or feature definition is malformed."""


class FeatureTypeError(PlanError, TypeError):
    """A feature definition does not type-check."""


class InputError(FeatureplatError, ValueError):
    """Data given to ``transform`` / ``transform_row`` does not fit the plan's inputs."""

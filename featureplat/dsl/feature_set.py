"""Feature sets: typed inputs (Feast feature references or request fields) and named
output features."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from featureplat.dsl.expr import Expr, lit
from featureplat.errors import PlanError
from featureplat.plan.dtypes import INPUT_DTYPES
from featureplat.plan.names import check_name
from featureplat.plan.sources import REQUEST, check_source, feast_ref, feast_source


@dataclass(frozen=True)
class Input:
    """A declared, typed input. ``source`` is ``"feast:<view>:<feature>"`` or ``"request"``."""

    dtype: str
    source: str = REQUEST

    def __post_init__(self):
        if self.dtype not in INPUT_DTYPES:
            raise PlanError(f"unknown input dtype {self.dtype!r}; expected one of {', '.join(INPUT_DTYPES)}")
        check_source(self.source, "input source")

    @property
    def feast_ref(self) -> str | None:
        """``view:feature`` for Feast-bound inputs, else None."""
        ref = feast_ref(self.source)
        return None if ref is None else ":".join(ref)


def feast(ref: str, dtype: str) -> Input:
    """An input read from Feast feature ``ref`` ("view:feature").

    >>> feast("driver_stats:trips", "int64").feast_ref
    'driver_stats:trips'
    """
    return Input(dtype, feast_source(ref))


def request(dtype: str) -> Input:
    """An input supplied with each request (or as a column of the training data).

    >>> request("float64").source
    'request'
    """
    return Input(dtype, REQUEST)


class FeatureSet:
    """A named set of features over declared inputs.

    >>> import featureplat as fp
    >>> fs = fp.FeatureSet("demo", inputs={"x": fp.request("float64")},
    ...                    features={"x_log": fp.col("x").log1p()})
    >>> fs.feature_names
    ['x_log']
    """

    def __init__(self, name: str, inputs: Mapping[str, Input], features: Mapping[str, Expr]):
        check_name(name, "feature set name")
        if not inputs:
            raise PlanError(f"feature set {name!r} declares no inputs")
        if not features:
            raise PlanError(f"feature set {name!r} declares no features")
        for k, v in inputs.items():
            if not isinstance(k, str) or not k:
                raise PlanError(f"feature set {name!r}: input names must be non-empty strings")
            if not isinstance(v, Input):
                raise PlanError(f"feature set {name!r}: input {k!r} must be fp.feast(...) or fp.request(...)")
        feats = {}
        for k, v in features.items():
            if not isinstance(k, str) or not k:
                raise PlanError(f"feature set {name!r}: feature names must be non-empty strings")
            feats[k] = lit(v) if not isinstance(v, Expr) else v
        self.name = name
        self.inputs = dict(inputs)
        self.features = feats

    @property
    def feature_names(self) -> list[str]:
        """Output feature names, in order."""
        return list(self.features)

    def __repr__(self) -> str:
        return f"FeatureSet({self.name!r}, inputs={list(self.inputs)}, features={list(self.features)})"

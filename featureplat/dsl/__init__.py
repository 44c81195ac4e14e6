"""The feature DSL: expressions and feature sets."""
from featureplat.dsl.expr import Expr, coalesce, col, lit, when
from featureplat.dsl.feature_set import FeatureSet, Input, feast, request

__all__ = ["Expr", "FeatureSet", "Input", "coalesce", "col", "feast", "lit", "request", "when"]

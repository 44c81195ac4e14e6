"""The Feast layer: feature repos and ``apply``, registry resolution, point-in-time
training sets (the core's native join, or Feast's own), online serving from Feast's
SQLite or Redis online store, the HTTP server and the on-demand-view adapter.

It depends on the core layer (:mod:`featureplat.plan`, :mod:`featureplat.dsl`,
:mod:`featureplat.compile`) and never on the MLflow layer.
"""
import sys
import types

from featureplat.dsl.feature_set import Input
from featureplat.dsl.feature_set import feast as _feast_input
from featureplat.feast.point_in_time import point_in_time_join
from featureplat.feast.repo import AppliedRepo, apply, feature_store, load_repo, plan_index, registered_plan
from featureplat.feast.serving import OnlineFeatures
from featureplat.feast.stores import StoreUnavailable
from featureplat.feast.training import TrainingSet, training_set

__all__ = ["AppliedRepo", "OnlineFeatures", "StoreUnavailable", "TrainingSet", "apply", "feature_store", "load_repo",
           "plan_index", "point_in_time_join", "registered_plan", "training_set"]


class _FeastPackage(types.ModuleType):
    """Importing this package binds ``featureplat.feast`` to it, where the DSL's
    ``fp.feast(ref, dtype)`` lives too: the package stays callable as that function."""

    def __call__(self, ref: str, dtype: str) -> Input:
        return _feast_input(ref, dtype)


sys.modules[__name__].__class__ = _FeastPackage

"""Compatibility path: models logged by featureplat 0.1 before the package layout import
``featureplat.training.coerce_inputs`` at predict time. New code imports
:mod:`featureplat.feast.training`."""
from featureplat.feast.training import TrainingSet, as_online, coerce_inputs, entity_table, training_set
from featureplat.feast.views import ViewSource, feast_refs, resolve_plan, resolve_views

__all__ = ["TrainingSet", "ViewSource", "as_online", "coerce_inputs", "entity_table", "feast_refs", "resolve_plan",
           "resolve_views", "training_set"]

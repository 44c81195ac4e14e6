"""Compatibility path: models logged by featureplat 0.1 before the package layout import
``featureplat.training.coerce_inputs`` at predict time (now the plan's inputs as given:
the core converts them). New code imports :mod:`featureplat.feast.training`."""
from featureplat.feast.training import TrainingSet, as_online, entity_table, training_set
from featureplat.feast.views import ViewSource, feast_refs, resolve_plan, resolve_views
from featureplat.plan.inputs import input_table as coerce_inputs  # no longer casts: the core converts

__all__ = ["TrainingSet", "ViewSource", "as_online", "coerce_inputs", "entity_table", "feast_refs", "resolve_plan",
           "resolve_views", "training_set"]

"""Compatibility path: on-demand feature views stored in Feast registries before the
package layout run ``from featureplat.feast_adapter import run_plan``. New code imports
:mod:`featureplat.feast.on_demand`."""
from featureplat.feast.on_demand import on_demand_view, run_plan

__all__ = ["on_demand_view", "run_plan"]

"""Expression trees -> flat plans (type checking and optimisation run in the C++ core)."""
from featureplat.compile.lower import compile

__all__ = ["compile"]

"""The safe alphabet of plan and feature-set names.

A plan's name becomes a file name (``apply`` writes ``<name>.fpplan``), a default view
name, a tag value and text in messages, so it is restricted at construction, compile
and load to ASCII letters, digits, ``_`` and ``-``, starting with a letter or ``_``, at
most 128 characters: no path separator, no dot, no quote, no whitespace.

>>> check_name("churn_features", "feature set name")
'churn_features'
>>> check_name("../x", "feature set name")
Traceback (most recent call last):
...
featureplat.errors.PlanError: feature set name '../x' is not allowed: use ASCII letters, digits, '_' and '-', starting with a letter or '_' (at most 128 characters)
"""
from __future__ import annotations

import re

from featureplat.errors import PlanError

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,127}")


def check_name(name: object, what: str) -> str:
    """``name`` if it is in the safe alphabet, else PlanError naming ``what``."""
    if not isinstance(name, str) or NAME_PATTERN.fullmatch(name) is None:
        raise PlanError(f"{what} {name!r} is not allowed: use ASCII letters, digits, '_' and '-', starting with a "
                        "letter or '_' (at most 128 characters)")
    return name

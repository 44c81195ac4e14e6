"""The one validation of a ``threads`` argument, for every entry point that takes one."""
from __future__ import annotations

import numbers
import os

from featureplat.errors import InputError


def thread_count(threads: object) -> int:
    """``threads`` as a worker count: a non-negative integer, 0 meaning every core.

    >>> thread_count(2), thread_count(0) >= 1
    (2, True)
    """
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 0:
        raise InputError(f"threads must be a non-negative integer (0: every core), got {threads!r}")
    return int(threads) or (os.cpu_count() or 1)

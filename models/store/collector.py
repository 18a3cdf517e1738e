"""Keeping Python's cyclic garbage collector out of the way of bulk work that makes no cycles.

Bulk intake and audit verification allocate short-lived tuples and dicts by the
batch. Those that outlive a young collection (a batch's rows, a fetched chunk) are
promoted, and enough promotions trigger full collections, each walking every object
the process holds — and a Prefect process holds a large heap before any work.
Reference counting frees this work's objects either way; the collector only has to
run once it is over (BENCHMARKS.md, bulk intake and audit verification).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block, back as it was after (nesting is harmless)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def frozen() -> Iterator[None]:
    """What the process holds when the block starts left out of the collector's full
    collections until it ends (``gc.freeze``): a long import's promotions still trigger
    full collections, which then walk what the import made, not Prefect's whole heap.
    Nothing is lost: garbage among the frozen objects is collected after the block.
    Nesting ends the outer block's freeze early, which costs time, not memory."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()

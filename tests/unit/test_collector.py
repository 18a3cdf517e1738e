"""Keeping the garbage collector out of bulk work: what the process had is given back."""

from __future__ import annotations

import gc
import weakref

import pytest

from models.store import collector


class Node:
    """An object that can take part in a reference cycle."""

    other: Node | None = None


def _cycle() -> weakref.ref[Node]:
    """A two-object cycle nobody refers to any more: garbage only the collector frees."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_frozen_keeps_what_was_there_out_of_collections_and_gives_it_back() -> None:
    with collector.paused():  # the cycle must outlive its making to be frozen with the rest
        gone = _cycle()
        with collector.frozen():
            assert gc.get_freeze_count() > 0
            gc.collect()
            assert gone() is not None  # frozen: not walked, not freed
        assert gc.get_freeze_count() == 0
        gc.collect()
    assert gone() is None  # nothing lost: collected once the block is over


def test_frozen_gives_back_when_the_block_fails() -> None:
    with pytest.raises(RuntimeError), collector.frozen():
        raise RuntimeError("the import failed")
    assert gc.get_freeze_count() == 0


def test_paused_restores_the_collector_as_it_was() -> None:
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled()  # off before, off after
    finally:
        gc.enable()

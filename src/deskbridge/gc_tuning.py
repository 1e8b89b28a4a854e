"""Garbage-collector tuning for the long, allocation-heavy work of the server and the integrator."""

from __future__ import annotations

__all__ = ["tune_gc"]


def tune_gc() -> None:
    """Keep full garbage collections out of requests and sync batches.

    A request that reads or writes 1,000 records allocates enough to trigger several full (gen 2) collections,
    each walking every object loaded at start-up (~100 ms measured by bench/bench_api.py). Freezing the start-up
    heap takes it out of those walks, and a larger first threshold makes collections rarer.

    Only the young generations are collected before freezing: a full collection of the start-up heap took ~40 ms
    of every integrator run and found almost nothing to free (5 objects).
    """
    import gc

    gc.collect(1)
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)

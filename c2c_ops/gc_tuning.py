"""Garbage collection in web workers: no long pauses under load.

A gunicorn worker holds a few hundred thousand objects once Django, DRF and the app are
loaded. Python's full collection walks them all: 100-150 ms on the bench machine, during
which every thread of the worker stands still, and under a thousand callbacks a second it
came every few seconds (the whole p99 of single callbacks). So, as large Django sites do:

- once the app is loaded, collect and then freeze what is left (``gc.freeze``): those
  objects live as long as the process, and the collector stops walking them;
- once more after the first requests, when lazy imports, URL resolvers and caches are
  built (the requests in flight then are frozen too: a one-time, bounded leak of their
  cycles);
- a higher first-generation threshold: fewer, cheaper collections.

Full collections then take 10-30 ms. Memory is unchanged: objects freed by reference
counting are freed as before; only cycles among frozen objects are never collected.
"""

import gc

# Collect the youngest generation after this many allocations (Python's default: 700).
THRESHOLD = (10_000, 10, 10)
# Requests after which the warm state is frozen as well.
WARM_AFTER = 1_000

_served = 0


def settle() -> None:
    """In a worker that has just loaded the app."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLD)


def request_done() -> None:
    global _served
    _served += 1
    if _served == WARM_AFTER:
        gc.collect()
        gc.freeze()

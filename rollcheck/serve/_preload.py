"""Getting a receiver process ready for a steady stream of webhooks, before it takes the first one.

Two pauses used to land on the deliveries themselves (measured at 100 a second, bench/_serve_load.py):

- the first event loaded the Kubernetes client, Helm and the notifiers, holding the interpreter while other
  deliveries waited for an answer;
- with them loaded the process holds some 45 000 long-lived objects, and every full garbage collection walked
  them all again: 60-190 ms in which no delivery was answered, every ten to twenty seconds under load.

`preload()` loads the modules at start, then freezes every object alive at that point, so later collections
walk only what the receiver allocates while it runs. It is for the process that serves (`rollcheck serve`);
the in-process receivers of the tests do not need it.
"""

from __future__ import annotations

import gc
import importlib

__all__ = ["preload"]

#: What an event imports when it runs (each is imported there, not at the top, so that `rollcheck --version`
#: stays light).
EVENT_MODULES = ("rollcheck.helm", "rollcheck.kube", "rollcheck.notify", "rollcheck.serve._guards")


def preload() -> None:
    """Load what events need and move every object alive now out of the collector's way (gc.freeze)."""
    for name in EVENT_MODULES:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()

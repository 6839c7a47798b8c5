"""One connection, one thread at a time: the lock every store method runs under."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")


class HasLock(Protocol):
    lock: threading.RLock


_S = TypeVar("_S", bound=HasLock)


def serialized(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
    """Run a store method under the store's lock: one connection, one thread at a time.

    Documents are processed in worker threads while the main thread writes the previous batch;
    the engine's result cache (``page_cache``) and the batch writes share the store's connection."""

    @functools.wraps(method)
    def locked(self: _S, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self.lock:
            return method(self, *args, **kwargs)

    return locked

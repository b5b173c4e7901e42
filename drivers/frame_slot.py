"""FrameSlot: hands the newest frame from a camera's grab thread to readers (shared by the camera drivers).

Readers never get stale data silently: while the producer reports an error (disconnected, recording
ended, closed) or has produced nothing for `stale_after_s`, reads raise instead of returning the old frame.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from robot_rl.drivers.camera_errors import CameraDisconnected, CameraError

T = TypeVar("T")


class FrameSlot(Generic[T]):
    """The newest item published by one producer thread, with the error that stands in for it."""

    def __init__(self, who: Callable[[], str], stale_after_s: float | None) -> None:
        """`who()` names the camera in messages; `stale_after_s` (s, None = never) is the age beyond which
        the newest item is no longer returned."""
        self._who, self.stale_after_s = who, stale_after_s
        self._cond = threading.Condition()
        self._item: T | None = None
        self._arrival = 0.0
        self._seq = self._returned = 0
        self._error: CameraError | None = None

    def publish(self, item: T, arrival: float) -> None:
        """A new item that arrived at `arrival` (host monotonic s); clears a `CameraDisconnected`."""
        with self._cond:
            self._item, self._arrival = item, arrival
            self._seq += 1
            if isinstance(self._error, CameraDisconnected):
                self._error = None
            self._cond.notify_all()

    def fail(self, error: CameraError) -> None:
        """From now on reads raise (a copy of) `error` until the next `publish` (if it is a disconnect)."""
        with self._cond:
            self._error = error
            self._cond.notify_all()

    @property
    def error(self) -> CameraError | None:
        return self._error

    def latest(self, deadline: float) -> T:
        """The newest item; waits until monotonic `deadline` only if nothing was ever published."""
        with self._cond:
            while self._item is None and self._error is None and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            if self._item is None and self._error is None:
                raise CameraDisconnected(f"{self._who()}: no frame yet (device slow to start, or warming up)")
            return self._take()

    def next(self, timeout_s: float) -> T:
        """Wait up to `timeout_s` (s) for an item newer than the last one returned, and return it."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._seq <= self._returned and self._error is None and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            if self._seq <= self._returned and self._error is None:
                raise CameraDisconnected(f"{self._who()}: no new frame within {timeout_s:.3g} s")
            return self._take()

    def wait_taken(self, stop: threading.Event) -> None:
        """Block the producer until the newest item was returned to a reader (or `stop` is set)."""
        with self._cond:
            while self._returned < self._seq and not stop.is_set():
                self._cond.wait(0.05)

    def _take(self) -> T:
        if self._error is not None:
            raise type(self._error)(str(self._error))
        age = time.monotonic() - self._arrival
        if self.stale_after_s is not None and age > self.stale_after_s:
            raise CameraDisconnected(f"{self._who()} disconnected: no frame for {age:.2f} s")
        self._returned = self._seq
        self._cond.notify_all()
        return self._item

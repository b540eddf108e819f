"""Turns for the portal's uploads: one upload is checked at a time (the pipeline lock), and waiting uploads are
served in turn by office country, so an office that sends many files (or one heavy file after another) waits
behind one file of every other office, never the reverse. First come, first served within a country."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from contextlib import contextmanager


class FairTurns:
    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._queues: OrderedDict[str, deque] = OrderedDict()   # country -> tickets, in the order turns go
        self._busy = False

    def waiting(self) -> dict[str, int]:
        with self._cv:
            return {k: len(q) for k, q in self._queues.items()}

    def _next(self):
        for q in self._queues.values():
            return q[0]
        return None

    @contextmanager
    def turn(self, key: str | None):
        """Wait for this caller's turn (``key``: the office's country), hold it for the block."""
        key = key or "-"
        ticket = object()
        with self._cv:
            self._queues.setdefault(key, deque()).append(ticket)
            while self._busy or self._next() is not ticket:
                self._cv.wait()
            self._busy = True
            q = self._queues[key]
            q.popleft()
            if q:
                self._queues.move_to_end(key)    # this country's next file goes behind every other country's
            else:
                del self._queues[key]
        try:
            yield
        finally:
            with self._cv:
                self._busy = False
                self._cv.notify_all()

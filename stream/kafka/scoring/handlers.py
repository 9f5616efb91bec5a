"""Batches handled side by side: the model runs without the GIL, so one batch's inference
overlaps the next one's parsing and tokenising (or the previous one's transaction) on the
second core. Handled batches come out in the order they were read."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from stream.kafka.scoring.batches import BatchHandler, HandledBatch, InputBatch, Ranges


class HandlerPool:
    def __init__(self, handle: BatchHandler, threads: int) -> None:
        self._handle = handle
        self._threads = threads
        self._pool = (
            ThreadPoolExecutor(threads, thread_name_prefix="scoring-handler")
            if threads > 1
            else None
        )
        self._pending: deque[tuple[Future[HandledBatch], Ranges]] = deque()

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    @property
    def full(self) -> bool:
        return len(self._pending) >= self._threads

    def submit(self, batch: InputBatch) -> None:
        """The handler is called here, in read order; its work runs on a handler thread, or
        here and now with one thread."""
        work = self._handle(batch.records, batch.undecodable)
        if self._pool is not None:
            future = self._pool.submit(work)
        else:
            future = Future()
            future.set_result(work())
        self._pending.append((future, batch.ranges))

    def next_done(self, wait: bool) -> tuple[HandledBatch, Ranges] | None:
        """The oldest batch once it is handled (waiting for it if `wait`), else None, with
        its in-order messages made now. A handler's exception is raised here: it is the
        consumer's failure."""
        if not self._pending or not (wait or self._pending[0][0].done()):
            return None
        future, ranges = self._pending.popleft()
        return future.result().completed(), ranges

    def discard(self) -> None:
        """Batches handled after an aborted one are read again from the rewound position."""
        while self._pending:
            future, _ = self._pending.popleft()
            future.exception()  # wait for it; its outputs are dropped either way

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

"""The Faust-side lag: a partition revoked while it is measured drops out, no crash."""

from __future__ import annotations

import asyncio

from aiokafka.errors import IllegalStateError
from faust.types import TP

from stream.kafka.faust_lag import FaustLag

FEEDBACK_0, FEEDBACK_1, RAW_0 = TP("feedback", 0), TP("feedback", 1), TP("raw", 0)


class RebalancingConsumer:
    """Owns feedback 0 and 1; feedback 1 is revoked while its position is asked."""

    def assignment(self) -> set[TP]:
        return {FEEDBACK_0, FEEDBACK_1, RAW_0}

    async def position(self, tp: TP) -> int:
        if tp == FEEDBACK_1:
            raise IllegalStateError(f"Partition {tp} is not assigned")
        return 40

    def highwater(self, tp: TP) -> int:
        return 42


def test_a_partition_revoked_while_measured_drops_out() -> None:
    lag = FaustLag(["feedback"])
    asyncio.run(lag.measure(RebalancingConsumer()))  # type: ignore[arg-type]
    assert lag.latest == {("feedback", 0): 2}

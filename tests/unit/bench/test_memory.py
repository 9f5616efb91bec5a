"""Reading a process's memory from /proc."""

import math
import os

from bench.memory import status_mb


def test_the_resident_memory_is_read_and_its_peak_is_at_least_it() -> None:
    resident = status_mb("VmRSS")
    assert 1 < resident <= status_mb("VmHWM", os.getpid())
    assert math.isnan(status_mb("NoSuchField"))

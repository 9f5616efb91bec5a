"""A process's memory as the kernel counts it (/proc/PID/status), in MB."""

from __future__ import annotations

from pathlib import Path


def status_mb(field: str, pid: int | str = "self") -> float:
    """`field` of /proc/PID/status (VmRSS: resident now, VmHWM: its peak), NaN when absent."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")

"""The benchmark table of docs/benchmark.md, generated from bench/results.json."""

from __future__ import annotations

import json
import re

from bench.report import RANGE, markdown_table
from tests.support import PROJECT_ROOT


def test_the_docs_table_is_the_one_generated_from_the_committed_results() -> None:
    doc = (PROJECT_ROOT / "docs" / "benchmark.md").read_text()
    found = re.search(r"<!-- bench-table:[^\n]*-->\n(.*?)\n<!-- /bench-table -->", doc, re.S)
    assert found, "docs/benchmark.md has lost its bench-table markers"
    results = json.loads((PROJECT_ROOT / "bench" / "results.json").read_text())
    assert found.group(1) == markdown_table(results), (
        "regenerate it: python -m bench.report --markdown"
    )


def test_a_row_gives_the_median_range_ratio_stalls_and_each_paced_run() -> None:
    run = {
        "paced_latency_ms": {"p50": 40.0, "p95": 90.0, "p99": 120.0},
        "paced_offered_per_s": 2500,
    }
    results = {
        "raw_scorer_tweets_per_s": 5000.0,
        "raw_scorer_tweets_per_s_spread": {"min": 4900.0, "max": 5100.0},
        "contenders": [
            {
                "name": "w",
                "role": "worker",
                "runs": 2,
                "tweets_per_s": 4000.0,
                "tweets_per_s_spread": {"min": 3000.0, "max": 4500.0},
                "cpu_cores_busy_during_backlog": 1.5,
                "backlog_min_per_s": 1200,
                "backlog_stall_runs": 1,
                "peak_rss_mb": 210.4,
                "per_run": [run, {}],
            },
            {
                "name": "peer",
                "role": "quix",
                "runs": 1,
                "tweets_per_s": 1000.0,
                "tweets_per_s_spread": {"min": 1000.0, "max": 1000.0},
                "cpu_cores_busy_during_backlog": 1.0,
                "backlog_min_per_s": None,
                "backlog_stall_runs": 0,
                "peak_rss_mb": 100.0,
                "per_run": [{}],
            },
        ],
    }
    rows = markdown_table(results).splitlines()
    assert rows[2] == (
        f"| raw scorer (no Kafka, batch 64, 1 thread) | 5,000 (4,900{RANGE}5,100) | 1.00 | 1 "
        "| - | - | - |"
    )
    assert rows[3] == (
        f"| **w** | **4,000 (3,000{RANGE}4,500)** | **0.80** | 1.50 | 1,200/s (1 of 2) "
        "| 40/90/120 (2,500) | 210 MB |"
    )
    assert rows[4] == f"| peer | 1,000 (1,000{RANGE}1,000) | 0.20 | 1.00 | - | - | 100 MB |"

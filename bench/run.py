"""`python -m bench.run`: worker vs raw scorer vs confluent-kafka loop vs Quix Streams."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench import procs, raw_scorer, report, scenario
from bench.data import load_texts, payloads, tweet_texts
from bench.kafka_io import broker


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tweets", type=int, default=200_000, help="preloaded backlog size")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/results.json"))
    parser.add_argument(
        "--configs", default="64/50,256/20", help="worker BATCH_SIZE/MAX_WAIT_MS pairs to try"
    )
    parser.add_argument("--paced-s", type=float, default=30.0, help="0 skips the paced phase")
    parser.add_argument("--paced-fraction", type=float, default=0.5)
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument(
        "--scale-out", action="store_true", help="also run 2 workers in one group (first config)"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    configs = [tuple(int(x) for x in pair.split("/")) for pair in args.configs.split(",")]
    texts = tweet_texts(load_texts(), args.tweets)
    results: dict[str, Any] = {"machine": report.machine(), "tweets": args.tweets}
    print(f"raw scorer on {len(texts)} texts ...", flush=True)
    results["raw_scorer_tweets_per_s"] = round(raw_scorer.tweets_per_s(texts), 1)
    rows: list[dict[str, Any]] = []
    run_id = uuid.uuid4().hex[:6]
    with broker() as (kafka, kafka_version), tempfile.TemporaryDirectory() as tmp:
        results["machine"]["kafka_version"] = kafka_version
        load = scenario.Load(
            kafka,
            args.partitions,
            payloads(texts, scenario.BACKLOG),
            texts,
            args.paced_s,
            args.paced_fraction,
        )

        def topics(tag: str) -> procs.Topics:
            name = f"bench-{run_id}-{tag}"
            return procs.Topics(f"{name}.raw", f"{name}.out", name)

        contenders: list[tuple[procs.Child | procs.Group, procs.Topics, bool]] = []
        for batch, wait_ms in configs:
            t = topics(f"worker-{batch}-{wait_ms}")
            child = procs.worker(kafka, t, args.partitions, batch, wait_ms, Path(tmp) / t.group)
            contenders.append((child, t, True))
        if args.scale_out:
            batch, wait_ms = configs[0]
            t = topics(f"group-{batch}-{wait_ms}")
            group = procs.worker_group(
                kafka, t, args.partitions, batch, wait_ms, Path(tmp) / t.group
            )
            contenders.append((group, t, False))
        if not args.skip_peers:
            t = topics("plain")
            contenders.append((procs.plain_loop(kafka, t, 64, Path(tmp) / t.group), t, False))
            t = topics("quix")
            contenders.append((procs.quix_app(kafka, t, Path(tmp) / t.group), t, False))
        for child, t, paced in contenders:
            print(f"{child.name} ...", flush=True)
            started = time.monotonic()
            try:
                rows.append(scenario.run(child, t, load, paced))
            except RuntimeError as exc:  # one broken contender must not lose the others
                print(f"  FAILED: {exc}")
                results.setdefault("failures", {})[child.name] = str(exc)[-2000:]
                continue
            print(f"  {rows[-1]['tweets_per_s']:.0f} tweets/s ({time.monotonic() - started:.0f} s)")
    finish(args, results, rows, configs)


def finish(
    args: argparse.Namespace, results: dict[str, Any], rows: list[dict[str, Any]], configs: list
) -> None:
    raw = results["raw_scorer_tweets_per_s"]
    workers = [row for row in rows if row["name"].startswith("badbuzz worker")]
    reference = workers[0]["tweets_per_s"]
    best = max(workers, key=lambda row: row["tweets_per_s"])
    scorer_row = {"name": "raw scorer (no Kafka)", "tweets_per_s": raw}
    results |= {
        "worker_configs": [f"{b}/{w}ms" for b, w in configs],
        "best_worker_config": best["name"],
        "contenders": rows,
        "worker_vs_raw_scorer": round(best["tweets_per_s"] / raw, 3),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(report.table([scorer_row, *rows], reference))
    print(f"\nbest worker config: {best['name']}; figures in {args.out}")


if __name__ == "__main__":
    main()

"""`python -m bench.run`: worker (at-least-once and exactly-once) vs raw scorer vs
confluent-kafka loop vs Quix Streams, each run `--repeats` times."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench import procs, raw_scorer, report, scenario, stats, summary, warmup
from bench.data import FRENCH, load_texts, mixed, payloads, tweet_texts
from bench.kafka_io import broker
from stream.kafka import KafkaConnection
from stream.settings import Settings

DEFAULT_CONFIG = (
    f"{Settings.model_fields['batch_size'].default}/"
    f"{Settings.model_fields['batch_max_wait_ms'].default}"
)
WARMUP_RATE = 2_500.0  # tweets/s: the paced phases' rate on this machine

Make = Callable[[procs.Topics, Path], procs.Child | procs.Group]


@dataclass(frozen=True)
class Contender:
    tag: str
    role: str
    paced: bool
    make: Make
    brands: int = 1  # tweets spread over this many brands (alert scopes)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tweets", type=int, default=100_000, help="preloaded backlog size")
    parser.add_argument("--repeats", type=int, default=3, help="runs of every contender")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/results.json"))
    parser.add_argument(
        "--configs",
        default=DEFAULT_CONFIG,
        help="worker BATCH_SIZE/MAX_WAIT_MS pairs; the first also runs exactly-once",
    )
    parser.add_argument("--paced-s", type=float, default=30.0, help="0 skips the paced phase")
    parser.add_argument("--paced-fraction", type=float, default=0.5)
    parser.add_argument(
        "--warmup-s",
        type=float,
        default=30.0,
        help="unmeasured paced traffic through the broker first (bench/warmup.py); 0 skips",
    )
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument(
        "--brands", type=int, default=10_000, help="brands of the many-brands worker contender"
    )
    parser.add_argument("--only", help="comma-separated contender tags to run (default: all)")
    parser.add_argument(
        "--scale-out", action="store_true", help="also run 2 workers in one group (first config)"
    )
    parser.add_argument(
        "--french-share",
        type=float,
        default=0.0,
        help="share of the contenders' tweets that are French, without `lang` (0.5: a 50/50 "
        "stream; docs/languages.md); the raw scorer stays on English",
    )
    return parser.parse_args()


def contenders(args: argparse.Namespace, kafka: KafkaConnection) -> list[Contender]:
    """Single workers get the paced phase; the peers and the group only the backlog."""
    configs = [
        procs.WorkerConfig(*(int(part) for part in pair.split("/")))
        for pair in args.configs.split(",")
    ]
    exactly_once = replace(configs[0], guarantee="exactly_once")
    partitions = args.partitions

    def worker(config: procs.WorkerConfig) -> Make:
        return lambda topics, workdir: procs.worker(kafka, topics, partitions, config, workdir)

    out = [Contender(f"worker-{c.batch}-{c.wait_ms}", "worker", True, worker(c)) for c in configs]
    out.append(Contender("worker-eos", "worker_exactly_once", True, worker(exactly_once)))
    out.append(
        Contender("worker-brands", "worker_many_brands", False, worker(configs[0]), args.brands)
    )
    shadowed = replace(configs[0], shadow=True)
    out.append(Contender("worker-shadow", "worker_shadow", False, worker(shadowed)))
    if args.scale_out:
        out.append(
            Contender(
                "group",
                "worker_group",
                False,
                lambda topics, workdir: procs.worker_group(
                    kafka, topics, partitions, configs[0], workdir
                ),
            )
        )
    if not args.skip_peers:
        out.append(
            Contender(
                "plain",
                "plain_loop",
                False,
                lambda topics, workdir: procs.plain_loop(kafka, topics, 64, workdir),
            )
        )
        out.append(
            Contender(
                "quix",
                "quix",
                False,
                lambda topics, workdir: procs.quix_app(kafka, topics, workdir),
            )
        )
    if args.only:
        wanted = set(args.only.split(","))
        out = [contender for contender in out if contender.tag in wanted]
    return out


def main() -> None:
    args = parse_args()
    data_dir = Settings().training_data_dir
    english = tweet_texts(load_texts(data_dir), args.tweets)
    texts = english
    if args.french_share:
        texts, _ = mixed(english, load_texts(data_dir, FRENCH), args.french_share)
    results: dict[str, Any] = {
        "machine": report.machine(),
        "tweets": args.tweets,
        "french_share": args.french_share,
        "repeats": args.repeats,
    }
    raw_runs: list[float] = []
    runs: dict[str, list[dict[str, Any]]] = {}
    names: dict[str, str] = {}
    run_id = uuid.uuid4().hex[:6]
    started = time.monotonic()
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
        print(f"warming the broker for {args.warmup_s:.0f} s", flush=True)
        warmup.warm_broker(kafka, args.partitions, texts, args.warmup_s, WARMUP_RATE)
        results["broker_warmup_s"] = args.warmup_s
        lineup = contenders(args, kafka)
        # Round-robin, not one contender's runs in a row: a slow spell of the shared machine
        # then costs every contender one run instead of one contender all of its runs.
        for repeat in range(1, args.repeats + 1):
            raw_runs.append(round(raw_scorer.tweets_per_s(english), 1))
            print(f"[run {repeat}] raw scorer {raw_runs[-1]:.0f} tweets/s", flush=True)
            for contender in lineup:
                topics = _topics(f"{run_id}-{contender.tag}-{repeat}")
                child = contender.make(topics, Path(tmp) / topics.group)
                brands = f", {contender.brands:,} brands" if contender.brands > 1 else ""
                names[contender.tag] = child.name + brands
                print(f"[run {repeat}] {child.name} ...", flush=True)
                backlog = payloads(texts, scenario.BACKLOG, contender.brands)
                try:
                    run = scenario.run(
                        child, topics, replace(load, backlog=backlog), contender.paced
                    )
                except RuntimeError as exc:  # one broken contender must not lose the others
                    print(f"  FAILED: {exc}")
                    results.setdefault("failures", {})[f"{child.name} run {repeat}"] = str(exc)[
                        -2000:
                    ]
                    continue
                run["load_average_1m_after"] = report.load_average()[0]
                runs.setdefault(contender.tag, []).append(run)
                print(f"  {_run_line(run)} ({time.monotonic() - started:.0f} s in)", flush=True)
        rows = [
            summary.contender_row(names[c.tag], c.role, runs[c.tag])
            for c in lineup
            if c.tag in runs
        ]
    finish(args, results, raw_runs, rows)


def _topics(tag: str) -> procs.Topics:
    name = f"bench-{tag}"
    return procs.Topics(f"{name}.raw", f"{name}.out", name)


def _run_line(run: dict[str, Any]) -> str:
    pace = run.get("backlog_pace") or {}
    line = f"{run['tweets_per_s']:.0f} tweets/s, slowest second {pace.get('min_per_s', '-')}/s"
    if pace.get("stall"):
        line += f" STALL at seconds {pace['stalled_seconds']}"
    if "paced_latency_ms" in run:
        figures = run["paced_latency_ms"]
        line += f"; paced p99 {figures['p99']:.0f} ms at {run['paced_offered_per_s']:.0f}/s"
    return line


def finish(
    args: argparse.Namespace,
    results: dict[str, Any],
    raw_runs: list[float],
    rows: list[dict[str, Any]],
) -> None:
    raw = stats.spread(raw_runs)
    ratios = summary.ratios(raw["median"], rows)
    results |= {
        "raw_scorer_tweets_per_s": raw["median"],
        "raw_scorer_tweets_per_s_spread": {"min": raw["min"], "max": raw["max"]},
        "raw_scorer_tweets_per_s_runs": raw_runs,
        "load_average_at_end": report.load_average(),
        "contenders": rows,
        "ratios": ratios,
    }
    goals = summary.goals(ratios, rows)
    results["goals"] = [{"goal": g.text, "measured": g.measured, "met": g.met} for g in goals]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(report.table(raw, rows))
    print()
    for goal in goals:
        print(f"{'met ' if goal.met else 'MISS'}  {goal.text}: {goal.measured}")
    print(
        f"\nload average {results['machine']['load_average_at_start']} at start, "
        f"{results['load_average_at_end']} at end; figures in {args.out}"
    )


if __name__ == "__main__":
    main()

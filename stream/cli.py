"""`badbuzz ...`: parses arguments and calls library functions, nothing more."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from stream.settings import Settings

DEFAULT_DATA_DIR = Path("../shared/data")

if TYPE_CHECKING:
    from model import SentimentModel


def _load_model(settings: Settings) -> SentimentModel:
    """Imported late so commands that need no model start fast."""
    from model import SentimentModel

    return SentimentModel.load(settings.model_path, num_threads=settings.inference_threads)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from stream.worker import run_worker

    run_worker(settings, _load_model(settings))
    return 0


def cmd_score(args: argparse.Namespace, settings: Settings) -> int:
    from model.csv_scoring import score_csv

    rows = score_csv(_load_model(settings), args.input, args.output, args.text_column)
    print(f"scored {rows} rows -> {args.output}")
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from stream.replay import replay

    sent = replay(
        args.file,
        settings.kafka_bootstrap_servers,
        settings.topic_raw,
        rate=args.rate,
        limit=args.limit,
        brand=args.brand,
        live_timestamps=not args.keep_timestamps,
        text_column=args.text_column,
    )
    print(f"replayed {sent} tweets to {settings.topic_raw}")
    return 0


def cmd_tail(args: argparse.Namespace, settings: Settings) -> int:
    from stream.tail import tail

    topics = [settings.topic_sentiment, settings.topic_alerts]
    if args.deadletters:
        topics.append(settings.topic_deadletter)
    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    tail(
        settings.kafka_bootstrap_servers,
        topics,
        from_beginning=args.from_beginning,
        keep_going=lambda: deadline is None or time.monotonic() < deadline,
    )
    return 0


def cmd_schemas(args: argparse.Namespace, settings: Settings) -> int:
    from schemas import json_schemas

    schemas = json_schemas()
    if args.output is None:
        print(json.dumps(schemas, indent=2))
        return 0
    args.output.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas.items():
        (args.output / f"{name}.schema.json").write_text(json.dumps(schema, indent=2) + "\n")
    print(f"wrote {len(schemas)} schemas to {args.output}")
    return 0


def cmd_topics(args: argparse.Namespace, settings: Settings) -> int:
    from stream.topics import ensure_badbuzz_topics

    ensure_badbuzz_topics(settings)
    print("topics ready: " + ", ".join(settings.all_topics))
    return 0


def cmd_kafka(args: argparse.Namespace, settings: Settings) -> int:
    from stream.localkafka import down, up

    if args.action == "up":
        print(f"Kafka is up at {up(args.port, args.workdir)}")
    elif down(args.workdir):
        print("Kafka stopped")
    else:
        print("no local Kafka was running")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from stream.demo import run_demo

    return run_demo(settings, tweets=args.file, rate=args.rate)


def cmd_train_bilstm(args: argparse.Namespace, settings: Settings) -> int:
    from training.bilstm import BiLSTMConfig, train_bundle

    config = BiLSTMConfig(epochs=args.epochs, limit=args.limit)
    metadata = train_bundle(args.out, config, args.data_dir)
    print(json.dumps({"version": metadata["version"], "metrics": metadata["metrics"]}, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="badbuzz", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("worker", help="run the streaming worker").set_defaults(func=cmd_worker)

    score = commands.add_parser("score", help="score a CSV file offline")
    score.add_argument("input", type=Path)
    score.add_argument("-o", "--output", type=Path, required=True)
    score.add_argument("--text-column", default="text")
    score.set_defaults(func=cmd_score)

    replay = commands.add_parser("replay", help="produce tweets from a CSV/JSONL file")
    replay.add_argument("file", type=Path)
    replay.add_argument("--rate", type=float, default=100.0, help="tweets/s; 0 = flat out")
    replay.add_argument("--limit", type=int)
    replay.add_argument("--brand")
    replay.add_argument("--text-column", default="text")
    replay.add_argument("--keep-timestamps", action="store_true", help="keep the file's created_at")
    replay.set_defaults(func=cmd_replay)

    tail = commands.add_parser("tail", help="print sentiment events and alerts")
    tail.add_argument("--from-beginning", action="store_true")
    tail.add_argument("--deadletters", action="store_true", help="also dead letters")
    tail.add_argument("--seconds", type=float, help="stop after this long")
    tail.set_defaults(func=cmd_tail)

    schemas = commands.add_parser("schemas", help="print or write the JSON Schemas")
    schemas.add_argument("-o", "--output", type=Path, help="directory for *.schema.json")
    schemas.set_defaults(func=cmd_schemas)

    commands.add_parser("topics", help="create the topics").set_defaults(func=cmd_topics)

    kafka = commands.add_parser("kafka", help="start/stop a local single-node Kafka")
    kafka.add_argument("action", choices=["up", "down"])
    kafka.add_argument("--port", type=int, default=9092)
    kafka.add_argument("--workdir", type=Path, default=Path("var/kafka"))
    kafka.set_defaults(func=cmd_kafka)

    train = commands.add_parser("train", help="train models (needs badbuzz[train])")
    trainers = train.add_subparsers(dest="trainer", required=True)
    bilstm = trainers.add_parser("bilstm", help="train the BiLSTM and write a model bundle")
    bilstm.add_argument("--out", type=Path, default=Path("model/default"))
    bilstm.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    bilstm.add_argument("--epochs", type=int, default=3)
    bilstm.add_argument("--limit", type=int, help="rows per source, for quick runs")
    bilstm.set_defaults(func=cmd_train_bilstm)

    demo = commands.add_parser("demo", help="broker + worker + replayed tweets, end to end")
    demo.add_argument("--file", type=Path, default=Path("data/demo/tweets.csv"))
    demo.add_argument("--rate", type=float, default=40.0)
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args, Settings())


if __name__ == "__main__":
    sys.exit(main())

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
from training.selection import Selection

DEFAULT_DATA_DIR = Path("../shared/data")

if TYPE_CHECKING:
    from model import SentimentModel


def _load_model(settings: Settings) -> SentimentModel:
    """Imported late so commands that need no model start fast."""
    from stream.serving import load_serving_model

    return load_serving_model(settings)


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


def _tracking(args: argparse.Namespace) -> None:
    from training.tracking import configure

    print(f"MLflow tracking: {configure(args.tracking_uri, args.mlflow_dir)}")


def _selection(args: argparse.Namespace) -> Selection:
    return Selection(args.metric, args.recall_floor, args.min_tweets_per_s)


def cmd_train_one(args: argparse.Namespace, settings: Settings) -> int:
    _tracking(args)
    from training.pipeline import train_one

    result = train_one(args.trainer, args.out, args.data_dir, args.limit, args.epochs)
    metadata = result.pop("metadata")
    print(json.dumps({**result, "metrics": metadata["metrics"]}, indent=2))
    return 0


def cmd_train_log(args: argparse.Namespace, settings: Settings) -> int:
    _tracking(args)
    from training.pipeline import log_existing

    print(json.dumps(log_existing(args.bundle, args.approach, args.data_dir, args.limit)))
    return 0


def cmd_train_tune(args: argparse.Namespace, settings: Settings) -> int:
    _tracking(args)
    from training.pipeline import tune

    register_dir = args.out if args.register else None
    print(json.dumps(tune(args.data_dir, args.trials, args.limit, register_dir), indent=2))
    return 0


def cmd_train_report(args: argparse.Namespace, settings: Settings) -> int:
    _tracking(args)
    from training.report import write_report

    print(f"wrote {write_report(args.out)}")
    return 0


def cmd_train_promote(args: argparse.Namespace, settings: Settings) -> int:
    _tracking(args)
    from training.tracking import promote_champion

    print(f"champion: version {promote_champion(_selection(args))}")
    return 0


def cmd_train_all(args: argparse.Namespace, settings: Settings) -> int:
    _tracking(args)
    from training.pipeline import run_all

    result = run_all(
        args.data_dir,
        args.work_dir,
        args.serve_dir,
        args.report_dir,
        limit=args.limit,
        epochs=args.epochs,
        selection=_selection(args),
        only=args.only,
    )
    print(json.dumps(result, indent=2))
    return 0


def cmd_train_retrain(args: argparse.Namespace, settings: Settings) -> int:
    _tracking(args)
    from training.retrain import read_feedback_file, read_feedback_topic, retrain

    if args.feedback_file is not None:
        feedback = read_feedback_file(args.feedback_file)
    else:
        feedback = read_feedback_topic(
            settings.kafka_bootstrap_servers, settings.topic_feedback_labelled
        )
    result = retrain(
        feedback,
        args.out,
        args.data_dir,
        limit=args.limit,
        selection=_selection(args),
    )
    print(json.dumps(result, indent=2))
    return 0


def cmd_train_calibrate(args: argparse.Namespace, settings: Settings) -> int:
    from training.calibrate import calibrate_bundle

    metadata = calibrate_bundle(args.bundle, args.data_dir, args.limit)
    print(json.dumps({k: metadata[k] for k in ("version", "calibration", "threshold")}, indent=2))
    return 0


def cmd_train_neutral(args: argparse.Namespace, settings: Settings) -> int:
    _tracking(args)
    from training.pipeline import train_three_class

    result = train_three_class(args.base, args.out, args.data_dir, args.limit)
    print(json.dumps(result, indent=2))
    return 0


APPROACHES = {
    "baseline": "TF-IDF + logistic regression",
    "transformer": "frozen MiniLM + head; leaves teacher scores for the BiLSTM",
    "bilstm": "BiLSTM over MiniLM word pieces, distilled from the transformer's scores",
}


def _add_train_commands(trainers: argparse._SubParsersAction) -> None:
    """MLflow-tracked commands; each shares the tracking and data options."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--tracking-uri", help="default: $MLFLOW_TRACKING_URI or SQLite")
    common.add_argument("--mlflow-dir", type=Path, help="SQLite store + artifacts (var/mlflow)")
    common.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    common.add_argument("--limit", type=int, help="rows per source, for quick runs")
    selection = argparse.ArgumentParser(add_help=False)
    selection.add_argument("--metric", default=Selection.metric)
    selection.add_argument("--recall-floor", type=float, default=Selection.recall_floor)
    selection.add_argument(
        "--min-tweets-per-s",
        type=float,
        default=Selection.min_tweets_per_s,
        help="speed a servable model needs on one thread (0: any)",
    )

    for approach, summary in APPROACHES.items():
        one = trainers.add_parser(approach, parents=[common], help=f"{summary}, logged to MLflow")
        one.add_argument("--out", type=Path, default=Path("var/candidates") / approach)
        one.add_argument("--epochs", type=int, help="default: the approach's own")
        one.set_defaults(func=cmd_train_one)

    log = trainers.add_parser("log", parents=[common], help="register an existing bundle")
    log.add_argument("bundle", type=Path)
    log.add_argument("--approach", required=True)
    log.set_defaults(func=cmd_train_log)

    calibrate = trainers.add_parser(
        "calibrate", parents=[common], help="fit a bundle's calibration (SemEval-2013 dev)"
    )
    calibrate.add_argument("bundle", type=Path)
    calibrate.set_defaults(func=cmd_train_calibrate)

    neutral = trainers.add_parser(
        "neutral",
        parents=[common],
        help="binary word-piece bundle + a neutral detector = a three-class bundle, logged",
    )
    neutral.add_argument("--base", type=Path, default=Path("model/default"))
    neutral.add_argument("--out", type=Path, default=Path("var/candidates/three-class"))
    neutral.set_defaults(func=cmd_train_neutral)

    tune = trainers.add_parser("tune", parents=[common], help="Optuna search over the baseline")
    tune.add_argument("--trials", type=int, default=20)
    tune.add_argument("--register", action="store_true", help="train and register the best")
    tune.add_argument("--out", type=Path, default=Path("var/candidates/baseline-tuned"))
    tune.set_defaults(func=cmd_train_tune)

    report = trainers.add_parser("report", parents=[common], help="write reports/comparison.md")
    report.add_argument("--out", type=Path, default=Path("reports"))
    report.set_defaults(func=cmd_train_report)

    promote = trainers.add_parser(
        "promote", parents=[common, selection], help="move the champion alias if one is better"
    )
    promote.set_defaults(func=cmd_train_promote)

    again = trainers.add_parser(
        "retrain",
        parents=[common, selection],
        help="train a challenger on data + feedback; promote it only if better",
    )
    again.add_argument(
        "--feedback-file", type=Path, help="JSONL rows; default: read tweets.feedback.labelled"
    )
    again.add_argument("--out", type=Path, default=Path("var/candidates/retrained"))
    again.set_defaults(func=cmd_train_retrain)

    every = trainers.add_parser(
        "all", parents=[common, selection], help="train, log, register, promote, report, serve"
    )
    every.add_argument("--epochs", type=int, help="default: each approach's own")
    every.add_argument("--work-dir", type=Path, default=Path("var/candidates"))
    every.add_argument("--serve-dir", type=Path, default=Path("model/default"))
    every.add_argument("--report-dir", type=Path, default=Path("reports"))
    every.add_argument("--only", nargs="+", help="approaches to train (default: all found)")
    every.set_defaults(func=cmd_train_all)


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
    _add_train_commands(trainers)

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

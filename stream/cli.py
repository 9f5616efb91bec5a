"""`badbuzz ...`: parses arguments and calls library functions, nothing more."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from stream.kafka import KafkaConnection
from stream.replay import UnusableInputFile, check_tweet_file, is_json_lines
from stream.settings import Settings, describe_settings
from training.selection import Selection

DEFAULT_DATA_DIR = Path("../shared/data")
DESCRIPTION = """\
Watch what people tweet about Air Paradis and warn before a bad buzz grows: the worker
reads raw tweets from Kafka, scores their sentiment, and raises alerts when negative
tweets pile up. Try it with `make demo`; `badbuzz COMMAND --help` explains each command."""
SETTINGS_EPILOG = (
    "Settings are read from the environment (see also `badbuzz settings`); "
    "name=default and meaning:\n"
)

if TYPE_CHECKING:
    from model import SentimentModel


def _load_model(settings: Settings) -> SentimentModel:
    """Imported late so commands that need no model start fast."""
    from stream.serving import load_serving_model

    return load_serving_model(settings)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from stream.worker import run_worker

    return run_worker(settings, _load_model(settings))


def cmd_score(args: argparse.Namespace, settings: Settings) -> int:
    from model.csv_scoring import score_csv

    check_tweet_file(args.input, args.text_column)
    if is_json_lines(args.input):
        raise UnusableInputFile(f"{args.input}: `score` reads CSV; JSON lines go to `replay`")
    scored, flagged = score_csv(_load_model(settings), args.input, args.output, args.text_column)
    note = f"; {flagged} with blank text flagged in the error column" if flagged else ""
    print(f"scored {scored} rows -> {args.output}{note}")
    return 0


def cmd_eval_alerts(args: argparse.Namespace, settings: Settings) -> int:
    from schemas import AlertKind
    from stream.alert_eval import Columns, evaluate, model_negatives, read_labelled_csv
    from stream.alerting import detectors_from
    from stream.labelshift import label_shift_from

    columns = Columns(args.time_column, args.brand_column, args.text_column, args.label_column)
    rows = read_labelled_csv(args.file, columns)
    scorer = _load_model(settings)
    negatives = model_negatives(
        scorer, rows, label_shift_from(settings, scorer), settings.batch_size
    )
    detector = detectors_from(settings)[AlertKind.NEGATIVE_SENTIMENT]
    result, human, model = evaluate(detector, rows, negatives)
    print(f"{len(rows)} tweets, model {scorer.version}")
    print(f"human-label alerts: {len(human)}, model-label alerts: {len(model)}")
    print(f"caught {result.caught} of {result.reference} (recall {result.recall:.2f})")
    print(f"added {result.added} of {result.candidate} (precision {result.precision:.2f})")
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from stream.replay import replay

    check_tweet_file(args.file, args.text_column)
    sent = replay(
        args.file,
        KafkaConnection.from_settings(settings),
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
        KafkaConnection.from_settings(settings),
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

    ensure_badbuzz_topics(settings, KafkaConnection.from_settings(settings))
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


def cmd_settings(args: argparse.Namespace, settings: Settings) -> int:
    print(describe_settings())
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
            KafkaConnection.from_settings(settings), settings.topic_feedback_labelled
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


APPROACHES = {
    "baseline": "TF-IDF + logistic regression",
    "transformer": "frozen MiniLM + head; leaves teacher scores for the BiLSTM",
    "bilstm": "BiLSTM over MiniLM word pieces, distilled from the transformer's scores",
}


def _add_train_commands(trainers: argparse._SubParsersAction) -> None:
    """MLflow-tracked commands; each shares the tracking and data options."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else SQLite)"
    )
    common.add_argument(
        "--mlflow-dir", type=Path, help="where the SQLite store and artifacts go (var/mlflow)"
    )
    common.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="labelled tweets: sentiment140/ and semeval*/ (default: %(default)s)",
    )
    common.add_argument("--limit", type=int, help="rows per source, for quick runs")
    selection = argparse.ArgumentParser(add_help=False)
    selection.add_argument(
        "--metric",
        default=Selection.metric,
        help="validation metric the champion is chosen on (default: %(default)s)",
    )
    selection.add_argument(
        "--recall-floor",
        type=float,
        default=Selection.recall_floor,
        help="recall both classes need to be eligible (default: %(default)s)",
    )
    selection.add_argument(
        "--min-tweets-per-s",
        type=float,
        default=Selection.min_tweets_per_s,
        help="speed a servable model needs on one thread (0: any; default: %(default)s)",
    )

    for approach, summary in APPROACHES.items():
        one = trainers.add_parser(approach, parents=[common], help=f"{summary}, logged to MLflow")
        one.add_argument(
            "--out",
            type=Path,
            default=Path("var/candidates") / approach,
            help="bundle directory (default: %(default)s)",
        )
        one.add_argument("--epochs", type=int, help="default: the approach's own")
        one.set_defaults(func=cmd_train_one)

    log = trainers.add_parser("log", parents=[common], help="register an existing bundle")
    log.add_argument("bundle", type=Path, help="the bundle directory")
    log.add_argument("--approach", required=True, help="tag it with this approach's name")
    log.set_defaults(func=cmd_train_log)

    tune = trainers.add_parser("tune", parents=[common], help="Optuna search over the baseline")
    tune.add_argument("--trials", type=int, default=20, help="trials to run (default: 20)")
    tune.add_argument("--register", action="store_true", help="train and register the best")
    tune.add_argument(
        "--out",
        type=Path,
        default=Path("var/candidates/baseline-tuned"),
        help="bundle directory with --register (default: %(default)s)",
    )
    tune.set_defaults(func=cmd_train_tune)

    report = trainers.add_parser("report", parents=[common], help="write reports/comparison.md")
    report.add_argument(
        "--out", type=Path, default=Path("reports"), help="directory (default: %(default)s)"
    )
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
    again.add_argument(
        "--out",
        type=Path,
        default=Path("var/candidates/retrained"),
        help="challenger bundle directory (default: %(default)s)",
    )
    again.set_defaults(func=cmd_train_retrain)

    every = trainers.add_parser(
        "all", parents=[common, selection], help="train, log, register, promote, report, serve"
    )
    every.add_argument("--epochs", type=int, help="default: each approach's own")
    every.add_argument(
        "--work-dir",
        type=Path,
        default=Path("var/candidates"),
        help="where candidates are written (default: %(default)s)",
    )
    every.add_argument(
        "--serve-dir",
        type=Path,
        default=Path("model/default"),
        help="where a new champion's bundle is copied (default: %(default)s)",
    )
    every.add_argument(
        "--report-dir",
        type=Path,
        default=Path("reports"),
        help="where the comparison goes (default: %(default)s)",
    )
    every.add_argument("--only", nargs="+", help="approaches to train (default: all found)")
    every.set_defaults(func=cmd_train_all)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="badbuzz", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    worker = commands.add_parser(
        "worker",
        help="run the streaming worker (metrics on :6066/metrics)",
        description="Score tweets from Kafka and raise bad-buzz alerts until stopped.",
        epilog=SETTINGS_EPILOG + describe_settings(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    worker.set_defaults(func=cmd_worker)

    commands.add_parser(
        "settings",
        help="list every setting (environment variable), its default and meaning",
    ).set_defaults(func=cmd_settings)

    score = commands.add_parser("score", help="score a CSV file offline, without Kafka")
    score.add_argument("input", type=Path, help="CSV file with a header row")
    score.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help="CSV written with p_positive, label and error (blank text) columns added",
    )
    score.add_argument(
        "--text-column", default="text", help="column holding the tweet (default: text)"
    )
    score.set_defaults(func=cmd_score)

    replay = commands.add_parser("replay", help="produce tweets from a CSV/JSONL file to Kafka")
    replay.add_argument("file", type=Path, help="CSV with a header, or JSON lines (.gz too)")
    replay.add_argument("--rate", type=float, default=100.0, help="tweets/s; 0 = flat out")
    replay.add_argument("--limit", type=int, help="send at most this many tweets")
    replay.add_argument("--brand", help="set every tweet's brand (its alert scope)")
    replay.add_argument(
        "--text-column", default="text", help="CSV column holding the tweet (default: text)"
    )
    replay.add_argument(
        "--keep-timestamps",
        action="store_true",
        help="keep the file's created_at instead of stamping the send time",
    )
    replay.set_defaults(func=cmd_replay)

    evaluate = commands.add_parser(
        "eval-alerts", help="human-label alerts vs the model's on a labelled CSV, no Kafka"
    )
    evaluate.add_argument("file", type=Path, help="CSV with a time, brand, text and label column")
    evaluate.add_argument(
        "--time-column", default="timestamp", help="event time (ISO-8601 or Twitter's format)"
    )
    evaluate.add_argument("--brand-column", default="brand", help="the scope alerts are per")
    evaluate.add_argument("--text-column", default="text", help="the tweet's text")
    evaluate.add_argument(
        "--label-column", default="label", help="human label: negative, neutral or positive"
    )
    evaluate.set_defaults(func=cmd_eval_alerts)

    tail = commands.add_parser("tail", help="print sentiment events and alerts as they arrive")
    tail.add_argument("--from-beginning", action="store_true", help="start at the oldest message")
    tail.add_argument("--deadletters", action="store_true", help="also dead letters")
    tail.add_argument("--seconds", type=float, help="stop after this long")
    tail.set_defaults(func=cmd_tail)

    schemas = commands.add_parser("schemas", help="print or write the JSON Schemas")
    schemas.add_argument("-o", "--output", type=Path, help="directory for *.schema.json")
    schemas.set_defaults(func=cmd_schemas)

    commands.add_parser("topics", help="create the topics (the worker also does it)").set_defaults(
        func=cmd_topics
    )

    kafka = commands.add_parser("kafka", help="start/stop a local single-node Kafka")
    kafka.add_argument("action", choices=["up", "down"], help="start or stop the broker")
    kafka.add_argument(
        "--port", type=int, default=9092, help="port on 127.0.0.1 (default: %(default)s)"
    )
    kafka.add_argument(
        "--workdir",
        type=Path,
        default=Path("var/kafka"),
        help="broker data, logs and pid file (default: %(default)s)",
    )
    kafka.set_defaults(func=cmd_kafka)

    train = commands.add_parser("train", help="train models (needs the train extra)")
    trainers = train.add_subparsers(dest="trainer", required=True, metavar="APPROACH")
    _add_train_commands(trainers)

    demo = commands.add_parser("demo", help="broker + worker + replayed tweets, end to end")
    demo.add_argument(
        "--file",
        type=Path,
        default=Path("data/demo/tweets.csv"),
        help="ordinary traffic to replay before the bad buzz (default: %(default)s)",
    )
    demo.add_argument(
        "--rate", type=float, default=40.0, help="tweets/s for the replay (default: %(default)s)"
    )
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args, Settings())
    except UnusableInputFile as error:
        print(f"badbuzz {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

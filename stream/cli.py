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
from stream.settings import Settings, describe_settings
from stream.tools.replay import UnusableInputFile, check_tweet_file, is_json_lines

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


def cmd_notify(args: argparse.Namespace, settings: Settings) -> int:
    from stream.notify.runner import run_notifier

    return run_notifier(settings)


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
    from stream.tools.eval_alerts import Columns, evaluate, read_labelled_csv

    columns = Columns(args.time_column, args.brand_column, args.text_column, args.label_column)
    rows = read_labelled_csv(args.file, columns)
    scorer = _load_model(settings)
    result, human, model = evaluate(settings, scorer, rows)
    print(f"{len(rows)} tweets, model {scorer.version}")
    print(f"human-label alerts: {len(human)}, model-label alerts: {len(model)}")
    print(f"caught {result.caught} of {result.reference} (recall {result.recall:.2f})")
    print(f"added {result.added} of {result.candidate} (precision {result.precision:.2f})")
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from stream.tools.replay import replay

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
    from stream.tools.tail import tail

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
    from stream.kafka.topics import ensure_badbuzz_topics

    ensure_badbuzz_topics(settings, KafkaConnection.from_settings(settings))
    models = (settings.topic_models, settings.topic_model_bundles)
    print("topics ready: " + ", ".join((*settings.all_topics, *models)))
    return 0


def cmd_model(args: argparse.Namespace, settings: Settings) -> int:
    from stream.models import commands

    try:
        control = commands.ControlTopic(settings, KafkaConnection.from_settings(settings))
        if args.action == "publish":
            print(commands.publish(control, args.bundle, args.role))
        elif args.action == "promote":
            promoted, said = commands.promote(control, args.version, gated=not args.no_gate)
            print(said)
            return 0 if promoted else 1
        elif args.action == "rollback":
            print(commands.rollback(control))
        else:
            print(commands.status(control))
    except commands.ModelCommandError as error:
        print(f"badbuzz model {args.action}: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_kafka(args: argparse.Namespace, settings: Settings) -> int:
    from stream.kafka.local import down, up

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


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    """Training is its own package with its own commands, loaded only here."""
    from training.cli import main as train_main

    return train_main(args.train_args, settings)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from stream.tools.demo import run_demo

    return run_demo(settings, tweets=args.file, rate=args.rate)


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

    notify = commands.add_parser(
        "notify",
        help="send alerts to Alertmanager (metrics on :6068/metrics)",
        description="Post every alert of alerts.badbuzz to Prometheus Alertmanager "
        "(BADBUZZ_ALERTMANAGER_URL) until stopped; Alertmanager sends the e-mails and messages.",
        epilog=SETTINGS_EPILOG + describe_settings(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    notify.set_defaults(func=cmd_notify)

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

    model = commands.add_parser(
        "model", help="publish, shadow, promote and roll back the model workers serve"
    )
    model_actions = model.add_subparsers(dest="action", required=True)
    publish = model_actions.add_parser(
        "publish", help="put a bundle on Kafka for the workers (in shadow by default)"
    )
    publish.add_argument("bundle", type=Path, help="bundle directory (metadata.json names it)")
    publish.add_argument(
        "--role",
        choices=["challenger", "champion", "none"],
        default="challenger",
        help="challenger: scored in shadow; champion: served at once; none: only stored "
        "(default: %(default)s)",
    )
    promote = model_actions.add_parser(
        "promote", help="make a published version champion, gated on its shadow figures"
    )
    promote.add_argument("version", help="the bundle's version (its metadata's `version`)")
    promote.add_argument(
        "--no-gate", action="store_true", help="promote whatever the shadow figures say"
    )
    model_actions.add_parser("rollback", help="return to the champion before this one")
    model_actions.add_parser("status", help="champion, challenger, its shadow figures")
    model.set_defaults(func=cmd_model)

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

    train = commands.add_parser(
        "train",
        help="train, compare and promote models (needs the train extra; see badbuzz train -h)",
        add_help=False,
    )
    train.set_defaults(func=cmd_train)

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
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.func is cmd_train:
        args.train_args = rest  # `badbuzz train ...` is parsed by training's own parser
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return args.func(args, Settings())
    except UnusableInputFile as error:
        print(f"badbuzz {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

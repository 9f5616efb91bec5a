"""`badbuzz train ...`: training's own commands, loaded by the worker's CLI only when asked,
so the streaming runtime never imports this package."""

from __future__ import annotations

import argparse
import json
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from stream.kafka import KafkaConnection
from stream.settings import Settings
from training.selection import Selection


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
    """Once, or with `--every`, again and again: a run that fails is reported and the next
    one reads its feedback as new again."""
    _tracking(args)
    if args.every is None:
        return retrain_once(args, settings)
    if args.every <= 0:
        raise SystemExit("badbuzz train retrain: --every wants a number of seconds above 0")
    while True:
        try:
            retrain_once(args, settings)
        except Exception:  # the schedule outlives a broker or MLflow down for a while
            traceback.print_exc()
        print(f"next retrain in {args.every:g} s", flush=True)
        time.sleep(args.every)


def retrain_once(args: argparse.Namespace, settings: Settings) -> int:
    """Trains only when enough feedback is new since the last successful run, and moves the
    marker only once everything asked (training, registering, publishing) is done."""
    from training.retrain import FeedbackMarker, FeedbackRead, read_feedback_file, retrain

    min_new = settings.retrain_min_new_feedback if args.min_new is None else args.min_new
    marker: FeedbackMarker | None = None
    if args.feedback_file is not None:  # an export: every row counts as new, no marker
        examples = read_feedback_file(args.feedback_file)
        read = FeedbackRead(examples, len(examples), {})
    else:
        kafka = KafkaConnection.from_settings(settings)
        marker = FeedbackMarker(kafka, settings.topic_feedback_labelled, settings.retrain_group)
        read = marker.read()
    try:
        if read.new < min_new:
            reason = f"{read.new} new feedback rows since the last run, fewer than {min_new}"
            said = {"retrained": False, "new_feedback": read.new, "reason": reason}
            print(json.dumps(said), flush=True)
            return 0
        result = retrain(
            read.examples,
            args.out,
            args.data_dir,
            limit=args.limit,
            selection=_selection(args),
            promote=not args.shadow,
        )
        result = {"retrained": True, "new_feedback": read.new, **result}
        if args.shadow and not result["eligible"]:
            result["shadow"] = "not published: below the recall floor or too slow offline"
        elif args.shadow:
            from stream.models import commands

            control = commands.ControlTopic(settings, KafkaConnection.from_settings(settings))
            result["shadow"] = commands.publish(control, args.out, "challenger")
        if marker is not None:
            marker.advance(read.ends)
    finally:
        if marker is not None:
            marker.close()
    print(json.dumps(result, indent=2), flush=True)
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


def add_train_commands(trainers: argparse._SubParsersAction) -> None:
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
        help="labelled tweets: sentiment140/ and semeval*/ (default: the training_data_dir "
        "setting, BADBUZZ_TRAINING_DATA_DIR; see docs/data.md)",
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

    calibrate = trainers.add_parser(
        "calibrate", parents=[common], help="fit a bundle's calibration (SemEval-2013 dev)"
    )
    calibrate.add_argument("bundle", type=Path, help="the bundle directory to calibrate")
    calibrate.set_defaults(func=cmd_train_calibrate)

    neutral = trainers.add_parser(
        "neutral",
        parents=[common],
        help="binary word-piece bundle + a neutral detector = a three-class bundle, logged",
    )
    neutral.add_argument(
        "--base",
        type=Path,
        default=Path("model/default"),
        help="the binary bundle to add a neutral detector to (default: %(default)s)",
    )
    neutral.add_argument(
        "--out",
        type=Path,
        default=Path("var/candidates/three-class"),
        help="bundle directory (default: %(default)s)",
    )
    neutral.set_defaults(func=cmd_train_neutral)

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
    again.add_argument(
        "--shadow",
        action="store_true",
        help="leave the champion alias alone and put the challenger in shadow on the "
        "workers (`badbuzz model promote` decides, on its live figures)",
    )
    again.add_argument(
        "--min-new",
        type=int,
        help="train only with at least this many trusted feedback rows new since the last "
        "successful run (default: BADBUZZ_RETRAIN_MIN_NEW_FEEDBACK)",
    )
    again.add_argument(
        "--every",
        type=float,
        metavar="SECONDS",
        help="run again every SECONDS, for ever (a scheduler's loop, e.g. the compose "
        "service's); default: once",
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
    parser = argparse.ArgumentParser(
        prog="badbuzz train",
        description="Train, compare and promote sentiment models, tracked in MLflow.",
    )
    trainers = parser.add_subparsers(dest="trainer", required=True, metavar="COMMAND")
    add_train_commands(trainers)
    return parser


def main(argv: Sequence[str], settings: Settings) -> int:
    args = build_parser().parse_args(argv)
    args.data_dir = args.data_dir or settings.training_data_dir
    return int(args.func(args, settings))

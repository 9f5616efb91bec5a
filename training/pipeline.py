"""`badbuzz train all`: every approach trained, tracked, registered; the best one served.

Approaches are functions `(out_dir, data_dir, limit, epochs) -> metadata`, run in order:
the transformer leaves its scores of the training rows beside the bundles
(`<work_dir>/teacher_scores.npz`) and the BiLSTM, trained next, distils them when present.
`epochs=None` means each approach's own default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from training.data import Corpus, load_corpus
from training.selection import DEFAULT_SELECTION, Selection
from training.teacher import TEACHER_FILE

Metadata = dict[str, Any]
Trainer = Callable[[Path, Path, int | None, int | None], Metadata]


def train_baseline(
    out_dir: Path, data_dir: Path, limit: int | None, epochs: int | None
) -> Metadata:
    from training.baseline import BaselineConfig, train_bundle

    return train_bundle(out_dir, BaselineConfig(limit=limit), data_dir)


def train_transformer(
    out_dir: Path, data_dir: Path, limit: int | None, epochs: int | None
) -> Metadata:
    from training.transformer import TransformerConfig, train_bundle

    return train_bundle(
        out_dir,
        data_dir=data_dir,
        limit=limit,
        epochs=epochs or TransformerConfig.epochs,
        teacher_scores_out=out_dir.parent / TEACHER_FILE,
    )


def train_bilstm(out_dir: Path, data_dir: Path, limit: int | None, epochs: int | None) -> Metadata:
    from training.bilstm import BiLSTMConfig, train_bundle

    config = BiLSTMConfig(epochs=epochs or BiLSTMConfig.epochs, limit=limit)
    teacher = out_dir.parent / TEACHER_FILE
    return train_bundle(out_dir, data_dir, config, teacher if teacher.exists() else None)


TRAINERS: dict[str, Trainer] = {
    "baseline": train_baseline,
    "transformer": train_transformer,
    "bilstm": train_bilstm,
}


def train_and_log(
    approach: str,
    trainer: Trainer,
    out_dir: Path,
    data_dir: Path,
    limit: int | None,
    epochs: int | None,
    corpus: Corpus,
) -> tuple[str, dict[str, Any]]:
    from training.calibrate import calibrate_bundle
    from training.tracking import log_candidate

    trainer(out_dir, data_dir, limit, epochs)
    metadata = calibrate_bundle(out_dir, data_dir, limit)
    params = {"approach": approach, "limit": limit, "epochs": epochs}
    run_id = log_candidate(out_dir, metadata, approach=approach, params=params, corpus=corpus)
    return run_id, metadata


def registered_version(run_id: str) -> str:
    from mlflow.tracking import MlflowClient

    from training.tracking import MODEL_NAME

    versions = MlflowClient().search_model_versions(f"run_id='{run_id}'")
    return str(next(v.version for v in versions if v.name == MODEL_NAME))


def train_one(
    approach: str,
    out_dir: Path,
    data_dir: Path,
    limit: int | None = None,
    epochs: int | None = None,
) -> dict[str, Any]:
    """`badbuzz train <approach>`: one approach trained, logged and registered (no promotion)."""
    corpus = load_corpus(data_dir, limit)
    run_id, metadata = train_and_log(
        approach, TRAINERS[approach], out_dir, data_dir, limit, epochs, corpus
    )
    return {"run_id": run_id, "version": registered_version(run_id), "metadata": metadata}


def log_existing(
    bundle: Path, approach: str, data_dir: Path, limit: int | None = None
) -> dict[str, Any]:
    """Registers a bundle trained elsewhere (e.g. the shipped model/default) as a candidate;
    `limit` must match the one it was trained with so validation rows stay unseen."""
    from model.bundle import read_metadata
    from training.tracking import log_candidate

    corpus = load_corpus(data_dir, limit)
    params = {"approach": approach, "registered_from": str(bundle)}
    run_id = log_candidate(
        bundle, read_metadata(bundle), approach=approach, params=params, corpus=corpus
    )
    return {"run_id": run_id, "version": registered_version(run_id)}


def train_three_class(
    base: Path, out_dir: Path, data_dir: Path, limit: int | None = None
) -> dict[str, Any]:
    """`badbuzz train neutral`: the binary bundle `base` plus a neutral detector trained
    here, calibrated, logged and registered as approach `bilstm-3class` (no promotion)."""
    from training.calibrate import calibrate_bundle
    from training.neutral import NeutralConfig, build_three_class_bundle

    build_three_class_bundle(base, out_dir, data_dir, NeutralConfig(limit=limit))
    calibrate_bundle(out_dir, data_dir, limit)
    result = log_existing(out_dir, "bilstm-3class", data_dir, limit)
    return {**result, "bundle": str(out_dir)}


def tune(
    data_dir: Path, trials: int, limit: int | None = None, register_dir: Path | None = None
) -> dict[str, Any]:
    """Optuna search; with `register_dir`, the best config is trained into a bundle there and
    registered as approach `baseline-tuned`."""
    from training.baseline import BaselineConfig, train_bundle
    from training.tracking import log_candidate
    from training.tune import tune_baseline

    corpus = load_corpus(data_dir, limit)
    best, accuracy, parent = tune_baseline(corpus, trials, BaselineConfig(limit=limit))
    result: dict[str, Any] = {"best": asdict(best), "validation_accuracy": accuracy}
    result["parent_run_id"] = parent
    if register_dir is not None:
        metadata = train_bundle(register_dir, best, data_dir, corpus=corpus)
        params = {"tuned_by": parent, "limit": limit}
        run_id = log_candidate(
            register_dir, metadata, approach="baseline-tuned", params=params, corpus=corpus
        )
        result["version"] = registered_version(run_id)
    return result


def run_all(
    data_dir: Path,
    work_dir: Path,
    serve_dir: Path,
    report_dir: Path,
    limit: int | None = None,
    epochs: int | None = None,
    selection: Selection = DEFAULT_SELECTION,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """Trains each approach into `work_dir/<approach>`, calibrates, logs and registers it
    (and the BiLSTM plus a neutral detector as `bilstm-3class`), promotes the champion,
    writes the report, and copies the champion's bundle to `serve_dir` only when the
    champion is one of the versions registered by this call."""
    from model.registry import fetch_champion
    from training.report import write_report
    from training.tracking import promote_champion

    corpus = load_corpus(data_dir, limit)
    registered: dict[str, str] = {}
    for approach, trainer in TRAINERS.items():
        if only and approach not in only:
            continue
        run_id, _ = train_and_log(
            approach, trainer, work_dir / approach, data_dir, limit, epochs, corpus
        )
        registered[approach] = registered_version(run_id)
    if "bilstm" in registered:
        three_class = train_three_class(
            work_dir / "bilstm", work_dir / "bilstm-3class", data_dir, limit
        )
        registered["bilstm-3class"] = three_class["version"]
    champion = promote_champion(selection)
    served = champion is not None and champion in registered.values()
    if served:
        fetch_champion(serve_dir)
    return {
        "registered": registered,
        "champion": champion,
        "served_to": str(serve_dir) if served else None,
        "report": str(write_report(report_dir)),
        "selection": asdict(selection),
    }

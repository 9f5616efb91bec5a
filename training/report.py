"""`reports/comparison.md`: the latest registered version of each approach side by side."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from training.french import FRENCH_APPROACH
from training.plots import PLOTS
from training.tracking import EXPERIMENT, champion_version, latest_versions

SETS = (("manual_test", "manual test"), ("test_sentiment140", "S140"), ("test_semeval", "SemEval"))
CALIBRATION_SETS = ("manual_test", "test_semeval", "test_semeval2013")
THREE_CLASS_SETS = ("test_semeval_3class", "test_semeval2013_3class")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def held_out_accuracy(metrics: dict[str, float]) -> float | None:
    """Accuracy over every held-out row of the training sources (Sentiment140 + SemEval),
    weighted by each set's size."""
    sets = [key for key, _ in SETS if key.startswith("test_")]
    sizes = [metrics.get(f"{key}.n", 0.0) for key in sets]
    if not all(sizes) or any(f"{key}.accuracy" not in metrics for key in sets):
        return None
    correct = sum(metrics[f"{key}.accuracy"] * size for key, size in zip(sets, sizes, strict=True))
    return correct / sum(sizes)


def calibration_cell(metrics: dict[str, float]) -> str:
    """ECE (%) of p(positive) before → after calibration, per set; "-" where not measured."""
    cells = []
    for key in CALIBRATION_SETS:
        before, after = metrics.get(f"{key}.ece_uncalibrated"), metrics.get(f"{key}.ece")
        cells.append("-" if before is None or after is None else f"{_pct(before)}→{_pct(after)}")
    return " / ".join(cells)


def _row(approach: str, version: str, metrics: dict[str, float], champion: bool) -> str:
    cells = [f"{approach}{' (champion)' if champion else ''}", f"v{version}"]
    for key, _ in SETS:
        accuracy = metrics.get(f"{key}.accuracy")
        cells.append(f"{_pct(accuracy)} / {_pct(metrics.get(f'{key}.precision_positive'))}")
    cells.append(_pct(held_out_accuracy(metrics)))
    auc = (metrics.get(f"{key}.roc_auc", float("nan")) for key, _ in SETS)
    cells.append(" / ".join(f"{value:.3f}" for value in auc))
    cells.append(calibration_cell(metrics))
    cells.append(" / ".join(_pct(metrics.get(f"{key}.macro_recall")) for key in THREE_CLASS_SETS))
    cells.append(f"{metrics.get('validation.precision_positive', float('nan')):.3f}")
    cells.append(f"{metrics.get('model_size_bytes', 0) / 1e6:.2f}")
    cells.append(f"{metrics.get('tweets_per_s', 0):,.0f}")
    cells.append(
        " ".join(
            f"[{name.split('_')[0].removesuffix('.png')}]({approach}_{name})" for name in PLOTS
        )
    )
    return "| " + " | ".join(cells) + " |"


def french_section(client: MlflowClient) -> list[str]:
    """The latest French run's figures (`badbuzz train french`), or nothing without one."""
    experiment = client.get_experiment_by_name(EXPERIMENT)
    runs = (
        client.search_runs(
            [experiment.experiment_id],
            filter_string=f"tags.approach = '{FRENCH_APPROACH}'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if experiment is not None
        else []
    )
    if not runs:
        return []
    metrics = runs[0].data.metrics
    classes = runs[0].data.params.get("classes", "negative,neutral,positive").split(",")
    cells = [
        f"{_pct(metrics.get(f'{split}.accuracy'))} / {metrics.get(f'{split}.roc_auc', 0):.3f} "
        f"/ {_pct(metrics.get(f'{split}.macro_recall_3class'))}"
        for split in ("test", "xlmt_val")
    ]
    return [
        "## French (the bundle's `fr` route)",
        "",
        f"Latest `badbuzz train french` run, `{runs[0].info.run_name}`, a {len(classes)}-class "
        "head for a bundle of those classes (docs/languages.md): binary accuracy (%) / ROC-AUC "
        "on the negative and positive tweets, three-class macro-recall (%) on all of them "
        "(- for a two-class head).",
        "",
        "| held-out split (DEFT-2017 + XLM-T train) | XLM-T val |",
        "| ---: | ---: |",
        f"| {cells[0]} | {cells[1]} |",
        "",
    ]


def write_report(out_dir: Path = Path("reports")) -> Path:
    """Reads metrics from each version's run and copies its plots next to the table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    client = MlflowClient()
    champion = champion_version(client)
    rows = []
    for approach, version in sorted(latest_versions().items()):
        metrics = client.get_run(version.run_id).data.metrics
        with tempfile.TemporaryDirectory() as scratch:
            local = Path(
                mlflow.artifacts.download_artifacts(
                    run_id=version.run_id, artifact_path="plots", dst_path=scratch
                )
            )
            for plot in local.glob("*.png"):
                shutil.copy2(plot, out_dir / f"{approach}_{plot.name}")
        is_champion = champion is not None and champion.version == version.version
        rows.append(_row(approach, version.version, metrics, is_champion))
    header = (
        "| approach | version | manual test acc / P+ (%) | S140 held-out acc / P+ (%) "
        "| SemEval held-out acc / P+ (%) | all held-out acc (%) "
        "| ROC-AUC manual / S140 / SemEval "
        "| ECE before→after (%) manual / SemEval / SemEval-2013 "
        "| 3-class macro-recall (%) SemEval / SemEval-2013 "
        "| validation P+ (selection) | bundle MB | tweets/s (LiteRT, 1 thread) | plots |\n"
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    )
    text = "\n".join(
        [
            "# Sentiment models compared",
            "",
            "Latest registered version of each approach in `badbuzz-sentiment` (MLflow). "
            "Accuracy and positive precision (P+) through the served LiteRT model; the "
            "champion is chosen on validation metrics only. Plots are on the held-out "
            "Sentiment140 + SemEval test rows. ECE: expected calibration error of "
            "p(positive), 15 bins, before and after the bundle's calibration (fitted on "
            "SemEval-2013's dev split, `badbuzz train calibrate`); the reliability plots "
            "show both.",
            "",
            header,
            *rows,
            "",
            *french_section(client),
        ]
    )
    path = out_dir / "comparison.md"
    path.write_text(text)
    return path

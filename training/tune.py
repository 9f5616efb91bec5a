"""Optuna search over the baseline's hyperparameters, one nested MLflow run per trial.

The baseline is the one to tune: a fit takes seconds and its exported model reproduces
sklearn's probabilities, so trials score with sklearn and skip the TFLite export. The
objective is validation accuracy at the validation-picked threshold (what a bundle gets).
"""

from __future__ import annotations

from dataclasses import replace

import mlflow
import numpy as np
import optuna

from training.baseline import BaselineConfig, fit_linear, token_lists
from training.data import Corpus, sample_weights
from training.evaluate import best_threshold

SEARCH_SPACE = "C log-uniform [0.1, 30], ngram_max {1, 2}, min_df {1, 2, 3, 5}, sublinear_tf"


def suggest(trial: optuna.Trial, base: BaselineConfig) -> BaselineConfig:
    return replace(
        base,
        c=trial.suggest_float("c", 0.1, 30.0, log=True),
        ngram_max=trial.suggest_int("ngram_max", 1, 2),
        min_df=trial.suggest_categorical("min_df", [1, 2, 3, 5]),
        sublinear_tf=trial.suggest_categorical("sublinear_tf", [True, False]),
    )


def tune_baseline(
    corpus: Corpus, trials: int, base: BaselineConfig | None = None, seed: int = 42
) -> tuple[BaselineConfig, float, str]:
    """Runs the search under a parent run; returns the best config, its validation accuracy
    and the parent run id. Assumes `training.tracking.configure` was called."""
    base = base or BaselineConfig()
    train, validation = corpus.train, corpus.validation
    x_train = token_lists(train, base.max_len)
    x_val = token_lists(validation, base.max_len)
    y_train = np.array([e.label for e in train])
    y_val = np.array([e.label for e in validation])

    def objective(trial: optuna.Trial) -> float:
        config = suggest(trial, base)
        weights = sample_weights(train, config.semeval_weight)
        scores = fit_linear(x_train, y_train, weights, config).scores(x_val)
        threshold = best_threshold(y_val, scores)
        accuracy = float(((scores >= threshold).astype(int) == y_val).mean())
        with mlflow.start_run(run_name=f"trial-{trial.number}", nested=True):
            mlflow.log_params(trial.params)
            mlflow.log_metrics({"validation.accuracy": accuracy, "threshold": threshold})
        return accuracy

    with mlflow.start_run(run_name="tune-baseline") as parent:
        mlflow.set_tags({"approach": "baseline", "kind": "optuna-search"})
        mlflow.log_params({"trials": trials, "seed": seed, "search_space": SEARCH_SPACE})
        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed)
        )
        study.optimize(objective, n_trials=trials)
        best = replace(base, **study.best_params)
        mlflow.log_params({f"best_{k}": v for k, v in study.best_params.items()})
        mlflow.log_metric("best_validation.accuracy", study.best_value)
        return best, float(study.best_value), parent.info.run_id

"""The report's French section: the latest French run's figures, nothing without one."""

from types import SimpleNamespace

from training.french import FRENCH_APPROACH
from training.report import french_section


class Runs:
    """The two calls of MlflowClient that the section makes."""

    def __init__(self, runs: list[SimpleNamespace]) -> None:
        self.runs = runs
        self.filters: list[str] = []

    def get_experiment_by_name(self, name: str) -> SimpleNamespace:
        return SimpleNamespace(experiment_id="1")

    def search_runs(self, ids: list[str], filter_string: str, **_: object) -> list:
        self.filters.append(filter_string)
        return self.runs


def test_the_latest_french_run_gives_its_held_out_and_xlmt_figures() -> None:
    metrics = {
        "test.accuracy": 0.8257,
        "test.roc_auc": 0.8938,
        "test.macro_recall_3class": 0.6887,
        "xlmt_val.accuracy": 0.7488,
        "xlmt_val.roc_auc": 0.8527,
        "xlmt_val.macro_recall_3class": 0.5711,
    }
    client = Runs(
        [
            SimpleNamespace(
                data=SimpleNamespace(
                    metrics=metrics, params={"classes": "negative,neutral,positive"}
                ),
                info=SimpleNamespace(run_name="fr-1"),
            )
        ]
    )

    lines = french_section(client)  # type: ignore[arg-type]

    assert lines[-2] == "| 82.6 / 0.894 / 68.9 | 74.9 / 0.853 / 57.1 |"
    assert "`fr-1`, a 3-class head" in lines[2]
    assert client.filters == [f"tags.approach = '{FRENCH_APPROACH}'"]


def test_no_french_run_no_section() -> None:
    assert french_section(Runs([])) == []  # type: ignore[arg-type]

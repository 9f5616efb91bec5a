"""One typed settings object, read once at start from `BADBUZZ_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BADBUZZ_", extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "BADBUZZ_KAFKA_BOOTSTRAP_SERVERS"),
        description="Comma-separated host:port list of Kafka brokers.",
    )
    app_id: str = Field(default="badbuzz", description="Faust app id, also the consumer group.")

    topic_raw: str = Field(default="tweets.raw", description="Input: raw tweets (JSON).")
    topic_sentiment: str = Field(
        default="tweets.sentiment", description="Output: one sentiment event per tweet."
    )
    topic_feedback: str = Field(
        default="tweets.feedback", description="Input: users' verdicts on predictions."
    )
    topic_alerts: str = Field(default="alerts.badbuzz", description="Output: bad-buzz alerts.")
    topic_deadletter: str = Field(
        default="tweets.deadletter", description="Output: unreadable inputs with the reason."
    )
    topic_feedback_labelled: str = Field(
        default="tweets.feedback.labelled",
        description="Compacted: valid feedback with the tweet and labels, for retraining.",
    )
    topic_partitions: int = Field(default=3, ge=1, description="Partitions of created topics.")
    topic_replication_factor: int = Field(
        default=1, ge=1, description="Replicas of created topics (at most the broker count)."
    )

    batch_size: int = Field(default=256, ge=1, description="Most tweets scored in one batch.")
    batch_max_wait_ms: int = Field(default=20, ge=1, description="Longest wait to fill a batch.")
    max_batches_in_flight: int = Field(
        default=4, ge=1, description="Batches awaiting broker acks while the next is scored."
    )
    max_payload_bytes: int = Field(
        default=16_384, ge=64, description="Raw messages larger than this are dead-lettered."
    )
    deadletter_payload_bytes: int = Field(
        default=8_192, ge=0, description="How much of a rejected payload the dead letter keeps."
    )

    model_path: Path | None = Field(
        default=None, description="Model bundle directory; the bundled default when unset."
    )
    model_source: Literal["bundle", "registry"] = Field(
        default="bundle",
        description="`registry`: serve MLflow's badbuzz-sentiment@champion (MLFLOW_TRACKING_URI).",
    )
    inference_threads: int = Field(default=1, ge=1, description="CPU threads the model uses.")

    alert_window_s: int = Field(default=300, ge=10, description="Length of an alert window.")
    alert_step_s: int = Field(default=30, ge=1, description="How far windows hop (<= 60).")
    alert_lateness_s: int = Field(default=120, ge=0, description="How late an event may be.")
    alert_baseline_s: int = Field(default=3600, ge=0, description="Trailing baseline period.")
    alert_min_negatives: int = Field(
        default=20, ge=1, description="Negative tweets a window needs to raise an alert."
    )
    alert_min_negative_share: float = Field(
        default=0.6, ge=0.0, le=1.0, description="Share of negatives a window needs to alert."
    )
    alert_baseline_margin: float = Field(
        default=0.2, ge=0.0, le=1.0, description="Share must exceed the baseline share by this."
    )
    alert_baseline_min_total: int = Field(
        default=100, ge=1, description="Tweets the baseline needs before it is used."
    )
    alert_feedback_min_reports: int = Field(
        default=3, ge=1, description="'wrong' feedback reports in a window that raise an alert."
    )
    alert_cooldown_s: int = Field(default=600, ge=0, description="Quiet time after a resolve.")
    alert_examples: int = Field(
        default=3, ge=0, description="Recent negative tweets quoted in an alert."
    )

    web_host: str = Field(default="0.0.0.0", description="Address of /metrics, /health, /ready.")
    web_port: int = Field(default=6066, ge=1, le=65535, description="Port of that web server.")
    data_dir: Path = Field(default=Path("var/worker"), description="Faust's local state.")
    commit_interval_s: float = Field(
        default=1.0, gt=0, description="How often finished offsets are committed."
    )
    session_timeout_s: float = Field(
        default=10.0, ge=6.0, description="A silent worker's partitions move after this long."
    )
    lag_report_interval_s: float = Field(
        default=5.0, gt=0, description="How often the consumer-lag gauge is refreshed."
    )
    drift_window: int = Field(default=5000, ge=100, description="Recent scores drift is on.")
    drift_oov_every: int = Field(
        default=10, ge=1, description="Measure the OOV rate on one batch in this many."
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")

    @property
    def faust_broker_url(self) -> str:
        """Faust spells a broker list as `kafka://a:1;kafka://b:2`."""
        hosts = [h.strip() for h in self.kafka_bootstrap_servers.split(",") if h.strip()]
        return ";".join(f"kafka://{host}" for host in hosts)

    @property
    def topic_signals(self) -> str:
        """Internal: per-scope observations, keyed by scope so one worker sees a scope whole."""
        return f"{self.app_id}-signals"

    @property
    def topic_alert_state(self) -> str:
        """Internal, compacted: alert window state per scope, partitioned like the signals."""
        return f"{self.app_id}-alert-state"

    @property
    def output_topics(self) -> tuple[str, ...]:
        return (self.topic_sentiment, self.topic_alerts, self.topic_deadletter)

    @property
    def all_topics(self) -> tuple[str, ...]:
        return (
            self.topic_raw,
            self.topic_feedback,
            self.topic_feedback_labelled,
            self.topic_signals,
            self.topic_alert_state,
            *self.output_topics,
        )


def environment_variable(name: str) -> str:
    """The variable a field is read from: its first alias, else the BADBUZZ_ prefixed name."""
    alias = Settings.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"{Settings.model_config['env_prefix']}{name.upper()}"


def describe_settings() -> str:
    """Every setting with its default and meaning, generated from the fields so that
    `badbuzz settings` and `badbuzz worker --help` cannot fall behind the code."""
    entries = []
    for name, field in Settings.model_fields.items():
        value = field.get_default(call_default_factory=True)
        default = "(unset)" if value is None else str(value)
        entries.append(f"  {environment_variable(name)}={default}\n      {field.description}")
    return "\n".join(entries)

"""One typed settings object, read once at start from `BADBUZZ_*` environment variables."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from typing import Literal, Self

from pydantic import AliasChoices, Field, FilePath, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPOSITORY = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    # errors never echo inputs: one of them may be the SASL password
    model_config = SettingsConfigDict(
        env_prefix="BADBUZZ_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "BADBUZZ_KAFKA_BOOTSTRAP_SERVERS"),
        description="Comma-separated host:port list of Kafka brokers.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="How every Kafka client talks to the brokers."
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        default=None, description="SASL mechanism; required with SASL_PLAINTEXT and SASL_SSL."
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(
        default=None, description="SASL password; never logged nor shown."
    )
    kafka_sasl_password_file: FilePath | None = Field(
        default=None,
        description="File holding the SASL password (e.g. a mounted secret), instead of it.",
    )
    kafka_ssl_ca_file: FilePath | None = Field(
        default=None, description="PEM CA bundle the brokers' certificates must chain to."
    )
    kafka_ssl_cert_file: FilePath | None = Field(
        default=None, description="PEM client certificate, for mutual TLS (needs the key)."
    )
    kafka_ssl_key_file: FilePath | None = Field(
        default=None, description="PEM private key of the client certificate (unencrypted)."
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
    scoring_threads: int = Field(
        default=2,
        ge=1,
        description="Batches of tweets.raw handled at once: the model runs without the GIL, "
        "so one batch's inference overlaps the next one's parsing; outputs keep their order.",
    )
    signals_batch_wait_ms: int = Field(
        default=250,
        ge=1,
        description="Longest wait to gather alert signals: each scope's window state is "
        "written once per batch of signals, not once per signal.",
    )
    max_batches_in_flight: int = Field(
        default=4, ge=1, description="Batches awaiting broker acks while the next is scored."
    )
    processing_guarantee: Literal["at_least_once", "exactly_once"] = Field(
        default="at_least_once",
        description="exactly_once: each scored batch and its input offsets are one Kafka "
        "transaction (read outputs with isolation.level=read_committed).",
    )
    transactional_id: str | None = Field(
        default=None,
        description="exactly_once: this worker's transactional id, the same across its "
        "restarts and unique in the group; default <app_id>-scoring-<host>-<data dir hash>.",
    )
    max_payload_bytes: int = Field(
        default=16_384, ge=64, description="Raw messages larger than this are dead-lettered."
    )
    max_output_bytes: int = Field(
        default=1_000_000,
        ge=1024,
        description="A scoring output larger than this is not sent (Kafka's default limit "
        "is about 1 MB): the inputs it was made from are dead-lettered as output_too_large. "
        "Keep it at most the output topics' max.message.bytes.",
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
    topic_models: str = Field(
        default="badbuzz.models",
        description="Compacted control topic: which model is champion, which is in shadow, "
        "and each version's bundle checksum (docs/models.md).",
    )
    topic_model_bundles: str = Field(
        default="badbuzz.model-bundles",
        description="Compacted: model bundles' bytes, in chunks, for workers to fetch.",
    )
    model_follow: bool = Field(
        default=True,
        description="Serve the champion the control topic names, and swap when it changes.",
    )
    model_fetch_timeout_s: float = Field(
        default=60.0, gt=0, description="Longest wait for a bundle's chunks before refusing it."
    )
    model_fetch_retry_s: float = Field(
        default=5.0,
        gt=0,
        description="First wait before fetching again a bundle whose fetch failed for a "
        "passing reason (timeout, broker away); doubled at each failure.",
    )
    model_fetch_retry_max_s: float = Field(
        default=300.0, gt=0, description="Longest wait between two fetches of such a bundle."
    )
    shadow_every: int = Field(
        default=4,
        ge=1,
        description="A shadow challenger scores one batch in this many (its cost on the stream).",
    )
    shadow_report_s: float = Field(
        default=5.0, gt=0, description="How often a worker puts its shadow tally on the topic."
    )
    promote_min_scores: int = Field(
        default=1000,
        ge=0,
        description="`badbuzz model promote`: live scores a challenger needs in shadow.",
    )
    promote_min_agreement: float = Field(
        default=0.8,
        ge=0.0,
        le=1.0,
        description="`badbuzz model promote`: least share of labels agreeing with the champion.",
    )

    retrain_group: str = Field(
        default="badbuzz-retrain",
        description="`badbuzz train retrain`: the consumer group (never joined) whose committed "
        "offsets mark the feedback the last successful run read.",
    )
    retrain_min_new_feedback: int = Field(
        default=100,
        ge=0,
        description="`badbuzz train retrain`: fewest new trusted feedback rows since the last "
        "successful run for it to train; with fewer it does nothing and says so.",
    )

    alert_window_s: int = Field(default=300, ge=10, description="Length of an alert window.")
    alert_step_s: int = Field(default=30, ge=1, description="How far windows hop (<= 60).")
    alert_lateness_s: int = Field(
        default=60,
        ge=0,
        description="How far behind its partition's newest event time an event may be and "
        "still count: windows are evaluated once the slowest input partition's watermark is "
        "this far past their end (live, alerts come this long after their window).",
    )
    alert_idle_grace_s: int = Field(
        default=60,
        ge=0,
        description="A raw partition read to its end for longer than this has its watermark "
        "follow the clock from its newest tweet (so windows are decided while traffic is "
        "quiet); an upstream delivering tweets in bursts further apart than this plus the "
        "lateness needs more.",
    )
    alert_baseline_s: int = Field(
        default=86_400,
        ge=3600,
        multiple_of=3600,
        description="Trailing baseline a brand's usual rate is taken over (whole hours; kept "
        "as hourly sums).",
    )
    alert_min_negatives: float = Field(
        default=7.0,
        gt=0.0,
        description="Least complaint weight in a window that can be a bad buzz (the measure is "
        "alert_neutral_weight's: about the number of complaints a person would count).",
    )
    alert_neutral_weight: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="How much a tweet's neutral probability counts as a complaint: a tweet "
        "weighs p_negative + this x p_neutral (0: only negative probability counts).",
    )
    alert_min_ratio: float = Field(
        default=3.0,
        gt=1.0,
        description="A window's complaint weight must be this many times the weight expected "
        "from its scope's usual rate.",
    )
    alert_max_p_value: float = Field(
        default=0.01,
        gt=0.0,
        le=1.0,
        description="Poisson chance of so much complaint weight at the usual rate must be "
        "below this.",
    )
    alert_cold_start_negatives: int = Field(
        default=30,
        ge=1,
        description="Complaint weight that alerts for a scope with no history (its prior usual "
        "weight in a window is this / alert_min_ratio).",
    )
    alert_prior_s: int = Field(
        default=60,
        ge=1,
        description="Seconds of history the prior usual rate is worth against a scope's own.",
    )
    alert_feedback_min_reports: int = Field(
        default=3, ge=1, description="'wrong' feedback reports in a window that raise an alert."
    )
    alert_cooldown_s: int = Field(default=600, ge=0, description="Quiet time after a resolve.")
    alert_examples: int = Field(
        default=3, ge=0, description="Recent likely complaints quoted in an alert."
    )
    alert_example_chars: int = Field(
        default=280, ge=1, description="An example's text is cut to this many characters."
    )
    alert_max_examples_kept: int = Field(
        default=100,
        ge=0,
        description="Examples a scope keeps over the windows it has still to evaluate (bounds "
        "its stored state; a long backlog's later windows may then quote none).",
    )
    alert_signal_max_bytes: int = Field(
        default=262_144,
        ge=4096,
        description="Signal messages are split at about this size (under Kafka's limit).",
    )
    alert_dedupe_max_ids: int = Field(
        default=20_000,
        ge=0,
        description="Most tweet ids an alert scope remembers to count each once (for window + "
        "lateness; ~11 bytes each in its stored state); past it the oldest are forgotten first.",
    )
    event_time_max_ahead_s: int = Field(
        default=300,
        ge=0,
        description="An event time (created_at, reported_at, Kafka timestamp) further ahead of "
        "the worker's clock than this is replaced by the arrival time for the alert windows.",
    )

    label_shift: bool = Field(
        default=True,
        description="Correct probabilities and labels to the live class prior (EM estimate).",
    )
    label_shift_window: int = Field(
        default=5000, ge=100, description="Recent scores the global prior is estimated on."
    )
    label_shift_scope_window: int = Field(
        default=1000, ge=50, description="Recent scores a brand's own prior is estimated on."
    )
    label_shift_min_scope_samples: int = Field(
        default=300,
        ge=1,
        description="Scores a brand needs before its own prior replaces the global one.",
    )
    label_shift_max_scopes: int = Field(
        default=200, ge=1, description="Brands with their own prior kept (least recent go)."
    )
    label_shift_pseudo_count: float = Field(
        default=100.0,
        ge=0.0,
        description="Weight, in tweets, of the training prior in every estimate: few scores "
        "barely move it.",
    )
    label_shift_max_feedback_share: float = Field(
        default=0.1,
        ge=0.0,
        le=0.5,
        description="Most that users' labels (feedback) may weigh in a live prior: however "
        "many reports arrive, no class's prior moves by more than this (0 ignores feedback).",
    )

    web_host: str = Field(
        default="127.0.0.1",
        description="Address the web server binds; 0.0.0.0 exposes it on every interface.",
    )
    web_port: int = Field(default=6066, ge=1, le=65535, description="Port of that web server.")
    web_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for write endpoints (/feedback); without one they answer 401.",
    )
    web_token_file: Path | None = Field(
        default=None, description="File holding the bearer token, instead of BADBUZZ_WEB_TOKEN."
    )
    web_protect_reads: bool = Field(
        default=False, description="Also require the token on /metrics, /predict and /status."
    )
    web_max_body_bytes: int = Field(
        default=262_144, ge=1024, description="Larger request bodies are refused with 413."
    )
    web_predict_max_texts: int = Field(
        default=64, ge=1, description="Most texts one POST /predict may score."
    )
    web_feedback_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="How long POST /feedback waits for Kafka's ack before answering 503.",
    )
    data_dir: Path = Field(
        default=Path("var/worker"),
        description="Faust's data directory (relative to the working directory, and the "
        "registry model's download cache); created with its parents at start.",
    )
    training_data_dir: Path = Field(
        default=REPOSITORY.parent / "shared" / "data",
        description="Labelled tweets that `badbuzz train` and the bench read (sentiment140/, "
        "semeval2013/, semeval2017/; docs/data.md), kept outside the repository; by default "
        "shared/data beside the checkout. Not read by the worker.",
    )
    commit_interval_s: float = Field(
        default=1.0, gt=0, description="How often finished offsets are committed."
    )
    session_timeout_s: float = Field(
        default=10.0, ge=6.0, description="A silent worker's partitions move after this long."
    )
    startup_timeout_s: float = Field(
        default=300.0,
        ge=0,
        description="How long a starting worker waits for brokers that cannot answer yet "
        "(starting, loading a group coordinator, unreachable) before it exits with code 69; "
        "a refusal (authentication, TLS, ACLs) exits at once with code 78.",
    )
    lag_report_interval_s: float = Field(
        default=5.0,
        gt=0,
        description="How often consumer lag is measured: tweets.raw's by the scoring "
        "consumer, feedback's and signals' on a Faust timer.",
    )
    processing_attempts: int = Field(
        default=3,
        ge=1,
        description="Tries at handling an input whose handling raises before it is "
        "dead-lettered as processing_failed (a down broker is retried forever, not counted).",
    )
    processing_backoff_s: float = Field(
        default=0.5, ge=0, description="Wait before the 2nd try; doubles for each further one."
    )
    drift_window: int = Field(default=5000, ge=100, description="Recent scores drift is on.")
    drift_oov_every: int = Field(
        default=10, ge=1, description="Measure the OOV rate on one batch in this many."
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")

    alertmanager_url: str = Field(
        default="http://127.0.0.1:9093",
        description="`badbuzz notify`: the Alertmanager its alerts are posted to "
        "(/api/v2/alerts is appended).",
    )
    status_page_url: str = Field(
        default="http://127.0.0.1:6066/",
        description="The status page a notification links to (a worker's web server).",
    )
    notify_resend_s: float = Field(
        default=60.0,
        gt=0,
        description="How often active alerts are sent to Alertmanager again; each is valid "
        "for 4 times this (its endsAt), so a stopped notifier's alerts resolve after that.",
    )
    notify_retry_initial_s: float = Field(
        default=0.5, gt=0, description="First wait before posting to Alertmanager again."
    )
    notify_retry_max_s: float = Field(
        default=30.0, gt=0, description="Longest wait between posts while Alertmanager is down."
    )
    notify_example_chars: int = Field(
        default=280, ge=20, description="Longest example tweet quoted in a notification."
    )
    notify_metrics_port: int = Field(
        default=6068, ge=1, le=65535, description="Port of the notifier's /metrics (on web_host)."
    )

    @model_validator(mode="after")
    def _kafka_security_is_consistent(self) -> Self:
        """Every bad combination in one message, so an operator fixes them in one go."""
        problems = kafka_security_problems(self)
        if problems:
            raise ValueError("Kafka security settings: " + "; ".join(problems))
        return self

    @property
    def scoring_transactional_id(self) -> str:
        """Host and data directory tell this worker's restarts apart from its peers'."""
        if self.transactional_id is not None:
            return self.transactional_id
        where = f"{socket.gethostname()}:{self.data_dir.resolve()}".encode()
        return f"{self.scoring_group_id}-{hashlib.sha256(where).hexdigest()[:12]}"

    @property
    def scoring_group_id(self) -> str:
        """The group of the librdkafka consumer that scores `topic_raw`."""
        return f"{self.app_id}-scoring"

    @property
    def notify_group_id(self) -> str:
        """The notifier's own consumer group: it reads alerts at its own pace."""
        return f"{self.app_id}-notify"

    @property
    def topic_signals(self) -> str:
        """Internal: per-scope observations, keyed by scope so one worker sees a scope whole."""
        return f"{self.app_id}-signals"

    @property
    def topic_alert_state(self) -> str:
        """Internal, compacted: alert window state per scope, partitioned like the signals."""
        return f"{self.app_id}-alert-state"

    @property
    def input_topics(self) -> tuple[str, ...]:
        """What the worker's agents consume: tweets, feedback and the internal signals."""
        return (self.topic_raw, self.topic_feedback, self.topic_signals)

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


def kafka_security_problems(settings: Settings) -> list[str]:
    """What is wrong with the combination of BADBUZZ_KAFKA_* security settings (no values)."""
    protocol = settings.kafka_security_protocol
    sasl = protocol.startswith("SASL_")
    tls = protocol in ("SSL", "SASL_SSL")
    has_password = settings.kafka_sasl_password is not None
    has_password_file = settings.kafka_sasl_password_file is not None
    problems = []
    if sasl:
        if settings.kafka_sasl_mechanism is None:
            problems.append(f"{protocol} needs BADBUZZ_KAFKA_SASL_MECHANISM")
        if not settings.kafka_sasl_username:
            problems.append(f"{protocol} needs BADBUZZ_KAFKA_SASL_USERNAME")
        if not has_password and not has_password_file:
            problems.append(
                f"{protocol} needs BADBUZZ_KAFKA_SASL_PASSWORD or BADBUZZ_KAFKA_SASL_PASSWORD_FILE"
            )
    elif any((settings.kafka_sasl_mechanism, settings.kafka_sasl_username, has_password)):
        problems.append(f"SASL settings are set but the protocol is {protocol}")
    if has_password and has_password_file:
        problems.append("set BADBUZZ_KAFKA_SASL_PASSWORD or its _FILE, not both")
    tls_files = (
        settings.kafka_ssl_ca_file,
        settings.kafka_ssl_cert_file,
        settings.kafka_ssl_key_file,
    )
    if not tls and any(tls_files):
        problems.append(f"TLS files are set but the protocol is {protocol} (use SSL or SASL_SSL)")
    if (settings.kafka_ssl_cert_file is None) != (settings.kafka_ssl_key_file is None):
        problems.append(
            "mutual TLS needs both BADBUZZ_KAFKA_SSL_CERT_FILE and BADBUZZ_KAFKA_SSL_KEY_FILE"
        )
    return problems


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

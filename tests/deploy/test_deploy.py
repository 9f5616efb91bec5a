"""The deployment files agree with the code: docker-compose.yml, the Prometheus config and
alert rules (checked and unit-tested with promtool, see `make tools`), and the Grafana
dashboard. No Docker engine is needed."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from stream.cli import build_parser
from stream.models import metrics as model_metrics
from stream.observability import metrics
from stream.settings import Settings
from stream.web.auth import load_token
from tests.support import PROJECT_ROOT
from training.cli import build_parser as build_train_parser

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
PROMETHEUS_DIR = PROJECT_ROOT / "deploy" / "prometheus"
GRAFANA_DIR = PROJECT_ROOT / "deploy" / "grafana"
DASHBOARD_FILE = GRAFANA_DIR / "dashboards" / "badbuzz.json"
SECRETS_DIR = PROJECT_ROOT / "deploy" / "secrets"
DRIFT_GAUGES = {"badbuzz_drift_psi", "badbuzz_predicted_negative_share", "badbuzz_oov_token_rate"}
REQUIRED_ALERTS = {
    "NegativeSentimentSpike",
    "DeadLetterRateHigh",
    "ConsumerLagHigh",
    "WorkerDown",
    "ModelDrift",
}
WORKER_JOB = "badbuzz"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


COMPOSE: dict[str, Any] = load_yaml(COMPOSE_FILE)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]


# --- helpers ------------------------------------------------------------------------------


def argv_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: str(value) for key, value in env.items()}


def badbuzz_commands() -> list[tuple[str, list[str]]]:
    return [
        (name, argv[1:])
        for name, service in SERVICES.items()
        if (argv := argv_of(service)) and argv[0] == "badbuzz"
    ]


def worker_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in SERVICES.items() if argv_of(s)[:2] == ["badbuzz", "worker"]}


def web_port(service: dict[str, Any]) -> int:
    default = Settings.model_fields["web_port"].default
    return int(environment_of(service).get("BADBUZZ_WEB_PORT", default))


def published_ports(service: dict[str, Any]) -> list[tuple[int, int]]:
    """(host, container) pairs of a service's `ports`."""
    pairs = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            pairs.append((int(port["published"]), int(port["target"])))
            continue
        parts = str(port).split("/")[0].split(":")
        assert len(parts) >= 2, f"unpublished or unparsable port {port!r}"
        pairs.append((int(parts[-2]), int(parts[-1])))
    return pairs


def mounts(service: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, is_bind) for each entry of a service's `volumes`."""
    found = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            source, target = str(volume.get("source", "")), str(volume["target"])
            is_bind = volume.get("type") == "bind"
        else:
            source, target = str(volume).split(":")[:2]
            is_bind = source.startswith((".", "/", "~"))
        found.append((source, target, is_bind))
    return found


def host_path(source: str) -> Path:
    return (COMPOSE_FILE.parent / source).resolve()


def mount_source(service: dict[str, Any], container_path: str) -> Path:
    """The repo path mounted at container_path, or at a directory above it."""
    for source, target, is_bind in mounts(service):
        target = target.rstrip("/")
        if is_bind and (container_path == target or container_path.startswith(target + "/")):
            return host_path(source) / Path(container_path).relative_to(target)
    raise AssertionError(f"nothing from the repo is mounted at {container_path}")


def known_metric_names() -> set[str]:
    """Exposition names of every collector in stream/observability/metrics.py and
    stream/models/metrics.py, plus the drift gauges and the shadow's counters."""
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("_sum", "_count", "_created", ""),
        "info": ("_info",),
    }
    names = set(DRIFT_GAUGES) | {metrics.CONSUMER_LAG.name}  # read from its source on scrape
    names |= {f"{family.name}_total" for family in model_metrics.SHADOW.collect()}
    for collector in [*vars(metrics).values(), *vars(model_metrics).values()]:
        if isinstance(collector, MetricWrapperBase):
            names.update(collector._name + suffix for suffix in suffixes[collector._type])
    return names


PROMQL_KEYWORDS = {"and", "or", "unless", "offset", "bool", "inf", "nan"} | {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
}
TOKEN = re.compile(r"\d[\w.]*|[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names_in(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (functions, labels and keywords dropped)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\$\{?\w+\}?", " ", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for token in TOKEN.finditer(expr):
        word = token.group()
        if word[0].isdigit() or word.lower() in PROMQL_KEYWORDS:
            continue
        if expr[token.end() :].lstrip().startswith("("):
            continue  # a function call
        names.add(word)
    return names


def allowed_metric_names() -> set[str]:
    return known_metric_names() | {"up"}


def promtool() -> str:
    found = shutil.which("promtool")
    for candidate in (
        Path(sys.executable).parent / "promtool",
        PROJECT_ROOT / ".venv/bin/promtool",
    ):
        if found is None and candidate.is_file():
            found = str(candidate)
    if found is None:
        pytest.fail(
            "promtool is not installed: run `make tools` (Debian's prometheus package), "
            "then run the tests again"
        )
    return found


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [promtool(), *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result


def alert_rules() -> list[dict[str, Any]]:
    groups = load_yaml(PROMETHEUS_DIR / "rules.yml")["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def dashboard_panels() -> list[dict[str, Any]]:
    def walk(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = []
        for panel in panels:
            found.extend(walk(panel.get("panels", [])))
            if panel.get("type") != "row":
                found.append(panel)
        return found

    return walk(json.loads(DASHBOARD_FILE.read_text())["panels"])


# --- docker-compose.yml ---------------------------------------------------------------------


def test_every_service_has_an_image_or_a_build() -> None:
    for name, service in SERVICES.items():
        assert "image" in service or "build" in service, name
        build = service.get("build")
        if build is not None:
            context = build if isinstance(build, str) else build.get("context", ".")
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile")
            assert (host_path(context) / (dockerfile or "Dockerfile")).is_file(), name


def test_host_paths_exist_and_named_volumes_are_declared() -> None:
    declared = set(COMPOSE.get("volumes") or {})
    for name, service in SERVICES.items():
        for source, target, is_bind in mounts(service):
            if is_bind:
                path = host_path(source)
                assert path.exists(), f"{name}: {source} (mounted at {target}) is not in the repo"
                assert path.is_relative_to(PROJECT_ROOT), f"{name}: {source} is outside the repo"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
        for env_file in service.get("env_file", []) or []:
            assert host_path(env_file).is_file(), f"{name}: env_file {env_file} is missing"


def test_dependencies_name_real_services() -> None:
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", []) or []:
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"


def test_badbuzz_commands_are_real_cli_commands() -> None:
    commands = badbuzz_commands()
    assert {argv[0] for _, argv in commands} >= {"topics", "worker", "replay"}
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    copied = re.findall(r"^COPY\s+(\S+)", dockerfile, flags=re.MULTILINE)
    for name, argv in commands:
        try:  # `badbuzz train ...` is parsed by training's own parser, as the CLI does
            args = (
                build_train_parser().parse_args(argv[1:])
                if argv[0] == "train"
                else build_parser().parse_args(argv)
            )
        except SystemExit as exc:
            pytest.fail(f"{name}: `badbuzz {' '.join(argv)}` is not a valid command ({exc})")
        file = getattr(args, "file", None)
        if file is not None:  # a file read inside the image: in the repo and copied in
            assert (PROJECT_ROOT / file).is_file(), f"{name}: {file} is not in the repo"
            assert any(Path(file).is_relative_to(source.rstrip("/")) for source in copied), (
                f"{name}: the Dockerfile does not copy {file} into the image"
            )


def test_two_workers_in_one_consumer_group_on_distinct_ports() -> None:
    workers = worker_services()
    assert len(workers) >= 2, "the stack runs two workers"
    default_app_id = Settings.model_fields["app_id"].default
    app_ids = {environment_of(s).get("BADBUZZ_APP_ID", default_app_id) for s in workers.values()}
    assert len(app_ids) == 1, f"workers must share one BADBUZZ_APP_ID, got {app_ids}"
    ports = [web_port(s) for s in workers.values()]
    assert len(set(ports)) == len(ports), f"workers need distinct web ports, got {ports}"
    names = [s.get("container_name", name) for name, s in workers.items()]
    assert len(set(names)) == len(names)
    host_ports = []
    for name, service in workers.items():
        published = dict((c, h) for h, c in published_ports(service))
        assert web_port(service) in published, f"{name}: its web port is not published"
        host_ports.append(published[web_port(service)])
        # the code binds loopback by default; a published port needs the container's interface
        assert environment_of(service).get("BADBUZZ_WEB_HOST") == "0.0.0.0", name
        env = environment_of(service)
        assert env.get("KAFKA_BOOTSTRAP_SERVERS", "").split(":")[0] in SERVICES
    assert sorted(host_ports) == [6066, 6067]


def test_the_retrain_service_puts_a_challenger_in_shadow_on_a_schedule() -> None:
    service = SERVICES["retrain"]
    args = build_train_parser().parse_args(argv_of(service)[2:])
    assert args.func.__name__ == "cmd_train_retrain" and args.shadow and args.every > 0
    env = environment_of(service)
    mlflow = re.fullmatch(r"http://([\w-]+):(\d+)/?", env["MLFLOW_TRACKING_URI"])
    assert mlflow and mlflow.group(1) in SERVICES
    assert env["KAFKA_BOOTSTRAP_SERVERS"].split(":")[0] in SERVICES
    assert env["BADBUZZ_TRAINING_DATA_DIR"] in {target for _, target, _ in mounts(service)}
    data_dir = re.search(r"BADBUZZ_DATA_DIR=(\S+)", DOCKERFILE.read_text()).group(1)
    assert args.out.is_relative_to(data_dir), "the image's user writes only its data dir"


def test_no_two_services_publish_the_same_host_port() -> None:
    published = [h for s in SERVICES.values() for h, _ in published_ports(s)]
    assert len(set(published)) == len(published), published


# --- exposure and secrets (docs/security.md) -----------------------------------------------


def test_every_published_port_is_on_the_loopback_interface_only() -> None:
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            host_ip = port.get("host_ip") if isinstance(port, dict) else str(port)
            assert str(host_ip).startswith("127.0.0.1:") or host_ip == "127.0.0.1", (name, port)


def test_prometheus_lifecycle_api_and_grafana_anonymous_access_are_off() -> None:
    for name, service in SERVICES.items():
        assert not any("enable-lifecycle" in arg for arg in argv_of(service)), name
        env = environment_of(service)
        assert env.get("GF_AUTH_ANONYMOUS_ENABLED", "false").lower() == "false", name
    grafana = environment_of(SERVICES["grafana"])
    assert "GF_SECURITY_ADMIN_PASSWORD" not in grafana  # no password in the file itself
    assert secret_file_of(SERVICES["grafana"], grafana["GF_SECURITY_ADMIN_PASSWORD__FILE"])


def secret_file_of(service: dict[str, Any], container_path: str) -> Path:
    """The host file behind a compose secret the service mounts at `container_path`."""
    name = Path(container_path).name
    assert container_path == f"/run/secrets/{name}", container_path
    assert name in service.get("secrets", []), f"the service does not mount secret {name}"
    return host_path(COMPOSE["secrets"][name]["file"])


def test_every_worker_reads_its_web_token_from_a_secret_file() -> None:
    for name, service in worker_services().items():
        env = environment_of(service)
        assert "BADBUZZ_WEB_TOKEN" not in env, name
        token_file = secret_file_of(service, env["BADBUZZ_WEB_TOKEN_FILE"])
        assert token_file.parent == SECRETS_DIR, name


def test_the_secret_files_are_git_ignored() -> None:
    for secret in COMPOSE["secrets"].values():
        path = host_path(secret["file"])
        assert path.parent == SECRETS_DIR
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", str(path)], cwd=PROJECT_ROOT, check=False, timeout=30
        )
        assert ignored.returncode == 0, f"{path} could be committed"


def test_make_secrets_writes_usable_random_secrets_once(tmp_path: Path) -> None:
    secrets_dir = tmp_path / "secrets"

    def make_secrets() -> dict[str, str]:
        subprocess.run(
            ["make", "--no-print-directory", "-s", "secrets", f"SECRETS_DIR={secrets_dir}"],
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            timeout=60,
        )
        return {f.name: f.read_text() for f in secrets_dir.iterdir()}

    written = make_secrets()
    assert set(written) == {Path(s["file"]).name for s in COMPOSE["secrets"].values()}
    assert len(set(written.values())) == len(written)
    assert secrets_dir.stat().st_mode & 0o777 == 0o700
    token = load_token(Settings(web_token_file=secrets_dir / "web_token"))
    assert token is not None and len(token) >= 32
    assert make_secrets() == written  # never overwritten


# --- the image ------------------------------------------------------------------------------

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
LOCK_FILE = PROJECT_ROOT / "requirements" / "runtime.lock"
TRAIN_LOCK_FILE = PROJECT_ROOT / "requirements" / "train.lock"
PINNED_BASE = re.compile(r"^[\w./-]+:\d+\.\d+\.\d+[\w.-]*@sha256:[0-9a-f]{64}$")


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def dockerfile_stages() -> dict[str, str]:
    """Each named stage's base (`FROM base AS name`)."""
    stages = {}
    for op, args in dockerfile_instructions():
        if op == "FROM":
            base, *rest = args.split()
            stages[rest[-1] if len(rest) == 2 and rest[0].upper() == "AS" else ""] = base
    return stages


def test_the_base_image_is_pinned_by_version_and_digest() -> None:
    stages = dockerfile_stages()
    bases = [base for base in stages.values() if base not in stages]  # not an earlier stage
    assert bases and all(PINNED_BASE.match(base) for base in bases), bases


def test_plain_build_gives_the_worker_and_compose_names_each_services_stage() -> None:
    stages = dockerfile_stages()
    assert list(stages)[-1] == "worker"
    for name, service in SERVICES.items():
        build = service.get("build")
        if build is not None:
            expected = "train" if argv_of(service)[:2] == ["badbuzz", "train"] else "worker"
            assert build["target"] == expected, name


def test_the_image_runs_as_an_unprivileged_user_that_cannot_write_the_app() -> None:
    instructions = dockerfile_instructions()
    users = [args for op, args in instructions if op == "USER"]
    assert users, "no USER: the worker would run as root"
    user, _, group = users[-1].partition(":")
    assert user not in {"root", "0"} and group not in {"root", "0"}, users[-1]
    last_user = max(i for i, (op, _) in enumerate(instructions) if op == "USER")
    assert all(op not in {"RUN", "COPY", "ADD"} for op, _ in instructions[last_user:])
    assert not any("--chown" in args or "chown" in args.split() for _, args in instructions)
    data_dir = next(
        args.split("BADBUZZ_DATA_DIR=")[1].split()[0]
        for op, args in instructions
        if op == "ENV" and "BADBUZZ_DATA_DIR=" in args
    )
    assert any(
        op == "RUN" and f"-o badbuzz -g badbuzz {data_dir}" in args for op, args in instructions
    )


def test_dependencies_are_installed_from_the_lock_with_hashes_and_nothing_else() -> None:
    installs = [
        args for op, args in dockerfile_instructions() if op == "RUN" and "pip install" in args
    ]
    locked, project, train = installs
    assert {"--no-deps", "--no-index", "--no-build-isolation"} <= set(project.split())
    for install, lock in ((locked, "runtime.lock"), (train, "train.lock")):
        assert "--require-hashes" in install and f"requirements/{lock}" in install
        assert "--only-binary=:all:" in install


def test_the_train_lock_has_the_runtime_packages_at_the_same_versions() -> None:
    train = locked_versions(TRAIN_LOCK_FILE)
    assert {name: train.get(name) for name in locked_versions()} == locked_versions()
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    for requirement in project["project"]["optional-dependencies"]["train"]:
        name, _, version = requirement.partition("==")
        assert train.get(canonical(name)) == version, requirement


def locked_versions(lock: Path = LOCK_FILE) -> dict[str, str]:
    """Each locked package's version, after checking it carries at least one hash."""
    pins = re.findall(
        r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)(?:\s*;[^\\]*)?\s*\\\n\s+--hash=sha256:[0-9a-f]{64}",
        lock.read_text(),
        flags=re.MULTILINE,
    )
    names = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", lock.read_text(), re.MULTILINE)
    assert len(pins) == len(names), "a locked package has no hash"
    return {canonical(name): version for name, version in pins}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_lock_pins_every_runtime_dependency_at_its_pyproject_version() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    locked = locked_versions()
    for requirement in project["project"]["dependencies"]:
        name, _, version = requirement.partition("==")
        assert version, f"{requirement}: runtime dependencies are pinned with =="
        assert locked.get(canonical(name)) == version, (
            f"{requirement}: lock has {locked.get(canonical(name))}"
        )
    for build_requirement in project["build-system"]["requires"]:
        name = re.split(r"[<>=!~ ]", build_requirement)[0]
        assert canonical(name) in locked, f"{name} (build-system) is not in the lock"


# --- Prometheus -----------------------------------------------------------------------------


def prometheus_config() -> dict[str, Any]:
    return load_yaml(PROMETHEUS_DIR / "prometheus.yml")


def test_prometheus_scrapes_exactly_the_worker_services() -> None:
    jobs = {job["job_name"]: job for job in prometheus_config()["scrape_configs"]}
    job = jobs[WORKER_JOB]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = {t for static in job["static_configs"] for t in static["targets"]}
    expected = {f"{name}:{web_port(s)}" for name, s in worker_services().items()}
    assert targets == expected


def test_prometheus_service_mounts_its_config_and_rules() -> None:
    service = SERVICES["prometheus"]
    command = argv_of(service)
    config_path = next(a.split("=", 1)[1] for a in command if a.startswith("--config.file="))
    assert mount_source(service, config_path) == PROMETHEUS_DIR / "prometheus.yml"
    for rule_file in prometheus_config()["rule_files"]:
        assert mount_source(service, rule_file).is_file(), rule_file
    assert mount_source(service, "/etc/prometheus/rules.yml") == PROMETHEUS_DIR / "rules.yml"


def test_promtool_checks_the_config_and_rules(tmp_path: Path) -> None:
    run_promtool("check", "rules", "deploy/prometheus/rules.yml")
    # the config names the rules by their path in the container: check it with repo paths
    config = prometheus_config()
    service = SERVICES["prometheus"]
    config["rule_files"] = [str(mount_source(service, f)) for f in config["rule_files"]]
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    run_promtool("check", "config", str(config_file))


def test_promtool_unit_tests_of_the_alert_rules_pass() -> None:
    result = run_promtool("test", "rules", "deploy/prometheus/rules_test.yml")
    assert "SUCCESS" in result.stdout + result.stderr


def test_alert_rules_cover_the_required_alerts_with_labels_and_annotations() -> None:
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert len(set(names)) == len(names)
    assert set(names) >= REQUIRED_ALERTS
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert {"summary", "description", "runbook"} <= set(rule["annotations"]), rule["alert"]


def test_every_alert_is_unit_tested_firing_and_not_firing() -> None:
    cases = [
        case
        for test in load_yaml(PROMETHEUS_DIR / "rules_test.yml")["tests"]
        for case in test.get("alert_rule_test", [])
    ]
    for rule in alert_rules():
        mine = [case for case in cases if case["alertname"] == rule["alert"]]
        assert any(case.get("exp_alerts") for case in mine), f"{rule['alert']} never fires"
        assert any(not case.get("exp_alerts") for case in mine), f"{rule['alert']} always fires"


def test_alert_rules_use_only_exported_metrics() -> None:
    allowed = allowed_metric_names()
    for rule in alert_rules():
        unknown = metric_names_in(rule["expr"]) - allowed
        assert not unknown, f"{rule['alert']} uses unknown metrics {unknown}"


def test_metric_name_extraction() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le) (rate(badbuzz_x_bucket{a="b c"}[$__rate_interval])))'
        " / on (instance) group_left up offset 10m and time() - foo_bar > 1e3"
    )
    assert metric_names_in(expr) == {"badbuzz_x_bucket", "up", "foo_bar"}


# --- Grafana --------------------------------------------------------------------------------


def datasource() -> dict[str, Any]:
    config = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")
    (source,) = config["datasources"]
    return source


def test_grafana_datasource_points_at_the_prometheus_service() -> None:
    source = datasource()
    assert source["type"] == "prometheus"
    host, port = re.fullmatch(r"http://([\w-]+):(\d+)/?", source["url"]).groups()
    assert host in SERVICES
    assert int(port) in {c for _, c in published_ports(SERVICES[host])} | {9090}


def test_grafana_service_mounts_provisioning_and_dashboards() -> None:
    service = SERVICES["grafana"]
    provisioning = mount_source(service, "/etc/grafana/provisioning")
    assert provisioning == GRAFANA_DIR / "provisioning"
    providers = load_yaml(provisioning / "dashboards" / "dashboards.yml")["providers"]
    for provider in providers:
        assert mount_source(service, provider["options"]["path"]) == DASHBOARD_FILE.parent
    home = environment_of(service)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert mount_source(service, home) == DASHBOARD_FILE


def test_dashboard_panels_have_a_datasource_and_known_metrics() -> None:
    dashboard = json.loads(DASHBOARD_FILE.read_text())
    assert dashboard["uid"] and dashboard["title"]
    panels = dashboard_panels()
    assert panels
    assert len({p["id"] for p in panels}) == len(panels), "panel ids must be unique"
    uid = datasource()["uid"]
    allowed = allowed_metric_names()
    for panel in panels:
        title = panel["title"]
        assert panel.get("datasource", {}).get("uid") == uid, f"{title}: datasource"
        assert panel.get("targets"), f"{title}: no targets"
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]), title
        for target in panel["targets"]:
            assert target.get("datasource", panel["datasource"])["uid"] == uid, title
            names = metric_names_in(target["expr"])
            assert names, f"{title}: {target['expr']} selects no metric"
            assert not names - allowed, f"{title}: unknown metrics {names - allowed}"


def test_dashboard_shows_every_exported_metric() -> None:
    used = set().union(
        *(metric_names_in(t["expr"]) for p in dashboard_panels() for t in p["targets"])
    )
    families = {re.sub(r"_(total|bucket|sum|count|info)$", "", name) for name in used}
    exported = {
        c._name
        for c in [*vars(metrics).values(), *vars(model_metrics).values()]
        if isinstance(c, MetricWrapperBase)
    }
    exported |= {family.name for family in model_metrics.SHADOW.collect()}
    assert not exported - families, f"metrics missing from the dashboard: {exported - families}"


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """promtool parses every panel query (Grafana's $__ variables replaced by a duration)."""
    rules = [
        {
            "record": f"badbuzz:dashboard_panel_{panel['id']}_{target['refId']}",
            "expr": re.sub(r"\$\{?__\w+\}?", "5m", target["expr"]),
        }
        for panel in dashboard_panels()
        for target in panel["targets"]
    ]
    rule_file = tmp_path / "dashboard_queries.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    run_promtool("check", "rules", str(rule_file))


# --- Alertmanager and the notifier ----------------------------------------------------------

ALERTMANAGER_DIR = PROJECT_ROOT / "deploy" / "alertmanager"


def test_alertmanager_groups_and_inhibits_by_labels_the_notifier_sends() -> None:
    from schemas import Alert
    from stream.notify.payload import episode_labels

    config = load_yaml(ALERTMANAGER_DIR / "alertmanager.yml")
    alert = Alert.model_validate(
        {
            "alert_id": "a",
            "kind": "negative_sentiment",
            "status": "raised",
            "scope": "airparadis",
            "window_start": "2026-03-01T12:00:00Z",
            "window_end": "2026-03-01T12:05:00Z",
            "count": 1,
            "total": 1,
            "share": 1.0,
            "threshold": "t",
            "raised_at": "2026-03-01T12:05:00Z",
        }
    )
    sent = set(episode_labels(alert))
    assert set(config["route"]["group_by"]) <= sent
    for rule in config["inhibit_rules"]:
        assert set(rule["equal"]) <= sent
    receivers = {receiver["name"] for receiver in config["receivers"]}
    for route in [config["route"], *config["route"]["routes"]]:
        assert route["receiver"] in receivers


def test_alertmanager_service_mounts_its_config_and_templates() -> None:
    service = SERVICES["alertmanager"]
    assert mount_source(service, "/etc/alertmanager/alertmanager.yml") == (
        ALERTMANAGER_DIR / "alertmanager.yml"
    )
    config = load_yaml(ALERTMANAGER_DIR / "alertmanager.yml")
    for pattern in config["templates"]:
        folder = mount_source(service, str(Path(pattern).parent))
        assert list(folder.glob(Path(pattern).name)), pattern
    placeholders = set(
        re.findall(r"__[A-Z_]+__", (ALERTMANAGER_DIR / "alertmanager.yml").read_text())
    )
    rendered = " ".join(argv_of(service))
    assert all(placeholder in rendered for placeholder in placeholders)


def test_notifier_service_posts_to_alertmanager_and_is_scraped() -> None:
    notifier = SERVICES["notifier"]
    assert argv_of(notifier) == ["badbuzz", "notify"]
    env = environment_of(notifier)
    host, port = re.fullmatch(r"http://([\w-]+):(\d+)/?", env["BADBUZZ_ALERTMANAGER_URL"]).groups()
    assert host == "alertmanager" and int(port) in {c for _, c in published_ports(SERVICES[host])}
    metrics_port = int(
        env.get("BADBUZZ_NOTIFY_METRICS_PORT", Settings.model_fields["notify_metrics_port"].default)
    )
    jobs = {job["job_name"]: job for job in prometheus_config()["scrape_configs"]}
    targets = {t for static in jobs["badbuzz-notify"]["static_configs"] for t in static["targets"]}
    assert targets == {f"notifier:{metrics_port}"}
    (alerting,) = prometheus_config()["alerting"]["alertmanagers"]
    assert alerting["static_configs"][0]["targets"] == [f"alertmanager:{port}"]

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
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from stream.cli import build_parser
from stream.observability import metrics
from stream.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
GRAFANA_DIR = ROOT / "deploy" / "grafana"
DASHBOARD_FILE = GRAFANA_DIR / "dashboards" / "badbuzz.json"
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
    """Exposition names of every collector in stream/observability/metrics.py, plus the drift
    gauges."""
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("_sum", "_count", "_created", ""),
        "info": ("_info",),
    }
    names = set(DRIFT_GAUGES)
    for collector in vars(metrics).values():
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
    for candidate in (Path(sys.executable).parent / "promtool", ROOT / ".venv/bin/promtool"):
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
        [promtool(), *args], cwd=ROOT, capture_output=True, text=True, timeout=120
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
                assert path.is_relative_to(ROOT), f"{name}: {source} is outside the repo"
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
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = re.findall(r"^COPY\s+(\S+)", dockerfile, flags=re.MULTILINE)
    for name, argv in commands:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"{name}: `badbuzz {' '.join(argv)}` is not a valid command ({exc})")
        file = getattr(args, "file", None)
        if file is not None:  # a file read inside the image: in the repo and copied in
            assert (ROOT / file).is_file(), f"{name}: {file} is not in the repo"
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


def test_no_two_services_publish_the_same_host_port() -> None:
    published = [h for s in SERVICES.values() for h, _ in published_ports(s)]
    assert len(set(published)) == len(published), published


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
    home = environment_of(service).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
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
    exported = {c._name for c in vars(metrics).values() if isinstance(c, MetricWrapperBase)}
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

ALERTMANAGER_DIR = ROOT / "deploy" / "alertmanager"


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

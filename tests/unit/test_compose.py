"""Static consistency checks of docker-compose.yml, the Dockerfile and the files they mount.

No container engine is needed: the files are parsed and cross-checked against each other
and against ``ioc_monitor.config``, so a renamed mount path, a moved port or a misspelt
``IOC_*`` variable fails here instead of at ``docker compose up``.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic_settings import BaseSettings

from ioc_monitor import config
from services.wall.settings import WallSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
PYPROJECT = ROOT / "pyproject.toml"

PROMETHEUS_CONFIG_TARGET = "/etc/prometheus/prometheus.yml"
GRAFANA_PROVISIONING_TARGET = "/etc/grafana/provisioning"

IOC_VAR = re.compile(r"\bIOC_[A-Z0-9_]+\b")


# --------------------------------------------------------------------------- helpers


def _load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = _load_yaml(COMPOSE_FILE)
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    assert "version" not in data, "compose spec files carry no top-level `version:`"
    assert isinstance(data.get("services"), dict) and data["services"]
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _service(services: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    assert name in services, f"docker-compose.yml has no `{name}` service"
    return services[name]


def _bind_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """``(source, target)`` of every bind mount (short or long syntax) of a service."""
    mounts: list[tuple[str, str]] = []
    for entry in service.get("volumes", []) or []:
        if isinstance(entry, str):
            parts = entry.split(":")
            if len(parts) < 2:
                continue  # anonymous volume
            source, target = parts[0], parts[1]
            if source.startswith((".", "/", "~")):
                mounts.append((source, target))
        elif isinstance(entry, dict) and entry.get("type") == "bind":
            mounts.append((str(entry["source"]), str(entry["target"])))
    return mounts


def _all_bind_mounts(services: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [
        (name, source, target)
        for name, svc in services.items()
        for source, target in _bind_mounts(svc)
    ]


def _host_path_for(service: dict[str, Any], target: str) -> Path:
    """Host path that the service sees at container path ``target`` (file or dir inside)."""
    wanted = PurePosixPath(target)
    for source, mount_target in _bind_mounts(service):
        mt = PurePosixPath(mount_target)
        if wanted == mt or mt in wanted.parents:
            assert source.startswith("./"), f"{source} should be a repo-relative bind mount"
            return ROOT / source / wanted.relative_to(mt)
    raise AssertionError(f"nothing is bind-mounted at {target}")


def _is_mounted_dir(service: dict[str, Any], target: str) -> bool:
    """Whether container path ``target`` lies in a bind-mounted directory of the service."""
    wanted = PurePosixPath(target)
    for source, mount_target in _bind_mounts(service):
        mt = PurePosixPath(mount_target)
        if (wanted == mt or mt in wanted.parents) and (ROOT / source).is_dir():
            return True
    return False


def _container_ports(service: dict[str, Any]) -> set[int]:
    ports: set[int] = set()
    for entry in service.get("ports", []) or []:
        if isinstance(entry, dict):
            ports.add(int(entry["target"]))
        else:
            container = str(entry).rsplit(":", 1)[-1].split("/", 1)[0]
            ports.add(int(container))
    return ports


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) for item in env)
        return {p[0]: (p[1] if len(p) > 1 else "") for p in pairs}
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command") or []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def _settings_models() -> list[type[BaseSettings]]:
    """Every settings model: those of ``ioc_monitor.config`` and the wall's."""
    models: list[type[BaseSettings]] = [
        obj
        for obj in vars(config).values()
        if isinstance(obj, type) and issubclass(obj, BaseSettings) and obj is not BaseSettings
    ]
    return [*models, WallSettings]


@pytest.fixture(scope="module")
def prometheus_config(services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    path = _host_path_for(_service(services, "prometheus"), PROMETHEUS_CONFIG_TARGET)
    assert path.is_file(), f"{path} (mounted as {PROMETHEUS_CONFIG_TARGET}) is missing"
    data = _load_yaml(path)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    out: list[tuple[str, str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, rest = stripped.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


# --------------------------------------------------------------------------- mounts/builds


def test_bind_mounted_host_paths_exist(services: dict[str, dict[str, Any]]) -> None:
    mounts = _all_bind_mounts(services)
    assert mounts, "expected the compose file to bind-mount repository files"
    missing = [
        f"{name}: {source}"
        for name, source, _ in mounts
        if source.startswith("./") and not (ROOT / source).exists()
    ]
    assert not missing, f"bind-mounted paths missing from the repository: {missing}"


@pytest.mark.parametrize(
    ("service", "target", "kind"),
    [
        ("prometheus", PROMETHEUS_CONFIG_TARGET, "file"),
        ("prometheus", "/etc/prometheus/rules", "dir"),
        ("alertmanager", "/etc/alertmanager/alertmanager.yml", "file"),
        ("grafana", GRAFANA_PROVISIONING_TARGET, "dir"),
        ("grafana", "/var/lib/grafana/dashboards", "dir"),
    ],
)
def test_expected_mounts_point_at_repository_files(
    services: dict[str, dict[str, Any]], service: str, target: str, kind: str
) -> None:
    path = _host_path_for(_service(services, service), target)
    check = path.is_file if kind == "file" else path.is_dir
    assert check(), f"{service}:{target} is mounted from {path}, which is not an existing {kind}"


def test_alertmanager_command_reads_the_mounted_config(
    services: dict[str, dict[str, Any]],
) -> None:
    am = _service(services, "alertmanager")
    flags = [c for c in _command(am) if c.startswith("--config.file=")]
    target = flags[-1].split("=", 1)[1] if flags else "/etc/alertmanager/alertmanager.yml"
    assert _host_path_for(am, target).is_file()


def test_prometheus_command_reads_the_mounted_config(
    services: dict[str, dict[str, Any]],
) -> None:
    prom = _service(services, "prometheus")
    flags = [c for c in _command(prom) if c.startswith("--config.file=")]
    target = flags[-1].split("=", 1)[1] if flags else PROMETHEUS_CONFIG_TARGET
    assert target == PROMETHEUS_CONFIG_TARGET


def test_every_build_context_has_a_dockerfile(services: dict[str, dict[str, Any]]) -> None:
    built = {name: svc["build"] for name, svc in services.items() if "build" in svc}
    assert {"worker", "exporter"} <= built.keys()
    for name, build in built.items():
        if isinstance(build, str):
            context, dockerfile = build, "Dockerfile"
        else:
            context = build.get("context", ".")
            dockerfile = build.get("dockerfile", "Dockerfile")
        path = ROOT / context / dockerfile
        assert path.is_file(), f"service {name}: no {dockerfile} in build context {context}"


# --------------------------------------------------------------------------- exporter/prometheus


def test_exporter_port_matches_the_default(services: dict[str, dict[str, Any]]) -> None:
    exporter = _service(services, "exporter")
    port = config.DEFAULT_EXPORTER_PORT
    assert port in _container_ports(exporter)
    env = _environment(exporter)
    assert int(env["IOC_EXPORTER_PORT"]) == port
    assert env.get("IOC_EXPORTER_ADDR") == "0.0.0.0", "the exporter must listen beyond loopback"
    cmd = _command(exporter)
    if "--port" in cmd:
        assert int(cmd[cmd.index("--port") + 1]) == port
    healthcheck = " ".join(str(t) for t in exporter["healthcheck"]["test"])
    assert f"localhost:{port}/metrics" in healthcheck


def test_prometheus_scrapes_the_exporter(prometheus_config: dict[str, Any]) -> None:
    wanted = f"exporter:{config.DEFAULT_EXPORTER_PORT}"
    jobs = {job["job_name"]: job for job in prometheus_config["scrape_configs"]}
    assert "ioc-exporter" in jobs
    targets = [
        target
        for static in jobs["ioc-exporter"].get("static_configs", [])
        for target in static.get("targets", [])
    ]
    assert wanted in targets


def test_prometheus_targets_alertmanager_service(
    services: dict[str, dict[str, Any]], prometheus_config: dict[str, Any]
) -> None:
    alertmanager_ports = _container_ports(_service(services, "alertmanager"))
    targets = [
        target
        for am in prometheus_config["alerting"]["alertmanagers"]
        for static in am.get("static_configs", [])
        for target in static.get("targets", [])
    ]
    assert targets, "prometheus.yml sends alerts nowhere"
    for target in targets:
        host, port = _host_port(target)
        assert host == "alertmanager"
        assert port in alertmanager_ports


def test_prometheus_rule_files_are_mounted(
    services: dict[str, dict[str, Any]], prometheus_config: dict[str, Any]
) -> None:
    prom = _service(services, "prometheus")
    rule_files = prometheus_config.get("rule_files") or []
    assert rule_files
    for pattern in rule_files:
        directory = str(PurePosixPath(pattern).parent)
        assert _is_mounted_dir(prom, directory), f"rule glob {pattern} is not in a mounted dir"


# --------------------------------------------------------------------------- env/dependencies


def test_ioc_env_vars_are_real_settings(services: dict[str, dict[str, Any]]) -> None:
    known: set[str] = set()
    for model in _settings_models():
        prefix = str(model.model_config.get("env_prefix", "")).upper()
        known.update(f"{prefix}{field.upper()}" for field in model.model_fields)
    assert {"IOC_KAFKA_BOOTSTRAP", "IOC_UNITS_FILE", "IOC_EXPORTER_PORT"} <= known

    used: set[str] = set()
    for svc in services.values():
        used.update(k for k in _environment(svc) if k.startswith("IOC_"))
    used.update(IOC_VAR.findall(COMPOSE_FILE.read_text(encoding="utf-8")))
    assert used, "compose configures no IOC_* settings"
    unknown = sorted(used - known)
    assert not unknown, (
        f"IOC_* variables in docker-compose.yml that no settings model reads: {unknown}"
    )


def test_worker_env_points_at_compose_services(services: dict[str, dict[str, Any]]) -> None:
    env = _environment(_service(services, "worker"))
    host, _ = _host_port(env["IOC_KAFKA_BOOTSTRAP"])
    assert host in services
    redis_host = urlsplit(env["IOC_REDIS_URL"]).hostname
    assert redis_host in services


def test_healthy_dependencies_have_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    checked = 0
    for name, svc in services.items():
        depends = svc.get("depends_on") or {}
        if isinstance(depends, list):
            continue  # short syntax: service_started
        for dep, spec in depends.items():
            if (spec or {}).get("condition") != "service_healthy":
                continue
            checked += 1
            assert dep in services, f"{name} depends on unknown service {dep}"
            hc = services[dep].get("healthcheck") or {}
            test = hc.get("test")
            assert test and not hc.get("disable"), f"{name} waits for {dep}, which has no check"
            assert test not in (["NONE"], "NONE")
    assert checked, "expected at least one service_healthy dependency"


# --------------------------------------------------------------------------- grafana


def test_grafana_datasource_points_at_prometheus(services: dict[str, dict[str, Any]]) -> None:
    grafana = _service(services, "grafana")
    ds_dir = _host_path_for(grafana, f"{GRAFANA_PROVISIONING_TARGET}/datasources")
    files = sorted(ds_dir.glob("*.y*ml"))
    assert files, f"no datasource provisioning files in {ds_dir}"
    prometheus_ports = _container_ports(_service(services, "prometheus"))
    sources = [ds for f in files for ds in (_load_yaml(f) or {}).get("datasources", [])]
    prom_sources = [ds for ds in sources if ds.get("type") == "prometheus"]
    assert prom_sources
    for ds in prom_sources:
        url = urlsplit(ds["url"])
        assert url.hostname == "prometheus"
        assert url.port in prometheus_ports
    assert any(ds.get("uid") == "prometheus" and ds.get("isDefault") for ds in prom_sources)


def test_grafana_dashboard_provider_path_is_mounted(services: dict[str, dict[str, Any]]) -> None:
    grafana = _service(services, "grafana")
    prov_dir = _host_path_for(grafana, f"{GRAFANA_PROVISIONING_TARGET}/dashboards")
    files = sorted(prov_dir.glob("*.y*ml"))
    assert files, f"no dashboard provisioning files in {prov_dir}"
    providers = [p for f in files for p in (_load_yaml(f) or {}).get("providers", [])]
    file_providers = [p for p in providers if p.get("type") == "file"]
    assert file_providers
    for provider in file_providers:
        assert _is_mounted_dir(grafana, provider["options"]["path"])


def test_grafana_admin_password_is_required(services: dict[str, dict[str, Any]]) -> None:
    env = _environment(_service(services, "grafana"))
    assert re.fullmatch(r"\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]*\}", env["GF_SECURITY_ADMIN_PASSWORD"])


# --------------------------------------------------------------------------- Dockerfile


def _copy_sources(instructions: list[tuple[str, str]]) -> set[str]:
    sources: set[str] = set()
    for keyword, rest in instructions:
        if keyword != "COPY":
            continue
        args = [a for a in shlex.split(rest) if not a.startswith("--")]
        if rest.lstrip().startswith("--from"):
            continue  # copies between stages, not from the build context
        sources.update(a.rstrip("/") for a in args[:-1])
    return sources


def test_dockerfile_copies_constraints_and_packages(
    dockerfile_instructions: list[tuple[str, str]],
) -> None:
    pyproject = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    includes = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*").rstrip(".") for pattern in includes}
    assert packages == {"ioc_monitor", "streams", "services"}

    copied = _copy_sources(dockerfile_instructions)
    assert "pyproject.toml" in copied
    assert "constraints.txt" in copied
    missing = sorted(packages - copied)
    assert not missing, f"Dockerfile does not COPY package directories {missing}"
    for package in packages:
        assert (ROOT / package).is_dir()

    runs = " ".join(rest for keyword, rest in dockerfile_instructions if keyword == "RUN")
    assert re.search(r"pip install[^&;]*-c constraints\.txt[^&;]*\s\.(\s|$)", runs)


def test_dockerfile_runtime(dockerfile_instructions: list[tuple[str, str]]) -> None:
    froms = [rest for keyword, rest in dockerfile_instructions if keyword == "FROM"]
    args = " ".join(rest for keyword, rest in dockerfile_instructions if keyword == "ARG")
    assert froms and ("python:3.11-slim" in froms[0] or "python:3.11-slim" in args)

    users = [rest for keyword, rest in dockerfile_instructions if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}

    entrypoints = [rest for keyword, rest in dockerfile_instructions if keyword == "ENTRYPOINT"]
    assert entrypoints and yaml.safe_load(entrypoints[-1]) == ["ioc"]
    pyproject = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    assert "ioc" in pyproject["project"]["scripts"]

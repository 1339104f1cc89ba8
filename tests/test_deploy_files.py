"""The deployment files, checked without a Docker engine: docker-compose.yml parsed with PyYAML,
the Dockerfile with a small line parser, and every command they run checked against the CLI the
tests exercise (the command exists and takes the options given)."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from distributed_support import newsmon_argv

from config import load_settings
from config.schema import SmtpSettings
from newsmon.app import app
from newsmon.cli import _load_commands as load_commands
from scheduler.distributed import redacted

ROOT = Path(__file__).resolve().parent.parent
CONFIG = "/etc/newsmon/settings.yaml"
PINNED_TAG = re.compile(r"^[a-z0-9./-]+:\d+\.\d+(\.\d+)?(-[a-z0-9.-]+)?$")


# -- parsing ---------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, continuation lines joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return out


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}; $$ is a literal $."""
    def one(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise ValueError(arg)
        return arg if op == ":-" else ""
    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, text).replace("$$", "$")


def cli_command(argv: list[str]) -> Any:
    """The (click) command ``argv`` (starting with ``newsmon``) names; fails if any option it
    passes is not one the command takes."""
    assert argv[0] == "newsmon", argv
    load_commands()
    group: Any = typer.main.get_command(app)
    command = group.commands.get(argv[1])
    assert command is not None, f"no command 'newsmon {argv[1]}'"
    options = {o for p in command.params if p.param_type_name == "option"
               for o in (*p.opts, *p.secondary_opts)}
    for arg in argv[2:]:
        if arg.startswith("-"):
            assert arg in options, f"'newsmon {argv[1]}' takes no option {arg}"
    return command


# -- Dockerfile ------------------------------------------------------------------------------


def test_dockerfile_is_slim_pinned_non_root_and_runs_the_service() -> None:
    steps = dockerfile()
    images = [args.split()[0] for word, args in steps if word == "FROM"]
    assert images and all(re.fullmatch(r"python:3\.11\.\d+-slim-\w+", i) for i in images), images
    final = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    after = steps[final:]
    users = [args for word, args in after if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), users
    user_at = max(i for i, (word, _) in enumerate(after) if word == "USER")
    cmd_at = max(i for i, (word, _) in enumerate(after) if word in ("CMD", "ENTRYPOINT"))
    assert user_at < cmd_at

    runs = [args for word, args in steps if word == "RUN"]
    installs = [m.strip() for r in runs for m in re.findall(r"pip install ([^&;]+)", r)]
    assert installs == ['".[postgres,distributed,web]"'], installs
    assert not re.search(r"apt-get|apk add|gcc|build-essential|\[.*dev.*\]", " ".join(runs))
    # The extras exist and pin every package.
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    for extra in ("postgres", "distributed", "web"):
        assert extras[extra] and all("==" in req for req in extras[extra]), extras[extra]

    for word, args in steps:
        if word == "COPY" and not args.startswith("--from"):
            for src in args.split()[:-1]:
                assert (ROOT / src).exists(), f"COPY {src}: no such file in the repository"
    cmd = exec_form(next(args for word, args in reversed(steps) if word == "CMD"))
    assert cmd == ["newsmon", "run", "--config", CONFIG]
    cli_command(cmd)
    env = " ".join(args for word, args in after if word == "ENV")
    assert f"NEWSMON_CONFIG={CONFIG}" in env and "PATH=/opt/newsmon/bin:$PATH" in env


def test_dockerignore_keeps_secrets_and_clutter_out_of_the_build() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", ".env", "tests", "data"} <= ignored
    copied = {src.split("/")[0] for word, args in dockerfile() if word == "COPY"
              and not args.startswith("--from") for src in args.split()[:-1]}
    assert not copied & ignored, copied & ignored


# -- docker-compose.yml ----------------------------------------------------------------------


def test_compose_services_images_volumes_and_health_checks() -> None:
    doc = compose()
    services = doc["services"]
    assert set(services) == {"postgres", "redis", "scheduler", "worker", "web"}
    pg, redis = services["postgres"]["image"], services["redis"]["image"]
    assert PINNED_TAG.match(pg) and pg.startswith("postgres:16."), pg
    assert PINNED_TAG.match(redis) and redis.startswith("redis:7."), redis

    declared = set(doc["volumes"])
    for name, svc in services.items():
        assert svc.get("restart") == "unless-stopped", name
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            assert source in declared, f"{name}: volume {source} is not a named volume"
    assert {"postgres-data", "redis-data", "newsmon-data"} == declared

    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert "redis-cli ping" in " ".join(services["redis"]["healthcheck"]["test"])
    status = services["scheduler"]["healthcheck"]["test"]
    assert status[0] == "CMD"
    assert status[1:] == ["newsmon", "status", "--config", CONFIG]
    cli_command(status[1:])

    for name in ("scheduler", "worker"):
        svc = services[name]
        assert svc["image"] == "newsmon:0.1.0" and svc["build"] == "."
        assert svc["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                     "redis": {"condition": "service_healthy"}}
        assert svc["init"] is True and svc["stop_grace_period"] == "60s"
    worker = services["worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale worker=N


def test_compose_web_service_needs_a_password_and_publishes_on_loopback() -> None:
    web = compose()["services"]["web"]
    argv = web["command"]
    assert argv[:2] == ["newsmon", "serve"] and argv[argv.index("--config") + 1] == CONFIG
    cli_command(argv)
    host = argv[argv.index("--host") + 1]
    port = argv[argv.index("--port") + 1]
    assert web["ports"] == [f"127.0.0.1:{port}:{port}"]
    env = web["environment"]
    assert env["NEWSMON_WEB_PASSWORD"].startswith("${NEWSMON_WEB_PASSWORD:?")
    assert env["NEWSMON_DATABASE_URL"] == compose()["services"]["scheduler"]["environment"][
        "NEWSMON_DATABASE_URL"]
    from web.security import AccessError, access_from_env, check_bind

    with pytest.raises(AccessError):  # the container's address needs the password it is given
        check_bind(host, access_from_env({}))
    check_bind(host, access_from_env({"NEWSMON_WEB_PASSWORD": "x"}))
    assert f"127.0.0.1:{port}/healthz" in " ".join(web["healthcheck"]["test"])


def test_web_systemd_unit_runs_serve_on_loopback() -> None:
    unit = (ROOT / "deploy" / "newsmon-web.service").read_text()
    start = [line.split("=", 1)[1] for line in unit.splitlines()
             if line.startswith("ExecStart=")]
    assert len(start) == 1
    argv = shlex.split(start[0])
    assert Path(argv[0]).name == "newsmon" and argv[1] == "serve"
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    cli_command(["newsmon", *argv[1:]])
    assert "RestartPreventExitStatus=2" in unit


def test_compose_runs_the_commands_the_tests_run() -> None:
    services = compose()["services"]
    for name, command in (("scheduler", "run"), ("worker", "worker")):
        argv = services[name]["command"]
        # tests/test_scheduler_service.py and tests/test_distributed_workers.py start these.
        tested = newsmon_argv(command, CONFIG)
        assert argv == ["newsmon", *tested[1:]], (argv, tested)
        assert Path(tested[0]).name == "newsmon"
        cli_command(argv)


def test_compose_secrets_come_from_the_environment(tmp_path: Path) -> None:
    services = compose()["services"]
    env = services["scheduler"]["environment"]
    assert env == services["worker"]["environment"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith(
        "${POSTGRES_PASSWORD:?")
    assert "${POSTGRES_PASSWORD" in env["NEWSMON_DATABASE_URL"]
    assert "${REDIS_PASSWORD" in env["NEWSMON_REDIS_URL"]
    assert SmtpSettings().password_env in env
    # Every password, and the password part of every URL, is a variable, never a value.
    variable = r"\$\{\w+(:[-?][^}]*)?\}"
    for name, svc in services.items():
        for key, value in svc.get("environment", {}).items():
            if "PASSWORD" in key:
                assert re.fullmatch(variable, value), (name, key, value)
            for secret in re.findall(r"://[^:/@]*:(.*)@", value):
                assert re.fullmatch(variable, secret), (name, key, value)

    with pytest.raises(ValueError, match="set POSTGRES_PASSWORD in .env"):
        interpolate(env["NEWSMON_DATABASE_URL"], {})
    secrets = {"POSTGRES_PASSWORD": "pg-secret", "REDIS_PASSWORD": "redis-secret"}
    real = {k: interpolate(v, secrets) for k, v in env.items()}
    assert real["NEWSMON_DATABASE_URL"] == "postgresql://newsmon:pg-secret@postgres:5432/newsmon"
    assert redacted(real["NEWSMON_REDIS_URL"]) == "redis://:***@redis:6379/0"
    assert interpolate(services["redis"]["command"][-1], {}).startswith(
        'exec redis-server --requirepass "$REDIS_PASSWORD"')

    # The packaged settings, as the image holds them, with this environment: PostgreSQL and
    # distributed crawling, one config change away from the single-machine default.
    settings = load_settings(ROOT / "config" / "settings.yaml", env=real)
    assert settings.database_url == real["NEWSMON_DATABASE_URL"]
    assert settings.distributed.redis_url == real["NEWSMON_REDIS_URL"]
    assert settings.enabled_sources()
    assert shlex.split(" ".join(services["worker"]["command"]))[1] == "worker"

"""docker-compose.yml, deploy/Dockerfile and the deploy scripts name only modules and files that exist."""

import importlib.util
import ipaddress
import os
import re
import shlex
import shutil
import subprocess
import urllib.parse
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from shared.procs import process_table

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
SCRIPTS = sorted((ROOT / "deploy").glob("*.sh")) + [ROOT / ".ci" / "run"]

HTTP_SERVICES = {
    "intake": ("services.intake.app", 8001),
    "scheduler": ("services.scheduler.app", 8002),
    "notifier": ("services.notifier.app", 8003),
    "aggregator": ("services.aggregator.app", 8004),
}
WORKERS = {
    "intake-relay": "services.intake.relay",
    "intake-consumer": "services.intake.consumer",
    "scheduler-relay": "services.scheduler.relay",
    "scheduler-loop": "services.scheduler.loop",
    "scheduler-consumer": "services.scheduler.consumer",
    "notifier-relay": "services.notifier.relay",
    "notifier-consumer": "services.notifier.consumer",
    "notifier-sender": "services.notifier.sender",
    "notifier-digest": "services.notifier.digest",
    "aggregator-consumer": "services.aggregator.consumer",
}
DVCQ_PROCESSES = sorted([*HTTP_SERVICES, *WORKERS])
APP_SPEC = re.compile(r"^(?P<module>[A-Za-z_][\w.]*):create_app\(\)$")
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PASS|TOKEN|KEY)$")
REFERENCE = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*(:?\?[^}]*|:-)?\}$")  # required, or empty by default
URL_PASSWORD = re.compile(r"://[^/@:\s]+:(?P<password>[^@/]+)@")


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]


def command_of(service: dict) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def environment_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: str(value) for key, value in env.items()}


def runnable_module_file(module: str) -> Path | None:
    """The file `python -m module` would run from the repository root, or None."""
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__main__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_file(module: str) -> Path | None:
    """The file that `import module` would load from the repository root, or None."""
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    lines = [line.strip() for line in joined.splitlines()]
    pairs = []
    for line in lines:
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def built_services(services: dict[str, dict]) -> dict[str, dict]:
    return {name: service for name, service in services.items() if "build" in service}


def test_the_module_lookup_fails_for_a_missing_module() -> None:
    assert runnable_module_file("services.intake.no_such_worker") is None
    assert module_file("services.no_such_service.app") is None


def test_compose_declares_the_broker_the_store_and_every_dvcq_process(services: dict[str, dict]) -> None:
    missing = {"rabbitmq", "mongo", *DVCQ_PROCESSES} - services.keys()
    assert not missing, f"docker-compose.yml lacks services {sorted(missing)}"
    assert services["rabbitmq"]["image"].startswith("rabbitmq:3.10")
    assert "healthcheck" in services["rabbitmq"]


def test_compose_and_this_test_name_every_process_the_stack_supervisor_starts(services: dict[str, dict]) -> None:
    """`dvcq stack up` (shared/procs.py) and docker-compose.yml run the same processes, each the same module."""
    table = {spec.name.removesuffix("-web"): spec for spec in process_table()}
    assert sorted(table) == DVCQ_PROCESSES, "shared/procs.py and this test's process lists differ"
    for name, spec in table.items():
        if spec.port is None:
            assert list(spec.argv[1:]) == command_of(services[name])[1:] == ["-m", WORKERS[name]], name
        else:
            assert spec.argv[-1] == command_of(services[name])[-1] == f"{HTTP_SERVICES[name][0]}:create_app()", name


def test_mongo_runs_as_a_replica_set_initiated_by_its_healthcheck(services: dict[str, dict]) -> None:
    mongo = services["mongo"]
    command = command_of(mongo)
    assert "--replSet" in command
    replica_set = command[command.index("--replSet") + 1]
    assert "rs.initiate" in " ".join(mongo["healthcheck"]["test"])
    for name in DVCQ_PROCESSES:
        assert f"replicaSet={replica_set}" in environment_of(services[name])["MONGO_URL"], name


@pytest.mark.parametrize("name", sorted(HTTP_SERVICES))
def test_each_http_service_runs_its_create_app_under_gunicorn(services: dict[str, dict], name: str) -> None:
    module, port = HTTP_SERVICES[name]
    command = command_of(services[name])
    assert command[0] == "gunicorn", command
    assert f"0.0.0.0:{port}" in command
    specs = [APP_SPEC.match(part) for part in command if APP_SPEC.match(part)]
    assert [spec["module"] for spec in specs] == [module]
    path = module_file(module)
    assert path is not None, f"{name}: {module} has no file under {ROOT}"
    assert re.search(r"^def create_app\(", path.read_text(encoding="utf-8"), re.M), f"{path} lacks create_app"
    assert environment_of(services[name]).get("PROMETHEUS_MULTIPROC_DIR"), name


@pytest.mark.parametrize("name", sorted(WORKERS))
def test_each_worker_runs_a_module_that_exists(services: dict[str, dict], name: str) -> None:
    command = command_of(services[name])
    assert command[:2] == ["python", "-m"], command
    assert command[2] == WORKERS[name]
    path = runnable_module_file(command[2])
    assert path is not None, f"{name}: python -m {command[2]} names no file under {ROOT}"
    if path.name != "__main__.py":
        assert "__main__" in path.read_text(encoding="utf-8"), f"{path} does nothing when run with -m"


@pytest.mark.parametrize("name", DVCQ_PROCESSES)
def test_each_dvcq_process_gets_its_settings_and_waits_for_healthy_dependencies(
    services: dict[str, dict], name: str
) -> None:
    service = services[name]
    env = environment_of(service)
    for key in ("MONGO_URL", "AMQP_URL", "SMTP_URL", "DVCQ_SECRET", "DVCQ_CLOCK"):
        assert env.get(key), f"{name} lacks {key}"
    for dependency in ("rabbitmq", "mongo", "ferretdb"):
        assert service["depends_on"][dependency]["condition"] == "service_healthy", name
        assert "healthcheck" in services[dependency]
    # the two stores are alternative profiles: each dvcq process waits for whichever runs
    assert service["depends_on"]["mongo"]["required"] is False, name
    assert service["depends_on"]["ferretdb"]["required"] is False, name


def test_compose_runs_ferretdb_on_postgresql_as_an_alternative_profile_to_mongodb(services: dict[str, dict]) -> None:
    assert services["mongo"]["profiles"] == ["mongodb"]
    assert services["postgres"]["profiles"] == services["ferretdb"]["profiles"] == ["ferretdb"]
    assert services["ferretdb"]["image"] == "ghcr.io/ferretdb/ferretdb:1.24.2"  # the version deploy/lib.sh builds
    ferret = environment_of(services["ferretdb"])
    assert ferret["FERRETDB_HANDLER"] == "postgresql"
    assert ferret["FERRETDB_TELEMETRY"] == "disable"
    pg_url = urllib.parse.urlsplit(ferret["FERRETDB_POSTGRESQL_URL"])
    postgres = environment_of(services["postgres"])
    assert (pg_url.hostname, pg_url.port) == ("postgres", 5432)
    assert pg_url.path == "/" + postgres["POSTGRES_DB"] and pg_url.username == postgres["POSTGRES_USER"]
    assert services["ferretdb"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["ferretdb"]["healthcheck"]["test"] == ["CMD", "/ferretdb", "ping"]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    # the store URL defaults to MongoDB's replica set; the ferretdb profile is chosen with DVCQ_STORE_URL
    store_url = re.fullmatch(
        r"\$\{DVCQ_STORE_URL:-(?P<default>[^}]+)\}", environment_of(services["intake"])["MONGO_URL"]
    )
    assert store_url and store_url["default"].startswith("mongodb://mongo:27017/")
    assert "mongodb://ferretdb:27017/" in COMPOSE_FILE.read_text(encoding="utf-8")  # the documented switch


def test_every_image_built_here_has_a_command_and_a_dockerfile_that_exists(services: dict[str, dict]) -> None:
    built = built_services(services)
    assert set(DVCQ_PROCESSES) <= built.keys()
    for name, service in built.items():
        build = service["build"]
        context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
        dockerfile = context / ("Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile"))
        assert dockerfile.is_file(), f"{name}: {dockerfile} is missing"
        assert command_of(service), f"{name} has no command (the image has none)"


def test_every_repository_file_a_command_names_exists(services: dict[str, dict]) -> None:
    named = {
        part
        for service in services.values()
        for part in command_of(service)
        if "/" in part and not part.startswith("/") and ":" not in part
    }
    assert "deploy/gunicorn.conf.py" in named and "deploy/smtp_server.py" in named
    missing = sorted(part for part in named if not (ROOT / part).exists())
    assert not missing, f"commands in docker-compose.yml name missing files: {missing}"


def dockerfile_stages(path: Path) -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions split into its stages, each starting with its FROM."""
    stages: list[list[tuple[str, str]]] = []
    for name, args in dockerfile_instructions(path):
        if name == "FROM":
            stages.append([])
        stages[-1].append((name, args))
    return stages


def copy_sources(args: str) -> list[str]:
    """The sources of a COPY instruction (options and the destination left out)."""
    return [part for part in shlex.split(args) if not part.startswith("--")][:-1]


def first_index(instructions: list[tuple[str, str]], name: str, *needles: str) -> int:
    """The position of the first NAME instruction whose arguments hold every needle (fails when there is none)."""
    for index, (instruction, args) in enumerate(instructions):
        if instruction == name and all(needle in args for needle in needles):
            return index
    raise AssertionError(f"no {name} with {needles} in {instructions}")


def healthcheck_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dvcq_healthcheck", ROOT / "deploy" / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_dockerfile_installs_the_project_as_a_non_root_user() -> None:
    instructions = dockerfile_instructions(DOCKERFILE)
    assert all(args.split()[0] == "python:3.11-slim" for name, args in instructions if name == "FROM")
    assert any(name == "RUN" and "pip install --no-deps /src" in args for name, args in instructions)
    users = [args for name, args in instructions if name == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    for name, args in instructions:
        if name in {"COPY", "ADD"} and "--from" not in args:
            for source in copy_sources(args):
                assert (ROOT / source).exists(), f"the Dockerfile copies a missing {source}"


def test_the_dockerfile_builds_its_dependency_layer_from_the_lock_before_the_tree() -> None:
    """Two stages: the first installs requirements.lock (hashes required) before any source is copied, then
    the project without dependencies; the final stage takes the venv from it."""
    build, final = dockerfile_stages(DOCKERFILE)
    _, as_, stage = build[0][1].split()
    assert as_.upper() == "AS"
    copy_lock = first_index(build, "COPY", "requirements.lock")
    install_lock = first_index(build, "RUN", "pip install --require-hashes -r", "requirements.lock")
    copy_tree = min(first_index(build, "COPY", source) for source in ("shared", "services"))
    install_project = first_index(build, "RUN", "pip install --no-deps")
    assert copy_lock < install_lock < copy_tree < install_project
    assert [copy_sources(args) for name, args in build[:install_lock] if name == "COPY"] == [["requirements.lock"]]
    first_index(final, "COPY", f"--from={stage}", "/opt/venv")
    assert not any(name == "RUN" and "pip install" in args for name, args in final), "the final stage installs"


def test_the_final_image_holds_every_file_the_compose_commands_and_the_plan_need(services: dict[str, dict]) -> None:
    final = dockerfile_stages(DOCKERFILE)[-1]
    copied = [
        source for name, args in final if name == "COPY" and "--from" not in args for source in copy_sources(args)
    ]
    named = {part for service in built_services(services).values() for part in command_of(service) if "/" in part}
    named = {part for part in named if not part.startswith("/") and ":" not in part}
    assert "deploy/gunicorn.conf.py" in named
    assert [part for part in named if not any(part.startswith(source + "/") for source in copied)] == []
    (env,) = [args for name, args in final if name == "ENV" and "DVCQ_PLAN=" in args]
    plan = re.search(r"DVCQ_PLAN=/app/(\S+)", env)
    assert plan and (ROOT / plan[1] / "plan.json").is_file() and plan[1].split("/")[0] in copied


def test_the_dockerfile_healthcheck_asks_healthz_of_the_service_the_container_runs(services: dict[str, dict]) -> None:
    (healthcheck,) = [args for name, args in dockerfile_stages(DOCKERFILE)[-1] if name == "HEALTHCHECK"]
    assert '"/app/deploy/healthcheck.py"' in healthcheck and (ROOT / "deploy" / "healthcheck.py").is_file()
    health_url = healthcheck_module().health_url
    for name, (_, port) in HTTP_SERVICES.items():
        assert health_url(command_of(services[name])) == f"http://127.0.0.1:{port}/healthz", name
    for name in WORKERS:
        assert health_url(command_of(services[name])) is None, name
    assert health_url(["/opt/venv/bin/gunicorn", "-b", "[::]:9000", "m:create_app()"]).endswith(":9000/healthz")
    assert health_url(["gunicorn", "--bind=0.0.0.0:9001"]) == "http://127.0.0.1:9001/healthz"


def secret_problems(services: dict[str, dict]) -> list[str]:
    """Secret-looking settings whose value is written out instead of taken from the environment."""
    problems = []
    for name, service in services.items():
        for key, value in environment_of(service).items():
            if SECRET_NAME.search(key) and not REFERENCE.match(value):
                problems.append(f"{name}: {key}")
            password = URL_PASSWORD.search(value)
            if password and not REFERENCE.match(password["password"]):
                problems.append(f"{name}: the password in {key}")
    return problems


def test_the_secret_check_catches_written_out_secrets() -> None:
    written_out = {"x": {"environment": {"DVCQ_SECRET": "s3cr3t", "AMQP_URL": "amqp://dvcq:pw@rabbitmq/"}}}
    defaulted = {"x": {"environment": {"DVCQ_SECRET": "${DVCQ_SECRET:-s3cr3t}"}}}
    assert len(secret_problems(written_out)) == 2
    assert len(secret_problems(defaulted)) == 1


def test_compose_keeps_no_secret_values(services: dict[str, dict]) -> None:
    assert secret_problems(services) == []
    for name in DVCQ_PROCESSES:
        assert environment_of(services[name])["DVCQ_SECRET"].startswith("${DVCQ_SECRET"), name


def test_ci_runs_the_readme_test_command() -> None:
    ci = ROOT / ".ci" / "run"
    assert "deploy/test.sh" in ci.read_text(encoding="utf-8")
    assert os.access(ci, os.X_OK)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_shell_scripts_parse(script: Path) -> None:
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", ["run.sh", "down.sh", "test.sh"])
def test_the_entry_scripts_are_executable(name: str) -> None:
    assert os.access(ROOT / "deploy" / name, os.X_OK)


# --- deploy/systemd: the unit files of a VM install ----------------------------------------------------------

SYSTEMD = ROOT / "deploy" / "systemd"
INSTALL_ROOT = "/opt/dvcq"  # where README "Install on a VM (systemd)" puts the repository and its .venv


def unit_file(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit as {section: {key: [values]}} (keys may repeat; comments and blank lines dropped)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def repository_path(path: str) -> Path:
    """A path under the install root as the file of this checkout it stands for."""
    assert path.startswith(INSTALL_ROOT + "/"), path
    return ROOT / path.removeprefix(INSTALL_ROOT + "/")


def exec_start_problems(argv: list[str]) -> list[str]:
    """What is wrong with one ExecStart: a program outside the venv, a module or file that does not exist."""
    program, args = argv[0], argv[1:]
    if program == f"{INSTALL_ROOT}/.venv/bin/python":
        if args[:1] != ["-m"] or len(args) < 2:
            return [f"python without -m module: {argv}"]
        if runnable_module_file(args[1]) is None:
            return [f"python -m {args[1]}: no such module"]
        return []
    if program == f"{INSTALL_ROOT}/.venv/bin/gunicorn":
        problems = []
        if "-c" in args and not repository_path(args[args.index("-c") + 1]).is_file():
            problems.append(f"gunicorn config {args[args.index('-c') + 1]} is missing")
        specs = [APP_SPEC.match(part) for part in args if APP_SPEC.match(part)]
        if len(specs) != 1:
            return [*problems, f"gunicorn without one module:create_app(): {argv}"]
        path = module_file(specs[0]["module"])
        if path is None or not re.search(r"^def create_app\(", path.read_text(encoding="utf-8"), re.M):
            problems.append(f"{specs[0]['module']} has no create_app")
        return problems
    if program == f"{INSTALL_ROOT}/.venv/bin/dvcq":
        from shared.cli import build_parser

        try:
            build_parser().parse_args(args)
        except SystemExit:
            return [f"dvcq {' '.join(args)}: not a dvcq command"]
        return []
    return [f"{program} is not a program of the install's venv"]


def test_the_exec_start_check_catches_missing_modules_and_commands() -> None:
    assert exec_start_problems([f"{INSTALL_ROOT}/.venv/bin/python", "-m", "services.notifier.consumer"]) == []
    assert exec_start_problems([f"{INSTALL_ROOT}/.venv/bin/python", "-m", "services.notifier.no_such"])
    assert exec_start_problems([f"{INSTALL_ROOT}/.venv/bin/gunicorn", "services.nothing.app:create_app()"])
    assert exec_start_problems([f"{INSTALL_ROOT}/.venv/bin/dvcq", "broker", "downgrade"])
    assert exec_start_problems(["/usr/bin/python3", "-m", "services.notifier.consumer"])


@pytest.mark.parametrize("path", sorted(SYSTEMD.glob("*.service")), ids=lambda p: p.name)
def test_every_systemd_unit_runs_an_entry_point_that_exists_and_restarts_on_failure(path: Path) -> None:
    unit = unit_file(path)
    service = unit["Service"]
    (exec_start,) = service["ExecStart"]
    assert exec_start_problems(shlex.split(exec_start)) == [], path.name
    assert service["Restart"] == ["on-failure"], path.name
    assert service["User"] != ["root"] and service["EnvironmentFile"] == ["/etc/dvcq/dvcq.env"], path.name
    assert service["WorkingDirectory"] == [INSTALL_ROOT], path.name
    assert unit["Install"]["WantedBy"] == ["dvcq.target"]


def test_the_systemd_target_starts_every_process_of_the_stack_each_with_its_own_module() -> None:
    units = {path.stem: unit_file(path) for path in SYSTEMD.glob("*.service")}
    wanted = unit_file(SYSTEMD / "dvcq.target")["Unit"]["Wants"][0].split()
    assert sorted(wanted) == sorted(f"{name}.service" for name in units)
    for spec in process_table():
        (exec_start,) = units[f"dvcq-{spec.name}"]["Service"]["ExecStart"]
        argv = shlex.split(exec_start)
        assert argv[-1] == spec.argv[-1], spec.name  # the same module, or the same module:create_app()
        if spec.port is not None:
            assert f"127.0.0.1:{spec.port}" in argv, spec.name
    assert set(units) == {f"dvcq-{spec.name}" for spec in process_table()} | {"dvcq-broker-upgrade"}


def test_compose_runs_two_notifier_senders_and_two_notifier_consumers(services: dict[str, dict]) -> None:
    """Issue 11: any number of senders send each attempt once, so production runs more than one of each."""
    for name in ("notifier-sender", "notifier-consumer"):
        assert services[name].get("deploy", {}).get("replicas") == 2, name


def test_compose_publishes_only_the_proxy_and_the_services_know_it_as_their_one_address(
    services: dict[str, dict],
) -> None:
    """Issue 15 point 1 in docker-compose: the proxy (`edge`) is the only published service; the dvcq processes
    use its address for links and trust its fixed address for X-Forwarded-*."""
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"edge"}, f"published besides the proxy: {sorted(published - {'edge'})}"
    edge = services["edge"]
    assert edge["image"].startswith("caddy:2")
    assert sorted(edge["ports"]) == ["8080:8080", "8443:8443"]
    assert "./deploy/compose/Caddyfile:/etc/caddy/Caddyfile:ro" in edge["volumes"]
    address = edge["networks"]["default"]["ipv4_address"]
    (pool,) = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["networks"]["default"]["ipam"]["config"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network(pool["subnet"])
    assert ipaddress.ip_address(address) not in ipaddress.ip_network(pool["ip_range"])  # never handed to another
    for name in DVCQ_PROCESSES:
        env = environment_of(services[name])
        assert env["DVCQ_TRUSTED_PROXIES"] == address, name
        assert env["DVCQ_PUBLIC_URL"] == "https://${DVCQ_EDGE_HOST:-127.0.0.1}:8443", name


def test_the_compose_proxy_configuration_is_generated_from_the_routes_and_caddy_reads_it() -> None:
    from shared.edge import COMPOSE_CADDYFILE, compose_caddyfile, routes

    text = COMPOSE_CADDYFILE.read_text(encoding="utf-8")
    assert text == compose_caddyfile(), "deploy/compose/Caddyfile is stale: run `python -m shared.edge`"
    for prefix, service in routes():
        if prefix != "/":
            assert f"path {prefix} {prefix}/*\n\thandle @route" in text and f"reverse_proxy {service}:" in text
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed (deploy/test.sh installs it)")
    adapted = subprocess.run(
        [caddy, "adapt", "--config", str(COMPOSE_CADDYFILE), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DVCQ_EDGE_HOST": "dvcq.travinh.example"},
    )
    assert adapted.returncode == 0, adapted.stderr
    assert "dvcq.travinh.example" in adapted.stdout and "reverse_proxy" in adapted.stdout

"""deploy/k8s/ runs the stack the code describes (issue 15 point 7): one Deployment per process of the table, each
command an entry point that exists, only settings the code reads, secrets by reference, probes and resources on
every container, and the Ingress routing exactly what the one origin's proxy routes. kubectl is not needed: the
manifests are read as YAML and held to the code with plain Python."""

from __future__ import annotations

import ast
import copy
import importlib
import importlib.util
import ipaddress
import re
import tomllib
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.edge import INTERNAL, route_for, routes
from shared.procs import process_table
from shared.registry import services
from shared.settings import Settings
from tests.integration.test_deploy_files import (
    APP_SPEC,
    COMPOSE_FILE,
    DOCKERFILE,
    SECRET_NAME,
    URL_PASSWORD,
    copy_sources,
    dockerfile_stages,
    healthcheck_module,
    module_file,
    runnable_module_file,
)

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
README = K8S / "README.md"
IMAGE = "dvcq"  # the name every dvcq container uses; kustomization.yaml's `images` sets the registry and tag
CONFIG = "dvcq-config"
SECRET = "dvcq-secrets"
APP_DIR = "/app"  # the image's WORKDIR, where deploy/Dockerfile copies deploy/ and plans/
FERRETDB = "ferretdb"
PUBLIC_INGRESS = "dvcq"
INTERNAL_INGRESS = "dvcq-internal"
# Settings that hold a password or a key, or a URL that may carry one: only ever from the Secret
SECRET_SETTINGS = {"DVCQ_SECRET", "MONGO_URL", "AMQP_URL", "SMTP_URL", "DVCQ_WEBHOOK_SECRET"}
ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
PROCESSES = [spec.name for spec in process_table()]


# --- reading the manifests ------------------------------------------------------------------------------------


def kustomization() -> dict[str, Any]:
    """kustomization.yaml: what `kubectl apply -k deploy/k8s` puts together."""
    return yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))


def load_manifests() -> list[dict[str, Any]]:
    """Every object of the files kustomization.yaml lists, in order."""
    docs = []
    for name in kustomization()["resources"]:
        docs += [doc for doc in yaml.safe_load_all((K8S / name).read_text(encoding="utf-8")) if doc]
    return docs


def config_env() -> dict[str, str]:
    """The ConfigMap dvcq-config as kustomize's configMapGenerator makes it from its env files."""
    (generator,) = [g for g in kustomization().get("configMapGenerator", []) if g["name"] == CONFIG]
    data: dict[str, str] = {}
    for name in generator.get("envs", []):
        for line in (K8S / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                data[key.strip()] = value
    for literal in generator.get("literals", []):
        key, _, value = literal.partition("=")
        data[key] = value
    return data


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return load_manifests()


@pytest.fixture(scope="module")
def config() -> dict[str, str]:
    return config_env()


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def pod(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    return deployment["spec"]["template"]["metadata"]["labels"]


def all_containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod(deployment).get("initContainers", []), *pod(deployment)["containers"]]


def main_container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = pod(deployment)["containers"]
    return container


def env_names(container: dict[str, Any], config: dict[str, str]) -> set[str]:
    """The variables a container gets: its own `env` and the ConfigMap it reads whole."""
    names = {entry["name"] for entry in container.get("env", [])}
    for source in container.get("envFrom", []):
        if source.get("configMapRef", {}).get("name") == CONFIG:
            names |= config.keys()
    return names


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether a matchLabels selector (never an empty one, which selects everything) picks pods of `labels`."""
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def replica_count(name: str, docs: list[dict[str, Any]]) -> int:
    """The replicas a Deployment runs at least: its own count, or its autoscaler's minimum."""
    autoscalers = [hpa for hpa in of_kind(docs, "HorizontalPodAutoscaler").values() if target_of(hpa) == name]
    if autoscalers:
        return min(hpa["spec"].get("minReplicas", 1) for hpa in autoscalers)
    return of_kind(docs, "Deployment")[name]["spec"].get("replicas", 1)


def target_of(hpa: dict[str, Any]) -> str:
    ref = hpa["spec"]["scaleTargetRef"]
    assert ref["kind"] == "Deployment" and ref["apiVersion"] == "apps/v1", ref
    return ref["name"]


# --- entry points ---------------------------------------------------------------------------------------------


def repository_path(path: str) -> Path:
    """A file a container names (relative to the image's WORKDIR, or under it) as the file of this checkout."""
    if path.startswith("/"):
        assert path.startswith(APP_DIR + "/"), f"{path} is not under the image's {APP_DIR}"
        path = path.removeprefix(APP_DIR + "/")
    return ROOT / path


def console_scripts() -> dict[str, str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]


def command_problems(argv: list[str]) -> list[str]:
    """What is wrong with one container command or exec probe: a module, app, file or command that does not exist."""
    program, args = argv[0], argv[1:]
    if program == "python" and args[:2] == ["-m", "gunicorn"]:
        problems = [] if importlib.util.find_spec("gunicorn.__main__") else ["python -m gunicorn: not installed"]
        if "-c" in args and not repository_path(args[args.index("-c") + 1]).is_file():
            problems.append(f"gunicorn config {args[args.index('-c') + 1]} is missing")
        if "--bind" not in args or not re.fullmatch(r"[\d.]+:\d+", args[args.index("--bind") + 1]):
            problems.append(f"gunicorn without --bind host:port: {argv}")
        specs = [APP_SPEC.match(part) for part in args if APP_SPEC.match(part)]
        if len(specs) != 1:
            return [*problems, f"gunicorn without one module:create_app(): {argv}"]
        path = module_file(specs[0]["module"])
        if path is None or not re.search(r"^def create_app\(", path.read_text(encoding="utf-8"), re.M):
            problems.append(f"{specs[0]['module']} has no create_app")
        return problems
    if program == "python" and args[:1] == ["-m"]:
        module = args[1] if len(args) > 1 else ""
        path = runnable_module_file(module) if module else None
        if path is None or importlib.util.find_spec(module) is None:
            return [f"python -m {module}: no such module"]
        if path.name != "__main__.py" and "__main__" not in path.read_text(encoding="utf-8"):
            return [f"python -m {module} does nothing when run"]
        return []
    if program == "python" and args and args[0].endswith(".py"):
        return [] if repository_path(args[0]).is_file() else [f"python {args[0]}: no such file"]
    if program in console_scripts():
        module, _, function = console_scripts()[program].partition(":")
        if not callable(getattr(importlib.import_module(module), function, None)):
            return [f"{program}: {console_scripts()[program]} is not callable"]
        if module == "shared.cli":
            from shared.cli import build_parser

            try:
                build_parser().parse_args(args)
            except SystemExit:
                return [f"{program} {' '.join(args)}: not a {program} command"]
        return []
    return [f"{program} is neither python nor a console script of pyproject.toml"]


def test_the_command_check_catches_missing_entry_points() -> None:
    assert command_problems(["python", "-m", "services.notifier.sender"]) == []
    assert command_problems(["python", "-m", "services.notifier.no_such"])
    assert command_problems(["python", "-m", "services.notifier.domain"])  # exists, but runs nothing
    assert command_problems(["python", "-m", "gunicorn", "--bind", "0.0.0.0:1", "services.nothing.app:create_app()"])
    assert command_problems(["python", "-m", "gunicorn", "-c", "deploy/none.py", "--bind", "0.0.0.0:1", "x"])
    assert command_problems(["dvcq", "broker", "downgrade"])
    assert command_problems(["python", "/app/deploy/no_such_check.py"])
    assert command_problems(["gunicorn", "services.intake.app:create_app()"])  # not on the image's path as such


# --- the settings the code reads ------------------------------------------------------------------------------


class RecordingEnv(dict[str, str]):
    """An environment that notes every name looked up in it."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return super().__contains__(key)


def _environment(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id in ("env", "environ")) or (
        isinstance(node, ast.Attribute) and node.attr == "environ"
    )


def env_names_in_source(paths: list[Path]) -> set[str]:
    """The literal names the code looks up in an environment (`env.get("X")`, `os.environ["X"]`, `getenv`)."""
    names = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            key: ast.expr | None = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
                if node.func.attr in ("get", "pop", "setdefault") and _environment(node.func.value):
                    key = node.args[0]
                elif node.func.attr == "getenv":
                    key = node.args[0]
            elif isinstance(node, ast.Subscript) and _environment(node.value):
                key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str) and ENV_NAME.fullmatch(key.value):
                names.add(key.value)
    return names


def settings_read(extra: dict[str, str] | None = None) -> set[str]:
    """Every name `Settings.from_env` looks up, those it builds from the service names included (`INTAKE_URL`,
    `DVCQ_PUBLIC_INTAKE_URL`, ...), once with its defaults and once with `extra`."""
    asked: set[str] = set()
    for values in ({}, extra or {}):
        env = RecordingEnv({"DVCQ_SECRET": "k" * 32, **values})
        Settings.from_env(env)
        asked |= env.asked
    return asked


@pytest.fixture(scope="module")
def read_by_code(config: dict[str, str]) -> set[str]:
    sources = sorted((ROOT / "shared").rglob("*.py")) + sorted((ROOT / "services").rglob("*.py"))
    return settings_read(config) | env_names_in_source([*sources, ROOT / "deploy" / "gunicorn.conf.py"])


def unread_settings(container: dict[str, Any], config: dict[str, str], read: set[str]) -> list[str]:
    """Variables a container gets that the code never reads, and environment sources this test cannot read."""
    problems = [
        f"envFrom {source}" for source in container.get("envFrom", []) if source != {"configMapRef": {"name": CONFIG}}
    ]
    return problems + sorted(env_names(container, config) - read)


def test_the_settings_the_code_reads_are_found(read_by_code: set[str]) -> None:
    """Names built from the service names (`INTAKE_URL`) or kept in tables are found as well as literal ones."""
    built_from_names = {"INTAKE_URL", "AGGREGATOR_URL", "DVCQ_PUBLIC_NOTIFIER_URL", "DVCQ_LOGIN_LIMIT_PER_ACCOUNT"}
    read_directly = {"MONGO_URL", "DVCQ_SECRET_FILE", "WEB_CONCURRENCY", "PROMETHEUS_MULTIPROC_DIR", "DVCQ_FAILPOINT"}
    assert built_from_names | read_directly <= read_by_code
    assert "DVCQ_NO_SUCH_SETTING" not in read_by_code


def test_the_settings_check_catches_a_variable_nobody_reads(read_by_code: set[str]) -> None:
    container = {"env": [{"name": "DVCQ_SECRETS", "value": "x"}], "envFrom": [{"configMapRef": {"name": CONFIG}}]}
    assert unread_settings(container, {"LOG_LEVEL": "INFO", "DVCQ_PLANS": "x"}, read_by_code) == [
        "DVCQ_PLANS",
        "DVCQ_SECRETS",
    ]
    assert unread_settings({"envFrom": [{"secretRef": {"name": SECRET}}]}, {}, read_by_code)


def test_every_variable_a_dvcq_container_gets_is_one_the_code_reads(
    docs: list[dict[str, Any]], config: dict[str, str], read_by_code: set[str]
) -> None:
    for name, deployment in of_kind(docs, "Deployment").items():
        for container in all_containers(deployment):
            if container["image"] == IMAGE:
                assert unread_settings(container, config, read_by_code) == [], f"{name}/{container['name']}"


def test_the_configuration_and_the_secrets_make_settings_that_load(
    docs: list[dict[str, Any]], config: dict[str, str]
) -> None:
    """The ConfigMap passes Settings.from_env's checks, points each service at its Service and every link at the
    Ingress's address, and names plan directories the image holds."""
    secrets = {
        "DVCQ_SECRET": "s" * 32,
        "MONGO_URL": "mongodb://ferretdb:27017/",
        "AMQP_URL": "amqp://dvcq:pw@dvcq-rabbitmq:5672/%2F",
        "SMTP_URL": "smtp://mail.example:587",
    }
    web_env = {
        e["name"]: e["value"] for e in main_container(of_kind(docs, "Deployment")["intake-web"])["env"] if "value" in e
    }
    settings = Settings.from_env({**config, **web_env, **secrets})
    services_by_name = of_kind(docs, "Service")
    for svc in services():
        url = urllib.parse.urlsplit(settings.service_urls[svc.name])
        assert url.scheme == "http" and url.hostname == svc.name and url.port == svc.port, svc.name
        assert services_by_name[svc.name]["spec"]["ports"][0]["port"] == svc.port
    public = urllib.parse.urlsplit(config["DVCQ_PUBLIC_URL"])
    assert public.scheme == "https" and set(settings.public_urls.values()) == {config["DVCQ_PUBLIC_URL"]}
    (rule,) = of_kind(docs, "Ingress")[PUBLIC_INGRESS]["spec"]["rules"]
    assert rule["host"] == public.hostname
    # behind the Ingress every client's TCP peer is the controller: without trusted proxies, the login limit per
    # address would count the whole province as one address
    assert settings.trusted_proxies
    assert settings.clock_mode == "system"
    for plan in config["DVCQ_PLAN"].split(","):
        assert (repository_path(plan.strip()) / "plan.json").is_file(), plan


# --- processes ------------------------------------------------------------------------------------------------


def test_the_kustomization_lists_every_manifest_and_names_the_image() -> None:
    """A manifest left out of kustomization.yaml would be neither applied nor checked here."""
    listed = set(kustomization()["resources"])
    assert listed == {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert [image["name"] for image in kustomization()["images"]] == [IMAGE]


def test_each_process_of_the_table_has_one_deployment_running_its_entry_point(docs: list[dict[str, Any]]) -> None:
    deployments = of_kind(docs, "Deployment")
    assert set(deployments) == {*PROCESSES, FERRETDB}
    for spec in process_table():
        container = main_container(deployments[spec.name])
        command = container["command"]
        assert container["image"] == IMAGE, spec.name
        assert command[0] == "python" and command[-1] == spec.argv[-1], spec.name
        if spec.port is None:
            assert command[1:] == list(spec.argv[1:]), spec.name  # python -m <the same module>
        else:
            assert command[1:3] == list(spec.argv[1:3]) == ["-m", "gunicorn"], spec.name
            assert command[command.index("--bind") + 1] == f"0.0.0.0:{spec.port}", spec.name
            assert [port["containerPort"] for port in container["ports"]] == [spec.port], spec.name


def test_every_command_and_exec_probe_names_an_entry_point_that_exists(docs: list[dict[str, Any]]) -> None:
    for name, deployment in of_kind(docs, "Deployment").items():
        for container in all_containers(deployment):
            if container["image"] != IMAGE:
                continue
            assert container.get("command") and not container.get("args"), f"{name}: the image has no command"
            assert command_problems(container["command"]) == [], f"{name}/{container['name']}"
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                if "exec" in container.get(probe, {}):
                    assert command_problems(container[probe]["exec"]["command"]) == [], f"{name} {probe}"


def test_the_image_holds_every_file_the_commands_name(docs: list[dict[str, Any]]) -> None:
    """Relative paths are read from the image's WORKDIR, /app, where the final stage copies them."""
    final = dockerfile_stages(DOCKERFILE)[-1]
    assert [args for instruction, args in final if instruction == "WORKDIR"] == [APP_DIR]
    copied = {
        source for name, args in final if name == "COPY" and "--from" not in args for source in copy_sources(args)
    }
    named = {
        part.removeprefix(APP_DIR + "/")
        for deployment in of_kind(docs, "Deployment").values()
        for container in all_containers(deployment)
        if container["image"] == IMAGE
        for command in [container["command"], container.get("livenessProbe", {}).get("exec", {}).get("command", [])]
        for part in command
        if part.endswith(".py")
    }
    assert named and all(path.split("/")[0] in copied for path in named), (named, copied)


def test_restarts_are_left_to_kubernetes(docs: list[dict[str, Any]], config: dict[str, str]) -> None:
    """No supervisor inside a pod: each container is the process itself and the kubelet restarts it."""
    for name, deployment in of_kind(docs, "Deployment").items():
        assert pod(deployment).get("restartPolicy", "Always") == "Always", name
        for container in all_containers(deployment):
            assert "stack" not in container.get("command", []), name
            assert "DVCQ_RUN_DIR" not in env_names(container, config), name  # the supervisor's state file


# --- probes and resources -------------------------------------------------------------------------------------


QUANTITY_SUFFIXES = (("Ki", 2**10), ("Mi", 2**20), ("Gi", 2**30), ("m", 1e-3), ("k", 1e3), ("M", 1e6), ("G", 1e9))


def quantity(value: str | int | float) -> float:
    """A Kubernetes resource quantity as a number (cores, bytes), to compare a request with its limit."""
    text = str(value)
    for suffix, factor in QUANTITY_SUFFIXES:
        if text.endswith(suffix):
            return float(text.removesuffix(suffix)) * factor
    return float(text)


def resource_problems(container: dict[str, Any]) -> list[str]:
    """A container without a CPU or memory request and limit, or asking for more than its limit."""
    resources = container.get("resources", {})
    problems = []
    for kind in ("cpu", "memory"):
        request, limit = resources.get("requests", {}).get(kind), resources.get("limits", {}).get(kind)
        if request is None or limit is None:
            problems.append(f"{container['name']}: no {kind} request and limit")
        elif quantity(request) > quantity(limit):
            problems.append(f"{container['name']}: {kind} request above its limit")
    return problems


def probe_problems(deployment: dict[str, Any], port: int | None) -> list[str]:
    """Web containers: readiness /readyz and liveness /healthz on the service's port; workers: the image's
    healthcheck as an exec liveness probe; other images: a readiness and a liveness probe."""
    container = main_container(deployment)
    name = container["name"]
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    problems = []
    if container["image"] == IMAGE and port is not None:
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            get = container.get(probe, {}).get("httpGet", {})
            if get.get("path") != path or ports.get(get.get("port"), get.get("port")) != port:
                problems.append(f"{name}: {probe} is not GET {path} on {port}")
    elif container["image"] == IMAGE:
        if container.get("livenessProbe", {}).get("exec", {}).get("command") != [
            "python",
            "/app/deploy/healthcheck.py",
        ]:
            problems.append(f"{name}: no exec liveness probe with the image's healthcheck")
    else:
        problems += [f"{name}: no {probe}" for probe in ("readinessProbe", "livenessProbe") if probe not in container]
    return problems


def test_the_probe_and_resource_checks_catch_what_is_missing(docs: list[dict[str, Any]]) -> None:
    web = copy.deepcopy(of_kind(docs, "Deployment")["notifier-web"])
    del main_container(web)["readinessProbe"]
    main_container(web)["livenessProbe"]["httpGet"]["path"] = "/readyz"
    assert len(probe_problems(web, 8003)) == 2
    assert probe_problems(of_kind(docs, "Deployment")["notifier-web"], 8004)  # the wrong port
    worker = copy.deepcopy(of_kind(docs, "Deployment")["notifier-digest"])
    del main_container(worker)["livenessProbe"]
    assert probe_problems(worker, None)
    assert resource_problems({"name": "x", "resources": {"requests": {"cpu": "2", "memory": "1Gi"}}})
    assert resource_problems({"name": "x", "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "500m"}}})


@pytest.mark.parametrize("name", [*PROCESSES, FERRETDB])
def test_every_deployment_has_probes_and_resources(docs: list[dict[str, Any]], name: str) -> None:
    deployment = of_kind(docs, "Deployment")[name]
    port = next((spec.port for spec in process_table() if spec.name == name), None)
    assert probe_problems(deployment, port) == []
    for container in all_containers(deployment):
        assert resource_problems(container) == [], name
    assert selects(deployment["spec"]["selector"]["matchLabels"], pod_labels(deployment)), name


def test_the_healthcheck_script_tells_web_commands_from_workers(docs: list[dict[str, Any]]) -> None:
    """The workers' exec probe is the image's HEALTHCHECK: it asks /healthz of a gunicorn command and reports any
    other process healthy while it runs, so it must read the manifests' web commands as gunicorn ones."""
    health_url = healthcheck_module().health_url
    for spec in process_table():
        command = main_container(of_kind(docs, "Deployment")[spec.name])["command"]
        expected = None if spec.port is None else f"http://127.0.0.1:{spec.port}/healthz"
        assert health_url(command) == expected, spec.name


# --- secrets --------------------------------------------------------------------------------------------------


def secret_problems(container: dict[str, Any], config: dict[str, str]) -> list[str]:
    """Secret-looking variables not taken from the Secret, and passwords written into a value."""
    problems = []
    for entry in container.get("env", []):
        name = entry["name"]
        if name in SECRET_SETTINGS or SECRET_NAME.search(name):
            ref = entry.get("valueFrom", {}).get("secretKeyRef", {})
            if "value" in entry or not ref.get("name") or not ref.get("key"):
                problems.append(f"{name} is not a secretKeyRef")
        if URL_PASSWORD.search(str(entry.get("value", ""))):
            problems.append(f"the password in {name}")
    for key, value in config.items():
        if key in SECRET_SETTINGS or SECRET_NAME.search(key) or URL_PASSWORD.search(value):
            problems.append(f"{CONFIG} holds {key}")
    return problems


def test_the_secret_check_catches_written_out_secrets() -> None:
    container = {"env": [{"name": "DVCQ_SECRET", "value": "s3cr3t"}, {"name": "LOG_LEVEL", "value": "amqp://u:pw@h/"}]}
    assert len(secret_problems(container, {})) == 2
    assert secret_problems({}, {"AMQP_URL": "amqp://guest@rabbit/"}) and secret_problems({}, {"X": "smtp://a:b@c"})
    assert secret_problems({"env": [{"name": "SMTP_URL", "valueFrom": {"configMapKeyRef": {"name": CONFIG}}}]}, {})


def test_secrets_come_only_from_secret_references(docs: list[dict[str, Any]], config: dict[str, str]) -> None:
    assert not [doc for doc in docs if doc["kind"] == "Secret"], "deploy/k8s/ keeps no secret values"
    for name, deployment in of_kind(docs, "Deployment").items():
        for container in all_containers(deployment):
            assert secret_problems(container, config) == [], f"{name}/{container['name']}"
            if container["image"] == IMAGE:
                got = {e["name"] for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})}
                assert {"DVCQ_SECRET", "MONGO_URL", "AMQP_URL", "SMTP_URL"} <= got, name
                assert {"configMapRef": {"name": CONFIG}} in container["envFrom"], name


def test_the_readme_names_every_secret_key_and_the_parts_it_scales(docs: list[dict[str, Any]]) -> None:
    text = README.read_text(encoding="utf-8")
    keys = {
        ref["key"]
        for deployment in of_kind(docs, "Deployment").values()
        for container in all_containers(deployment)
        for entry in container.get("env", [])
        if (ref := entry.get("valueFrom", {}).get("secretKeyRef")) and ref["name"] == SECRET
    }
    assert keys and all(f"`{key}`" in text for key in keys), keys
    assert "## Scaling each part" in text
    for name in of_kind(docs, "Deployment"):
        assert f"`{name}`" in text, f"README does not say how {name} scales"


# --- services and the Ingress ---------------------------------------------------------------------------------


def service_port(docs: list[dict[str, Any]], name: str, port: dict[str, Any]) -> int | None:
    """The number an Ingress backend's port (by name or number) is on the Service `name`; None when it has none."""
    service = of_kind(docs, "Service").get(name)
    if service is None:
        return None
    for candidate in service["spec"]["ports"]:
        if candidate.get("name") == port.get("name") or candidate["port"] == port.get("number"):
            return candidate["port"]
    return None


def test_each_web_deployment_has_a_service_on_its_port(docs: list[dict[str, Any]]) -> None:
    deployments = of_kind(docs, "Deployment")
    for svc in services():
        service = of_kind(docs, "Service")[svc.name]
        chosen = [name for name, d in deployments.items() if selects(service["spec"]["selector"], pod_labels(d))]
        assert chosen == [f"{svc.name}-web"], svc.name
        (port,) = service["spec"]["ports"]
        target = {p.get("name"): p["containerPort"] for p in main_container(deployments[f"{svc.name}-web"])["ports"]}
        assert port["port"] == svc.port and target.get(port["targetPort"], port["targetPort"]) == svc.port


def prefix_matches(prefix: str, path: str) -> bool:
    """An Ingress Prefix path: it matches by whole path elements ("/board" matches /board/x, not /boardroom)."""
    wanted = [part for part in prefix.split("/") if part]
    return [part for part in path.split("/") if part][: len(wanted)] == wanted


def ingress_route(ingresses: list[dict[str, Any]], host: str, path: str) -> tuple[str, str] | None:
    """(Ingress, Service) a request for `path` reaches: the longest matching Prefix of all the host's rules."""
    candidates = [
        (len(item["path"].rstrip("/")), ingress["metadata"]["name"], item["backend"]["service"]["name"])
        for ingress in ingresses
        for rule in ingress["spec"]["rules"]
        if rule["host"] == host
        for item in rule["http"]["paths"]
        if prefix_matches(item["path"], path)
    ]
    return max(candidates)[1:] if candidates else None


def route_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Where the Ingresses differ from the one origin's proxy (shared.edge)."""
    ingresses = of_kind(docs, "Ingress")
    (rule,) = ingresses[PUBLIC_INGRESS]["spec"]["rules"]
    ports = {svc.name: svc.port for svc in services()}
    problems = []
    declared = set()
    for item in rule["http"]["paths"]:
        backend = item["backend"]["service"]
        declared.add((item["path"], backend["name"]))
        if item["pathType"] != "Prefix":
            problems.append(f"{item['path']} is {item['pathType']}, not Prefix")
        if service_port(docs, backend["name"], backend["port"]) != ports.get(backend["name"]):
            problems.append(f"{item['path']}: no Service {backend['name']} on its port")
        if any(prefix_matches(internal, item["path"]) for internal in INTERNAL):
            problems.append(f"{item['path']} is internal (shared.edge.INTERNAL)")
    if declared != set(routes()):
        problems.append(f"routes differ from shared.edge.routes(): {sorted(declared ^ set(routes()))}")
    samples = {"/", "/no-such-page", "/boardroom", "/api/v1", "/api/v1/eventsx"}
    samples |= {p for prefix, _ in routes() for p in (prefix, prefix.rstrip("/") + "/x/y")}
    samples |= {p for internal in INTERNAL for p in (internal, internal + "/x")}
    for path in sorted(samples):
        reached = ingress_route(list(ingresses.values()), rule["host"], path)
        internal = any(prefix_matches(prefix, path) for prefix in INTERNAL)
        expected = (INTERNAL_INGRESS if internal else PUBLIC_INGRESS, "intake" if internal else route_for(path))
        if reached is None or reached[0] != expected[0] or (not internal and reached[1] != expected[1]):
            problems.append(f"{path} reaches {reached}, the proxy sends it to {expected}")
    return problems


def test_the_ingress_routes_exactly_what_the_proxy_routes(docs: list[dict[str, Any]]) -> None:
    assert route_problems(docs) == []


def test_the_route_check_catches_a_wrong_ingress(docs: list[dict[str, Any]]) -> None:
    def broken(change: Any) -> list[dict[str, Any]]:
        changed = copy.deepcopy(docs)
        (rule,) = of_kind(changed, "Ingress")[PUBLIC_INGRESS]["spec"]["rules"]
        change(rule["http"]["paths"])
        return changed

    assert route_problems(broken(lambda paths: paths.pop(0)))
    assert route_problems(broken(lambda paths: paths[0]["backend"]["service"].update(name="intake")))
    assert route_problems(broken(lambda paths: paths.append({**paths[-1], "path": "/metrics"})))
    assert route_problems(broken(lambda paths: paths[0].update(pathType="Exact")))
    no_deny = [d for d in docs if (d["kind"], d["metadata"]["name"]) != ("Ingress", INTERNAL_INGRESS)]
    assert route_problems(no_deny)  # /metrics would reach intake through "/"


def nginx_size(value: str) -> int:
    """An nginx size (`12m`) in bytes."""
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", value)
    assert match, value
    return int(match[1]) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[match[2].lower()]


def test_the_ingress_answers_on_https_and_refuses_internal_paths_to_everyone(
    docs: list[dict[str, Any]], config: dict[str, str]
) -> None:
    host = urllib.parse.urlsplit(config["DVCQ_PUBLIC_URL"]).hostname
    ingresses = of_kind(docs, "Ingress")
    assert set(ingresses) == {PUBLIC_INGRESS, INTERNAL_INGRESS}
    for ingress in ingresses.values():
        assert [rule["host"] for rule in ingress["spec"]["rules"]] == [host]
        assert any(host in tls["hosts"] and tls.get("secretName") for tls in ingress["spec"]["tls"])
        assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
    (rule,) = ingresses[INTERNAL_INGRESS]["spec"]["rules"]
    assert {item["path"] for item in rule["http"]["paths"]} == set(INTERNAL)
    denied = ingresses[INTERNAL_INGRESS]["metadata"]["annotations"]["nginx.ingress.kubernetes.io/denylist-source-range"]
    networks = {ipaddress.ip_network(part.strip()) for part in denied.split(",")}
    assert {ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")} <= networks
    # a report's signed PDF must reach intake, which refuses what is too large itself
    settings = Settings.from_env({**config, "DVCQ_SECRET": "s" * 32})
    body = ingresses[PUBLIC_INGRESS]["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert nginx_size(body) > max(settings.max_pdf_bytes, settings.max_body_bytes)


# --- replicas, autoscalers and disruption budgets -------------------------------------------------------------


def competing_consumers() -> set[str]:
    """The consumers whose queue lets several replicas share the work (no single active consumer)."""
    return {
        f"{svc.name}-consumer"
        for svc in services()
        if svc.consumer is not None and not importlib.import_module(svc.consumer).QUEUE.single_active
    }


def test_autoscalers_scale_the_web_services_and_the_competing_consumers_only(docs: list[dict[str, Any]]) -> None:
    autoscalers = of_kind(docs, "HorizontalPodAutoscaler")
    deployments = of_kind(docs, "Deployment")
    expected = {f"{svc.name}-web" for svc in services()} | competing_consumers()
    assert competing_consumers() and {target_of(hpa) for hpa in autoscalers.values()} == expected
    for name, hpa in autoscalers.items():
        target = deployments[target_of(hpa)]
        assert hpa["apiVersion"] == "autoscaling/v2", name
        assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"], name
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"], name
        assert "replicas" not in target["spec"], f"{name}: an apply would undo the autoscaler's count"
        assert all(c["resources"]["requests"].get("cpu") for c in pod(target)["containers"]), name


def test_one_writer_processes_run_one_replica_and_never_two_at_once(docs: list[dict[str, Any]]) -> None:
    """A relay is the one writer of its service's event log (shared/outbox.py); FerretDB v1 keeps the collections'
    metadata in its process. Recreate stops the old pod before the new one starts."""
    deployments = of_kind(docs, "Deployment")
    single = [f"{svc.name}-{suffix}" for svc in services() for suffix, _ in svc.workers if suffix == "relay"]
    for name in [*single, FERRETDB]:
        spec = deployments[name]["spec"]
        assert spec.get("replicas") == 1 and spec["strategy"]["type"] == "Recreate", name


def test_single_active_consumers_keep_a_standby_and_no_autoscaler(docs: list[dict[str, Any]]) -> None:
    """The broker gives a single-active-consumer queue to one consumer at a time: the second replica waits."""
    consumers = {f"{svc.name}-consumer" for svc in services() if svc.consumer is not None}
    for name in consumers - competing_consumers():
        assert of_kind(docs, "Deployment")[name]["spec"].get("replicas") == 2, name


def test_processes_run_at_least_the_replicas_docker_compose_runs(docs: list[dict[str, Any]]) -> None:
    """Issue 11: production runs more than one notifier sender and consumer, as docker-compose.yml does."""
    compose = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]
    scaled = {name: s["deploy"]["replicas"] for name, s in compose.items() if "replicas" in s.get("deploy", {})}
    assert scaled
    for name, replicas in scaled.items():
        assert replica_count(name, docs) >= replicas, name


def test_workers_on_the_queues_upgrade_the_broker_first_and_leave_before_the_new_version(
    docs: list[dict[str, Any]],
) -> None:
    """dvcq-broker-upgrade.service as an init container of every relay and consumer; it refuses while an older
    queue has a consumer, so consumers are replaced with Recreate (a rolling update would wait on itself)."""
    deployments = of_kind(docs, "Deployment")
    for svc in services():
        for suffix, module in svc.workers:
            if suffix != "relay" and module != svc.consumer:
                continue
            name = f"{svc.name}-{suffix}"
            inits = [c["command"] for c in pod(deployments[name]).get("initContainers", [])]
            assert ["dvcq", "broker", "upgrade"] in inits, name
            assert deployments[name]["spec"]["strategy"]["type"] == "Recreate", name


def disruption_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Budgets that select no workload or several, or that would block every eviction; workloads of several
    replicas without one."""
    deployments = of_kind(docs, "Deployment")
    brokers = of_kind(docs, "RabbitmqCluster")
    problems, covered = [], set()
    for name, pdb in of_kind(docs, "PodDisruptionBudget").items():
        selector = pdb["spec"]["selector"]["matchLabels"]
        chosen = [(d, replica_count(d, docs)) for d, dep in deployments.items() if selects(selector, pod_labels(dep))]
        # the operator labels a RabbitmqCluster's pods with its name
        chosen += [
            (b, broker["spec"]["replicas"])
            for b, broker in brokers.items()
            if selects(selector, {"app.kubernetes.io/name": b})
        ]
        if len(chosen) != 1:
            problems.append(f"{name} selects {chosen}")
            continue
        (workload, replicas), spec = chosen[0], pdb["spec"]
        covered.add(workload)
        if "minAvailable" in spec and not 0 < spec["minAvailable"] < replicas:
            problems.append(f"{name}: minAvailable {spec['minAvailable']} of {replicas} replicas")
        if "maxUnavailable" in spec and not 0 < spec["maxUnavailable"] <= replicas // 2:
            problems.append(f"{name}: maxUnavailable {spec['maxUnavailable']} of {replicas} replicas")
    problems += [f"{d} has no budget" for d in deployments if replica_count(d, docs) > 1 and d not in covered]
    return problems


def test_disruption_budgets_each_cover_a_workload_that_can_lose_a_pod(docs: list[dict[str, Any]]) -> None:
    assert disruption_problems(docs) == []
    assert "dvcq-rabbitmq" in {
        name for name, pdb in of_kind(docs, "PodDisruptionBudget").items() if pdb["spec"].get("maxUnavailable") == 1
    }


def test_the_budget_check_catches_a_wrong_budget(docs: list[dict[str, Any]]) -> None:
    def with_budget(name: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
        changed = [d for d in docs if not (d["kind"] == "PodDisruptionBudget" and d["metadata"]["name"] == name)]
        return [*changed, {"kind": "PodDisruptionBudget", "metadata": {"name": name}, "spec": spec}]

    nothing = {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/component": "no-such"}}}
    assert disruption_problems(with_budget("x", nothing))
    blocking = {"minAvailable": 2, "selector": {"matchLabels": {"app.kubernetes.io/component": "notifier-sender"}}}
    assert disruption_problems(with_budget("notifier-sender", blocking))
    assert disruption_problems(
        [d for d in docs if (d["kind"], d["metadata"]["name"]) != ("PodDisruptionBudget", "intake-web")]
    )


# --- the stateful parts ---------------------------------------------------------------------------------------


def test_the_stateful_parts_are_their_operators_resources(docs: list[dict[str, Any]]) -> None:
    compose = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]
    (broker,) = of_kind(docs, "RabbitmqCluster").values()
    assert broker["apiVersion"] == "rabbitmq.com/v1beta1" and broker["spec"]["replicas"] == 3
    (postgres,) = of_kind(docs, "Cluster").values()
    assert postgres["apiVersion"] == "postgresql.cnpg.io/v1" and postgres["spec"]["instances"] >= 2
    major = compose["postgres"]["image"].split(":")[1]
    assert postgres["spec"]["imageName"].rsplit(":", 1)[1].split(".")[0] == major
    ferret = main_container(of_kind(docs, "Deployment")[FERRETDB])
    assert ferret["image"] == compose["ferretdb"]["image"]  # the version deploy/lib.sh builds
    flags = dict(arg.removeprefix("--").split("=", 1) for arg in ferret["args"])
    compose_env = compose["ferretdb"]["environment"]
    assert flags["handler"] == compose_env["FERRETDB_HANDLER"] == "postgresql"
    assert flags["telemetry"] == compose_env["FERRETDB_TELEMETRY"]
    (url,) = [e for e in ferret["env"] if e["name"] == "FERRETDB_POSTGRESQL_URL"]
    # CloudNativePG's Secret for the database it bootstraps: <cluster>-app, its connection string under `uri`
    assert url["valueFrom"]["secretKeyRef"] == {"name": f"{postgres['metadata']['name']}-app", "key": "uri"}
    listen = flags["listen-addr"].rsplit(":", 1)[1]
    assert service_port(docs, FERRETDB, {"name": "mongodb"}) == int(listen) == 27017

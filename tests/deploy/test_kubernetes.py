"""deploy/k8s: rendered, validated against the Kubernetes schemas offline, and checked.

Validation uses kubernetes-validate (the schemas ship in its wheel) in strict mode, so an
unknown or misspelt field fails, against the oldest supported Kubernetes (1.28: the first
with the ``apps.kubernetes.io/pod-index`` label the Discord shards read) and the newest
the package knows.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.deploy.dockerfile import parse_dockerfile, stages
from tests.deploy.manifests import (
    DEPLOY,
    EXAMPLES,
    K8S,
    KUSTOMIZATIONS,
    containers,
    kustomize_command,
    load_documents,
    render,
    render_plain,
)

Doc = dict[str, Any]
POD_INDEX = "metadata.labels['apps.kubernetes.io/pod-index']"
# Seconds a pod needs to exit once its interrupted replies are finalised (or given up on).
EXIT_MARGIN = 5


def _validator() -> Any:
    return pytest.importorskip("kubernetes_validate", reason="validates against k8s schemas")


KUBERNETES_VERSIONS = ["1.28", "latest"]
"""The oldest Kubernetes the manifests support, and the newest kubernetes-validate knows
(looked up in the test: importing kubernetes-validate to name it would cost every xdist
worker's collection ~0.1 s)."""


def _kubernetes_version(version: str) -> str:
    if version != "latest":
        return version
    import kubernetes_validate.utils as utils  # type: ignore[import-untyped,unused-ignore]

    return str(utils.major_minor(utils.latest_version()))


def _examples() -> list[Doc]:
    return [doc for path in sorted(EXAMPLES.glob("*.yaml")) for doc in load_documents(path)]


@pytest.fixture(scope="module")
def base() -> list[Doc]:
    return render(K8S)


@pytest.fixture(scope="module")
def external() -> list[Doc]:
    return render(K8S / "external-redis")


def _one(documents: list[Doc], kind: str, name: str) -> Doc:
    found = [d for d in documents if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _bots(documents: list[Doc]) -> list[Doc]:
    return [d for d in documents if d["kind"] in {"Deployment", "StatefulSet"} and _is_bot(d)]


def _is_bot(document: Doc) -> bool:
    return any(c["image"].startswith("threadcast") for c in containers(document))


def _config(documents: list[Doc]) -> dict[str, str]:
    data: dict[str, str] = _one(documents, "ConfigMap", "threadcast-config")["data"]
    return data


def _env(container: Doc) -> dict[str, Doc]:
    return {env["name"]: env for env in container.get("env", [])}


def test_every_file_parses() -> None:
    files = sorted(K8S.rglob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        for doc in load_documents(path):
            assert "apiVersion" in doc and "kind" in doc, path


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_validate_against_the_kubernetes_schemas(version: str) -> None:
    validator = _validator()
    version = _kubernetes_version(version)
    documents = [doc for path in KUSTOMIZATIONS for doc in render(path)] + _examples()
    problems = []
    for doc in documents:
        try:
            validator.validate(doc, version, strict=True)
        except validator.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            problems.append(f"{doc['kind']}/{doc['metadata']['name']}: {where}: {exc.message}")
    assert not problems, "\n".join(problems)


def test_schema_validation_catches_a_mistake(base: list[Doc]) -> None:
    validator = _validator()
    deployment = _one(base, "Deployment", "threadcast-slack")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}  # misspelt field
    with pytest.raises(validator.ValidationError):
        validator.validate(broken, "1.28", strict=True)


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: p.name)
def test_plain_render_matches_kustomize(directory: Any) -> None:
    plain = {
        (d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"])
        for d in render_plain(directory)
    }
    assert plain, f"{directory}: nothing rendered"
    if kustomize_command() is None:
        pytest.skip("neither kustomize nor kubectl is installed: checked the plain render only")
    rendered = {
        (d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"])
        for d in render(directory)
    }
    assert plain == rendered


def test_everything_lives_in_the_threadcast_namespace(base: list[Doc]) -> None:
    for doc in [*base, *_examples()]:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "threadcast", doc["metadata"]["name"]


def test_slack_runs_several_replicas_in_http_mode(base: list[Doc]) -> None:
    deployment = _one(base, "Deployment", "threadcast-slack")
    assert deployment["spec"]["replicas"] >= 2
    (container,) = containers(deployment)
    assert container["args"] == ["slack"]
    assert "SLACK_APP_TOKEN" not in _env(container), "Socket Mode cannot share events"
    secret = _one(_examples(), "Secret", "threadcast-slack")["stringData"]
    assert "SLACK_APP_TOKEN" not in secret
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"} <= set(secret)


def test_discord_shards_take_their_id_from_the_pod_index(base: list[Doc]) -> None:
    statefulset = _one(base, "StatefulSet", "threadcast-discord")
    (container,) = containers(statefulset)
    assert container["args"] == ["discord"]
    env = _env(container)
    assert env["DISCORD_SHARD_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == POD_INDEX
    assert int(env["DISCORD_SHARD_COUNT"]["value"]) == statefulset["spec"]["replicas"]
    service = _one(base, "Service", statefulset["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None"


def test_bots_probe_readyz_and_healthz_on_the_configured_port(base: list[Doc]) -> None:
    port = int(_config(base)["PORT"])
    bots = _bots(base)
    assert len(bots) == 2
    for bot in bots:
        (container,) = containers(bot)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": port}
        probes = {kind: container[kind]["httpGet"] for kind in ("readinessProbe", "livenessProbe")}
        assert probes["readinessProbe"]["path"] == "/readyz"
        assert probes["livenessProbe"]["path"] == "/healthz"
        assert all(probe["port"] == "http" for probe in probes.values())
        annotations = bot["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/path"] == "/metrics"
        assert annotations["prometheus.io/port"] == str(port)


def test_every_container_has_requests_and_limits(base: list[Doc]) -> None:
    workloads = [d for d in base if containers(d)]
    assert len(workloads) == 3
    for workload in workloads:
        for container in containers(workload):
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), container["name"]


def test_pods_are_locked_down(base: list[Doc]) -> None:
    _, found = stages(parse_dockerfile(DEPLOY / "Dockerfile"))
    image_uid = int(found[-1].all("USER")[-1].args[0].split(":")[0])
    for workload in (d for d in base if containers(d)):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        if _is_bot(workload):
            assert pod["securityContext"]["runAsUser"] == image_uid
        for container in containers(workload):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
        if _is_bot(workload):
            volumes = {v["name"]: v for v in pod["volumes"]}
            (container,) = containers(workload)
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert len(tmp) == 1 and "emptyDir" in volumes[tmp[0]["name"]]


def test_termination_grace_covers_the_shutdown_grace(base: list[Doc]) -> None:
    """preStop, then the replies' grace, then the wait for the interrupted ones to finalise
    (their last edits and notices, bounded by TurnTasks.finalise_timeout), then the exit:
    a SIGKILL before the end leaves replies without their "interrupted" notice."""
    from core.ops.tasks import TurnTasks

    grace = int(_config(base)["THREADCAST_SHUTDOWN_GRACE"]) + TurnTasks().finalise_timeout
    for bot in _bots(base):
        (container,) = containers(bot)
        pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {})
        sleep = int(pre_stop["command"][1]) if pre_stop.get("command", [""])[0] == "sleep" else 0
        period = bot["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert period == sleep + grace + EXIT_MARGIN, bot["metadata"]["name"]


def test_replicas_share_edit_budgets(base: list[Doc]) -> None:
    assert _config(base)["THREADCAST_SHARED_BUDGETS"] == "true"


def _selects(selector: dict[str, str], workload: Doc) -> bool:
    labels = workload["spec"]["template"]["metadata"]["labels"]
    return all(labels.get(k) == v for k, v in selector.items())


def test_each_bot_has_a_disruption_budget_that_lets_drains_proceed(base: list[Doc]) -> None:
    budgets = [d for d in base if d["kind"] == "PodDisruptionBudget"]
    for bot in _bots(base):
        (budget,) = [b for b in budgets if _selects(b["spec"]["selector"]["matchLabels"], bot)]
        if "minAvailable" in budget["spec"]:
            assert budget["spec"]["minAvailable"] < bot["spec"]["replicas"]
        else:
            assert budget["spec"]["maxUnavailable"] >= 1


def test_services_select_their_pods_and_ports(base: list[Doc]) -> None:
    workloads = [d for d in base if containers(d)]
    for service in (d for d in base if d["kind"] == "Service"):
        (target,) = [w for w in workloads if _selects(service["spec"]["selector"], w)]
        names = {p["name"] for c in containers(target) for p in c["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in names, service["metadata"]["name"]


def test_redis_persists_on_a_volume_claim_behind_a_headless_service(base: list[Doc]) -> None:
    redis = _one(base, "StatefulSet", "threadcast-redis")
    (container,) = containers(redis)
    assert container["image"].startswith("redis:")
    args = container["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    (claim,) = redis["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == args[args.index("--dir") + 1]
    service = _one(base, "Service", redis["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None"
    url = _one(base, "Secret", "threadcast-redis")["stringData"]["REDIS_URL"]
    match = re.fullmatch(r"redis://([\w.-]+):(\d+)/\d+", url)
    assert match, url
    assert match.group(1) == service["metadata"]["name"]
    assert int(match.group(2)) == service["spec"]["ports"][0]["port"]


def test_external_redis_variant_drops_the_in_cluster_redis(external: list[Doc]) -> None:
    assert not [d for d in external if d["kind"] == "StatefulSet" and not _is_bot(d)]
    assert not [d for d in external if d["kind"] == "Secret"]
    template = _one(
        load_documents(EXAMPLES / "redis-url-secret.yaml"), "Secret", "threadcast-redis"
    )
    assert template["stringData"]["REDIS_URL"].startswith("rediss://")


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: p.name)
def test_every_reference_resolves(directory: Any) -> None:
    documents = render(directory)
    available = documents + _examples()
    if directory.name == "external-redis":
        available = (
            documents
            + [d for d in _examples() if d["metadata"]["name"] != "threadcast-redis"]
            + load_documents(EXAMPLES / "redis-url-secret.yaml")
        )
    keys = {
        (d["kind"], d["metadata"]["name"]): set(d.get("data", {})) | set(d.get("stringData", {}))
        for d in available
        if d["kind"] in {"ConfigMap", "Secret"}
    }
    for bot in _bots(documents):
        for container in containers(bot):
            for source in container.get("envFrom", []):
                for kind, field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    if field in source and not source[field].get("optional"):
                        assert (kind, source[field]["name"]) in keys, source
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in keys[("Secret", ref["name"])], env["name"]


def test_ingress_example_routes_slack_events_to_the_slack_service(base: list[Doc]) -> None:
    ingress = _one(_examples(), "Ingress", "threadcast-slack")
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/slack/events"
    backend = path["backend"]["service"]
    service = _one(base, "Service", backend["name"])
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}


def test_both_bots_run_the_same_image(base: list[Doc]) -> None:
    (compose,) = load_documents(DEPLOY / "compose.yml")
    images = {c["image"] for bot in _bots(base) for c in containers(bot)}
    assert images == {compose["services"]["slack"]["image"]}


_BINARY_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
# redis.conf's memory units: "mb" and "gb" are powers of 1024, "m" and "g" of 1000.
_REDIS_UNITS = {"kb": 2**10, "mb": 2**20, "gb": 2**30, "k": 10**3, "m": 10**6, "g": 10**9}


def _quantity(value: str) -> int:
    """A Kubernetes byte quantity in binary suffixes (what these manifests use)."""
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", value)
    assert match, value
    return int(match.group(1)) * _BINARY_SUFFIXES.get(match.group(2) or "", 1)


def _redis_bytes(value: str) -> int:
    match = re.fullmatch(r"(\d+)([a-z]*)", value.lower())
    assert match and match.group(2) in {"", *_REDIS_UNITS}, value
    return int(match.group(1)) * _REDIS_UNITS.get(match.group(2), 1)


def test_redis_refuses_writes_before_the_kernel_kills_it(base: list[Doc]) -> None:
    """Without maxmemory Redis grows until the container's memory limit SIGKILLs it, and a
    dataset larger than the limit then crash-loops on its AOF reload; noeviction applies
    only under a maxmemory. Half the limit: an AOF rewrite forks, and copy-on-write can
    double the resident memory while the child writes."""
    (container,) = containers(_one(base, "StatefulSet", "threadcast-redis"))
    args = container["args"]
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"
    assert "--maxmemory" in args, "noeviction without maxmemory never applies"
    maxmemory = _redis_bytes(args[args.index("--maxmemory") + 1])
    limit = _quantity(container["resources"]["limits"]["memory"])
    assert 0 < maxmemory <= limit // 2, (maxmemory, limit)


# Replies whose files may sit in /tmp at once before a pod's emptyDir overflows.
CONCURRENT_FILE_REPLIES = 4


def test_tmp_holds_several_replies_files(base: list[Doc]) -> None:
    """Downloads past 1 MiB spool to /tmp (core.download): a reply's group of artifacts
    (10 per message on Slack and Discord) and the message's input files. A pod whose
    emptyDir outgrows its sizeLimit is evicted at once, with no grace period (every reply
    in flight lost, none finalised), so the limit holds several worst-case replies."""
    from adapters.discord.surface import DISCORD_LIMITS
    from adapters.slack.config import SurfaceConfig
    from core.config import Settings

    fields = Settings.model_fields
    files = max(
        SurfaceConfig().limits().max_files_per_message, DISCORD_LIMITS.max_files_per_message
    )
    per_reply = files * fields["artifact_max_bytes"].default
    per_reply += fields["input_files"].default * fields["input_file_max_bytes"].default
    for bot in _bots(base):
        pod = bot["spec"]["template"]["spec"]
        (container,) = containers(bot)
        (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
        (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
        size = _quantity(volume["emptyDir"]["sizeLimit"])
        assert size >= CONCURRENT_FILE_REPLIES * per_reply, (bot["metadata"]["name"], size)


def test_redis_is_ready_once_its_data_is_loaded(base: list[Doc]) -> None:
    """While Redis loads its AOF, PING answers "LOADING ..." and plain ``redis-cli ping``
    still exits 0; ``-e`` makes it exit 1, so the pod is ready (and its name resolves
    through the headless Service) once the data is there."""
    (container,) = containers(_one(base, "StatefulSet", "threadcast-redis"))
    assert container["readinessProbe"]["exec"]["command"] == ["redis-cli", "-e", "ping"]

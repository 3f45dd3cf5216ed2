"""The Helm chart in helm/townhall, rendered and checked without a cluster or a helm binary.

Tools (both from PyPI, in the `helm` extra):
- helm-python-sdk: Helm v4's Go SDK through a C ABI. `Chart.render()` is `helm template`
  (values are checked against values.schema.json first) and `lint(strict=True)` is
  `helm lint --strict`.
- kubernetes-validate: the Kubernetes OpenAPI schemas as JSON Schema; strict mode refuses
  unknown fields, so a typo in a template fails here rather than at `kubectl apply`.

Scenarios: helm/townhall/ci/*-values.yaml must lint cleanly and render valid objects;
tests/helm/bad-values/*.yaml must each be refused, naming the bad field (first line
`# expect: <text the error must contain>`).
"""
from __future__ import annotations

import base64
import copy
from pathlib import Path

import pytest
import yaml

helm = pytest.importorskip("helm_python", reason="pip install helm-python-sdk==0.2.2")
kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")

pytestmark = pytest.mark.helm

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "townhall"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
BAD_VALUES = sorted((Path(__file__).parent / "bad-values").glob("*.yaml"))
KUBE_VERSION = "1.30.0"  # the oldest Kubernetes minor still commonly in service; pinned
RELEASE = "th"
NAMESPACE = "townhall"
FULLNAME = "th-townhall"
RUNTIME_DEPLOYMENTS = {f"{FULLNAME}-web", f"{FULLNAME}-live", f"{FULLNAME}-beat"} | {
    f"{FULLNAME}-worker-{q}" for q in ("default", "mail", "media")
}


# --- helpers ------------------------------------------------------------------------------


def load_values(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


def deep_merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class Rendered:
    """The objects of one `helm template`, indexed by (kind, name)."""

    def __init__(self, manifests: dict[str, str]):
        self.sources = manifests
        self.objects: list[dict] = []
        for path, text in sorted(manifests.items()):
            if path.endswith("NOTES.txt"):
                continue
            for doc in yaml.safe_load_all(text):
                if doc:
                    doc["__source__"] = path
                    self.objects.append(doc)

    def kinds(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o["kind"] == kind]

    def names(self, kind: str) -> set[str]:
        return {o["metadata"]["name"] for o in self.kinds(kind)}

    def get(self, kind: str, name: str) -> dict:
        found = [o for o in self.kinds(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}: {self.names(kind)}"
        return found[0]

    def clean(self, obj: dict) -> dict:
        return {k: v for k, v in obj.items() if k != "__source__"}


@pytest.fixture(scope="module")
def chart():
    with helm.Chart.load(CHART) as loaded:
        yield loaded


@pytest.fixture(scope="module")
def default_values() -> dict:
    return load_values(CHART / "ci" / "default-values.yaml")


@pytest.fixture(scope="module")
def production_values() -> dict:
    return load_values(CHART / "ci" / "production-values.yaml")


def render(chart, values: dict | None) -> Rendered:
    return Rendered(chart.render(values, name=RELEASE, namespace=NAMESPACE))


@pytest.fixture(scope="module")
def default(chart, default_values) -> Rendered:
    return render(chart, default_values)


@pytest.fixture(scope="module")
def production(chart, production_values) -> Rendered:
    return render(chart, production_values)


def pod_spec(obj: dict) -> dict:
    if obj["kind"] in ("Deployment", "Job"):
        return obj["spec"]["template"]["spec"]
    raise AssertionError(obj["kind"])


def container_env(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def workloads(r: Rendered) -> list[dict]:
    return r.kinds("Deployment") + r.kinds("Job")


def volume_at(spec: dict, container: dict, path: str) -> dict:
    """The pod volume the container mounts at path."""
    (name,) = [m["name"] for m in container["volumeMounts"] if m["mountPath"] == path]
    (volume,) = [v for v in spec["volumes"] if v["name"] == name]
    return volume


# --- the scenarios lint and render valid Kubernetes objects ---------------------------------


def test_there_are_scenarios_and_bad_values():
    assert {p.name for p in CI_VALUES} >= {"default-values.yaml", "production-values.yaml"}
    assert len(BAD_VALUES) >= 4


def test_chart_metadata(chart):
    meta = chart.metadata
    assert meta["apiVersion"] == "v2"
    assert meta["name"] == "townhall"
    assert chart.schema is not None, "values.schema.json must ship with the chart"
    assert chart.schema.get("additionalProperties") is False
    assert not chart.dependencies, "the chart bundles no PostgreSQL/Redis subcharts"


@pytest.mark.parametrize("values_file", CI_VALUES, ids=lambda p: p.name)
def test_lint_strict(values_file):
    report = helm.lint(
        CHART, load_values(values_file), strict=True, kube_version=f"v{KUBE_VERSION}"
    )
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == [], report


def test_lint_without_connection_settings_names_them():
    """The chart's own defaults are incomplete on purpose: it must be told where the data lives."""
    report = helm.lint(CHART, strict=True)
    text = "\n".join(report["errors"])
    for field in ("/externalDatabase/url", "/externalRedis/url", "/secretKey"):
        assert field in text, report


@pytest.mark.parametrize("values_file", CI_VALUES, ids=lambda p: p.name)
def test_every_manifest_is_valid_kubernetes(chart, values_file):
    rendered = render(chart, load_values(values_file))
    assert rendered.objects
    for obj in rendered.objects:
        clean = rendered.clean(obj)
        try:
            kubernetes_validate.validate(clean, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{obj['__source__']} {obj['kind']}/{obj['metadata']['name']}: {where}: {exc.message}")
        assert obj["metadata"]["namespace"] == NAMESPACE


def test_strict_validation_catches_unknown_fields():
    """Guard: kubernetes-validate really is strict (a typo must not pass silently)."""
    bad = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"spec": {"containers": [{"name": "x", "image": "x", "imagePullPolicyy": "Always"}]}},
        },
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBE_VERSION, strict=True)


# --- bad values are refused by the schema, naming the field ---------------------------------


def expected_error(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: <text>'"
    return first.removeprefix("# expect: ").strip()


@pytest.mark.parametrize("values_file", BAD_VALUES, ids=lambda p: p.name)
def test_bad_values_are_refused(chart, values_file):
    expected = expected_error(values_file)
    values = load_values(values_file)
    with pytest.raises(helm.HelmValuesError) as refused:
        chart.render(values, name=RELEASE, namespace=NAMESPACE)
    assert expected in str(refused.value), str(refused.value)
    # The same check, without rendering (what `helm install` does first).
    with pytest.raises(helm.HelmValuesError) as again:
        chart.validate_schema(chart.merge_values(values))
    assert expected in str(again.value)


# --- default scenario: what gets deployed ---------------------------------------------------


def test_default_objects(default):
    assert default.names("Deployment") == RUNTIME_DEPLOYMENTS
    assert default.names("Service") == {f"{FULLNAME}-web", f"{FULLNAME}-live"}
    assert default.names("Job") == {f"{FULLNAME}-migrate"}
    assert default.names("ConfigMap") == {f"{FULLNAME}-config"}
    assert default.names("Secret") == {f"{FULLNAME}-secret", f"{FULLNAME}-migrate"}
    assert default.names("ServiceAccount") == {FULLNAME}
    assert default.names("Ingress") == {f"{FULLNAME}-web", f"{FULLNAME}-live"}
    assert default.names("PersistentVolumeClaim") == {f"{FULLNAME}-media"}
    # optional objects are off by default
    for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "StatefulSet"):
        assert default.kinds(kind) == [], kind


def test_one_worker_deployment_per_queue(default):
    for queue in ("default", "mail", "media"):
        dep = default.get("Deployment", f"{FULLNAME}-worker-{queue}")
        (container,) = pod_spec(dep)["containers"]
        assert container["args"] == ["worker", "--queues", queue, "--concurrency", "1" if queue == "media" else "2"]
        assert dep["spec"]["selector"]["matchLabels"]["townhall/queue"] == queue
    media = pod_spec(default.get("Deployment", f"{FULLNAME}-worker-media"))["containers"][0]
    mail = pod_spec(default.get("Deployment", f"{FULLNAME}-worker-mail"))["containers"][0]
    assert media["resources"]["limits"]["cpu"] == "2", "media (captions) gets its own, larger resources"
    assert mail["resources"]["limits"]["cpu"] == "1"


def test_worker_queues_follow_values(chart, default_values):
    """The captions queue is configuration: the chart passes it to the application (CAPTIONS_QUEUE)
    and only that queue's pods mount the recordings."""
    values = deep_merge(default_values, {"worker": {"captionsQueue": "captions", "queues": [
        {"name": "default"}, {"name": "mail"}, {"name": "captions", "replicas": 4}]}})
    rendered = render(chart, values)
    workers = {n for n in rendered.names("Deployment") if "-worker-" in n}
    assert workers == {f"{FULLNAME}-worker-{q}" for q in ("default", "mail", "captions")}
    assert rendered.get("Deployment", f"{FULLNAME}-worker-captions")["spec"]["replicas"] == 4
    assert rendered.get("Deployment", f"{FULLNAME}-worker-default")["spec"]["replicas"] == 1
    assert rendered.get("ConfigMap", f"{FULLNAME}-config")["data"]["CAPTIONS_QUEUE"] == "captions"
    mounts = {n: "MEDIA_DIR" in container_env(pod_spec(rendered.get("Deployment", n))["containers"][0])
              for n in workers}
    assert mounts == {f"{FULLNAME}-worker-default": False, f"{FULLNAME}-worker-mail": False,
                      f"{FULLNAME}-worker-captions": True}


def test_default_captions_queue_matches_the_application(default):
    from services.ops.config import DEFAULT_CAPTIONS_QUEUE

    assert default.get("ConfigMap", f"{FULLNAME}-config")["data"]["CAPTIONS_QUEUE"] == DEFAULT_CAPTIONS_QUEUE


@pytest.mark.parametrize("queues", [["default", "mail"], ["default", "media"]])
def test_an_application_queue_without_workers_is_refused(chart, default_values, queues):
    values = deep_merge(default_values, {"worker": {"queues": [{"name": q} for q in queues]}})
    with pytest.raises(helm.HelmRenderError, match="no entry for the queue"):
        chart.render(values, name=RELEASE, namespace=NAMESPACE)


def test_duplicate_queue_is_refused(chart, default_values):
    values = deep_merge(default_values, {"worker": {"queues": [{"name": q} for q in ("default", "mail", "media", "mail")]}})
    with pytest.raises(helm.HelmRenderError, match="listed twice"):
        chart.render(values, name=RELEASE, namespace=NAMESPACE)


def test_beat_is_a_singleton(default, production):
    for rendered in (default, production):
        beat = rendered.get("Deployment", f"{FULLNAME}-beat")
        assert beat["spec"]["replicas"] == 1
        assert beat["spec"]["strategy"] == {"type": "Recreate"}
        (container,) = pod_spec(beat)["containers"]
        assert container["args"] == ["beat"]
        assert container["workingDir"] == "/tmp", "beat writes its schedule file; the root FS is read-only"
        for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget"):
            assert f"{FULLNAME}-beat" not in rendered.names(kind)


def test_web_and_live_processes_ports_and_probes(default):
    for component, port in (("web", 5000), ("live", 5001)):
        dep = default.get("Deployment", f"{FULLNAME}-{component}")
        (container,) = pod_spec(dep)["containers"]
        # `townhall web|live` listen on 127.0.0.1 unless told otherwise
        assert container["args"] == [component, "--host", "0.0.0.0", "--port", str(port)]
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
        assert container_env(container)["PORT"]["value"] == str(port)
    web_env = container_env(pod_spec(default.get("Deployment", f"{FULLNAME}-web"))["containers"][0])
    assert web_env["WEB_CONCURRENCY"]["value"] == "2"
    assert web_env["GUNICORN_THREADS"]["value"] == "4"
    assert web_env["FORWARDED_ALLOW_IPS"]["value"] == "*"


def test_live_gets_time_to_drain_sockets(default, production):
    web = pod_spec(default.get("Deployment", f"{FULLNAME}-web"))
    live = pod_spec(default.get("Deployment", f"{FULLNAME}-live"))
    assert live["terminationGracePeriodSeconds"] == 60 > web["terminationGracePeriodSeconds"]
    assert pod_spec(production.get("Deployment", f"{FULLNAME}-live"))["terminationGracePeriodSeconds"] == 90


# How long each process takes to stop after SIGTERM, which must end before Kubernetes kills the pod:
# the value and its environment variable, by component.
SHUTDOWN = {"web": ("gracefulTimeoutSeconds", "GUNICORN_GRACEFUL_TIMEOUT"),
            "live": ("drainSeconds", "LIVE_DRAIN_SECONDS")}


@pytest.mark.parametrize("component, seconds", [("web", (20, 20)), ("live", (20, 60))])
def test_shutdown_ends_before_the_grace_period(default, production, component, seconds):
    for rendered, expected in zip((default, production), seconds):
        spec = pod_spec(rendered.get("Deployment", f"{FULLNAME}-{component}"))
        (container,) = spec["containers"]
        pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
        assert container_env(container)[SHUTDOWN[component][1]]["value"] == str(expected)
        assert expected < spec["terminationGracePeriodSeconds"] - pre_stop


@pytest.mark.parametrize("component, values", [
    ("live", {"drainSeconds": 55}),
    ("live", {"drainSeconds": 70}),
    ("live", {"drainSeconds": 20, "terminationGracePeriodSeconds": 20, "preStopSleepSeconds": 0}),
    ("live", {"drainSeconds": 20, "terminationGracePeriodSeconds": 30, "preStopSleepSeconds": 10}),
    ("web", {"gracefulTimeoutSeconds": 25}),
    ("web", {"gracefulTimeoutSeconds": 40}),
    ("web", {"gracefulTimeoutSeconds": 20, "terminationGracePeriodSeconds": 20, "preStopSleepSeconds": 0}),
    ("web", {"gracefulTimeoutSeconds": 20, "terminationGracePeriodSeconds": 30, "preStopSleepSeconds": 10}),
], ids=["live-equal", "live-above", "live-no-pre-stop", "live-pre-stop-eats-the-margin",
        "web-equal", "web-above", "web-no-pre-stop", "web-pre-stop-eats-the-margin"])
def test_shutdown_not_below_grace_minus_pre_stop_is_refused(chart, default_values, component, values):
    with pytest.raises(helm.HelmRenderError, match=f"{component}.{SHUTDOWN[component][0]}"):
        chart.render(deep_merge(default_values, {component: values}), name=RELEASE, namespace=NAMESPACE)


@pytest.mark.parametrize("component, values, expected", [
    ("live", {"drainSeconds": 54}, "54"),
    ("live", {"drainSeconds": 29, "terminationGracePeriodSeconds": 30, "preStopSleepSeconds": 0}, "29"),
    ("web", {"gracefulTimeoutSeconds": 24}, "24"),
    ("web", {"gracefulTimeoutSeconds": 29, "terminationGracePeriodSeconds": 30, "preStopSleepSeconds": 0}, "29"),
])
def test_shutdown_just_below_grace_minus_pre_stop_renders(chart, default_values, component, values, expected):
    rendered = render(chart, deep_merge(default_values, {component: values}))
    (container,) = pod_spec(rendered.get("Deployment", f"{FULLNAME}-{component}"))["containers"]
    assert container_env(container)[SHUTDOWN[component][1]]["value"] == expected


def test_web_and_workers_sum_their_processes_metrics(default):
    """gunicorn workers and Celery pool children keep their values in PROMETHEUS_MULTIPROC_DIR,
    an emptyDir of the pod; live and beat are one process each and must not get it."""
    for name in RUNTIME_DEPLOYMENTS:
        spec = pod_spec(default.get("Deployment", name))
        (container,) = spec["containers"]
        folder = container_env(container).get("PROMETHEUS_MULTIPROC_DIR")
        if name.endswith(("-live", "-beat")):
            assert folder is None, name
            continue
        volume = volume_at(spec, container, folder["value"])
        assert volume["emptyDir"] == {"medium": "Memory", "sizeLimit": "64Mi"}, name
        assert volume["name"] != "tmp", f"{name}: a folder of its own, not /tmp with its other scratch files"


def test_workers_serve_metrics_on_their_port(chart, default, default_values):
    custom = render(chart, deep_merge(default_values, {"worker": {"metricsPort": 9200}}))
    for rendered, port in ((default, 9100), (custom, 9200)):
        for queue in ("default", "mail", "media"):
            (container,) = pod_spec(rendered.get("Deployment", f"{FULLNAME}-worker-{queue}"))["containers"]
            assert container_env(container)["METRICS_PORT"]["value"] == str(port)
            assert container["ports"] == [{"name": "metrics", "containerPort": port, "protocol": "TCP"}]


def test_media_volume_is_shared_by_web_and_the_media_workers(default):
    """MEDIA_DIR: web stores uploads, the media queue's workers caption them, from any node."""
    claim = default.get("PersistentVolumeClaim", f"{FULLNAME}-media")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert "storageClassName" not in claim["spec"], "empty: the cluster's default class"
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep", "recordings outlive the release"
    claims = {}
    for name in RUNTIME_DEPLOYMENTS:
        spec = pod_spec(default.get("Deployment", name))
        (container,) = spec["containers"]
        media_dir = container_env(container).get("MEDIA_DIR")
        assert (media_dir is None) == ("media" not in {v["name"] for v in spec["volumes"]}), name
        if media_dir:
            claims[name] = volume_at(spec, container, media_dir["value"])["persistentVolumeClaim"]["claimName"]
    assert claims == {f"{FULLNAME}-web": f"{FULLNAME}-media", f"{FULLNAME}-worker-media": f"{FULLNAME}-media"}


def test_media_volume_existing_claim(chart, default_values, production):
    rendered = render(chart, deep_merge(default_values, {"mediaVolume": {"existingClaim": "townhall-recordings"}}))
    assert rendered.kinds("PersistentVolumeClaim") == []
    for name in (f"{FULLNAME}-web", f"{FULLNAME}-worker-media"):
        spec = pod_spec(rendered.get("Deployment", name))
        (container,) = spec["containers"]
        volume = volume_at(spec, container, container_env(container)["MEDIA_DIR"]["value"])
        assert volume["persistentVolumeClaim"] == {"claimName": "townhall-recordings"}, name
    claim = production.get("PersistentVolumeClaim", f"{FULLNAME}-media")
    assert claim["spec"]["storageClassName"] == "efs-sc"
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"


def test_services_select_their_deployments(default):
    for component in ("web", "live"):
        svc = default.get("Service", f"{FULLNAME}-{component}")
        dep = default.get("Deployment", f"{FULLNAME}-{component}")
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        assert svc["spec"]["selector"].items() <= pod_labels.items()
        assert svc["spec"]["ports"][0]["targetPort"] == "http"
        # ... and no other Deployment's pods
        for other in default.kinds("Deployment"):
            if other is not dep:
                assert not svc["spec"]["selector"].items() <= other["spec"]["template"]["metadata"]["labels"].items()


def ingress_routes(rendered: Rendered) -> dict[tuple[str, str], str]:
    routes = {}
    for ing in rendered.kinds("Ingress"):
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["port"] == {"name": "http"}
                assert backend["name"] in rendered.names("Service")
                assert path["pathType"] == "Prefix"
                routes[(rule["host"], path["path"])] = backend["name"]
    return routes


def test_ingress_routes_socketio_to_live_and_the_rest_to_web(default):
    routes = ingress_routes(default)
    for host in ("townhall.example.police.uk", "*.townhall.example.police.uk"):
        assert routes[(host, "/socket.io")] == f"{FULLNAME}-live"
        assert routes[(host, "/")] == f"{FULLNAME}-web"
    live = default.get("Ingress", f"{FULLNAME}-live")
    annotations = live["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    web = default.get("Ingress", f"{FULLNAME}-web")
    assert "nginx.ingress.kubernetes.io/affinity" not in web["metadata"].get("annotations", {})
    assert web["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == "25m"
    assert live["spec"]["ingressClassName"] == "nginx"


def test_single_ingress_mode(chart, default_values):
    rendered = render(chart, deep_merge(default_values, {"ingress": {"single": True}}))
    (ing,) = rendered.kinds("Ingress")
    routes = ingress_routes(rendered)
    assert routes[("townhall.example.police.uk", "/socket.io")] == f"{FULLNAME}-live"
    assert routes[("townhall.example.police.uk", "/")] == f"{FULLNAME}-web"
    paths = [p["path"] for p in ing["spec"]["rules"][0]["http"]["paths"]]
    assert paths == ["/socket.io", "/"], "the more specific path first"
    assert ing["metadata"]["annotations"]["nginx.ingress.kubernetes.io/affinity"] == "cookie"


def test_migration_job_is_a_pre_install_and_pre_upgrade_hook(default):
    job = default.get("Job", f"{FULLNAME}-migrate")
    annotations = job["metadata"]["annotations"]
    assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    spec = pod_spec(job)
    assert spec["restartPolicy"] == "Never"
    assert "serviceAccountName" not in spec, "the chart's ServiceAccount does not exist yet at pre-install"
    (container,) = spec["containers"]
    assert container["args"] == ["migrate"]
    env = container_env(container)
    assert env["TOWNHALL_ENV"]["value"] == "production"
    ref = env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": f"{FULLNAME}-migrate", "key": "DATABASE_URL"}
    # The Secret it reads is itself a hook, created before the Job (lower weight).
    secret = default.get("Secret", f"{FULLNAME}-migrate")
    hook = secret["metadata"]["annotations"]
    assert set(hook["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert int(hook["helm.sh/hook-weight"]) < int(annotations["helm.sh/hook-weight"])
    assert set(secret["data"]) == {"SECRET_KEY", "DATABASE_URL", "APP_DATABASE_URL", "REDIS_URL", "DATABASE_APP_PASSWORD"}
    # `townhall migrate` sets the app role's password from DATABASE_APP_PASSWORD: the one in appUrl
    assert base64.b64decode(secret["data"]["DATABASE_APP_PASSWORD"]).decode() == "ci-app-password"
    assert env["DATABASE_APP_PASSWORD"]["valueFrom"]["secretKeyRef"]["optional"] is True


def test_app_password_only_when_app_url_has_one(chart, default_values):
    values = deep_merge(default_values, {"externalDatabase": {"appUrl": "postgresql://townhall_app@db.internal/townhall"}})
    secret = render(chart, values).get("Secret", f"{FULLNAME}-migrate")
    assert "DATABASE_APP_PASSWORD" not in secret["data"]


def test_socketio_channel_and_worker_concurrency(chart, default_values):
    values = deep_merge(default_values, {
        "config": {"socketioChannel": "townhall-staging"},
        "worker": {"concurrency": 4, "queues": [{"name": "default"}, {"name": "mail"}, {"name": "media", "concurrency": 1, "extraArgs": ["--max-tasks-per-child", "50"]}]},
    })
    rendered = render(chart, values)
    assert rendered.get("ConfigMap", f"{FULLNAME}-config")["data"]["SOCKETIO_CHANNEL"] == "townhall-staging"
    default_args = pod_spec(rendered.get("Deployment", f"{FULLNAME}-worker-default"))["containers"][0]["args"]
    media_args = pod_spec(rendered.get("Deployment", f"{FULLNAME}-worker-media"))["containers"][0]["args"]
    assert default_args == ["worker", "--queues", "default", "--concurrency", "4"]
    assert media_args == ["worker", "--queues", "media", "--concurrency", "1", "--max-tasks-per-child", "50"]


def test_migrations_can_be_disabled(chart, default_values):
    rendered = render(chart, deep_merge(default_values, {"migrations": {"enabled": False}}))
    assert rendered.kinds("Job") == []
    assert f"{FULLNAME}-migrate" not in rendered.names("Secret")


def test_configmap_holds_non_secret_settings(default):
    data = default.get("ConfigMap", f"{FULLNAME}-config")["data"]
    assert data["TOWNHALL_ENV"] == "production"
    assert data["LOG_FORMAT"] == "json"
    assert data["BASE_DOMAIN"] == "townhall.example.police.uk"
    assert data["LIVE_URL"] == ""
    assert data["SMTP_URL"] == "smtp://smtp.example.police.uk:587"
    assert data["TOWNHALL_DATA_DIR"] == "/tmp", "beat's schedule file needs a writable place"
    assert "SOCKETIO_CHANNEL" not in data, "empty: the application default"
    assert "@" not in data["SMTP_URL"], "SMTP credentials belong in the Secret"
    for forbidden in ("SECRET_KEY", "DATABASE_URL", "APP_DATABASE_URL", "REDIS_URL"):
        assert forbidden not in data


def test_secret_and_runtime_environment(default, default_values):
    secret = default.get("Secret", f"{FULLNAME}-secret")
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data == {
        "SECRET_KEY": default_values["secretKey"],
        "DATABASE_URL": default_values["externalDatabase"]["url"],
        "APP_DATABASE_URL": default_values["externalDatabase"]["appUrl"],
        "REDIS_URL": default_values["externalRedis"]["url"],
    }
    for name in RUNTIME_DEPLOYMENTS:
        spec = pod_spec(default.get("Deployment", name))
        (container,) = spec["containers"]
        assert container["envFrom"] == [{"configMapRef": {"name": f"{FULLNAME}-config"}}]
        env = container_env(container)
        for key in ("SECRET_KEY", "APP_DATABASE_URL", "REDIS_URL"):
            assert env[key]["valueFrom"]["secretKeyRef"] == {"name": f"{FULLNAME}-secret", "key": key}
        assert "DATABASE_URL" not in env, f"{name}: the owner URL is for migrations only"


def test_checksum_annotations_roll_pods_on_config_change(chart, default, default_values):
    before = default.get("Deployment", f"{FULLNAME}-web")["spec"]["template"]["metadata"]["annotations"]
    assert before["checksum/config"] and before["checksum/secret"]
    changed = render(chart, deep_merge(default_values, {"config": {"baseDomain": "townhall.example.org.uk"}}))
    after = changed.get("Deployment", f"{FULLNAME}-web")["spec"]["template"]["metadata"]["annotations"]
    assert after["checksum/config"] != before["checksum/config"]
    assert after["checksum/secret"] == before["checksum/secret"]
    for name in RUNTIME_DEPLOYMENTS:
        annotations = default.get("Deployment", name)["spec"]["template"]["metadata"]["annotations"]
        assert annotations["checksum/config"] == before["checksum/config"]


@pytest.mark.parametrize("scenario", ["default", "production"])
def test_pods_are_hardened(scenario, request):
    rendered: Rendered = request.getfixturevalue(scenario)
    for obj in workloads(rendered):
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        spec = pod_spec(obj)
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["runAsUser"] == 10001, where
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert spec["automountServiceAccountToken"] is False, where
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes["tmp"], where
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001, where
            assert sc["capabilities"] == {"drop": ["ALL"]}, where
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, where
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], where
            assert container["resources"]["limits"]["memory"], where


def test_image_reference(default, production):
    web = pod_spec(default.get("Deployment", f"{FULLNAME}-web"))["containers"][0]
    assert web["image"] == "ghcr.io/example/townhall:0.1.0", "tag defaults to the chart's appVersion"
    assert web["imagePullPolicy"] == "IfNotPresent"
    prod = pod_spec(production.get("Deployment", f"{FULLNAME}-web"))
    assert prod["containers"][0]["image"].startswith("registry.example.police.uk/townhall/townhall@sha256:")
    assert prod["imagePullSecrets"] == [{"name": "registry-credentials"}]


# --- production scenario ----------------------------------------------------------------------


def test_production_uses_the_existing_secret_and_renders_none(production):
    assert production.kinds("Secret") == [], "existingSecret: the chart must not render a Secret"
    for obj in workloads(production):
        for container in pod_spec(obj)["containers"]:
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == "townhall-credentials", (obj["metadata"]["name"], env)
        annotations = obj["spec"]["template"]["metadata"].get("annotations", {})
        assert "checksum/secret" not in annotations
    job = pod_spec(production.get("Job", f"{FULLNAME}-migrate"))["containers"][0]
    assert container_env(job)["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "townhall-credentials"
    web = pod_spec(production.get("Deployment", f"{FULLNAME}-web"))["containers"][0]
    smtp = container_env(web)["SMTP_URL"]["valueFrom"]["secretKeyRef"]
    assert smtp == {"name": "townhall-credentials", "key": "SMTP_URL", "optional": True}


def test_production_autoscaling(production):
    hpas = {h["metadata"]["name"]: h for h in production.kinds("HorizontalPodAutoscaler")}
    assert set(hpas) == {f"{FULLNAME}-web"} | {f"{FULLNAME}-worker-{q}" for q in ("default", "mail", "media")}
    for name, hpa in hpas.items():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] == name
        assert name in production.names("Deployment")
        assert "replicas" not in production.get("Deployment", name)["spec"], "the HPA owns replicas"
    assert hpas[f"{FULLNAME}-web"]["spec"]["minReplicas"] == 3
    assert hpas[f"{FULLNAME}-worker-media"]["spec"]["maxReplicas"] == 6, "per-queue override"
    assert hpas[f"{FULLNAME}-worker-mail"]["spec"]["maxReplicas"] == 4, "worker default"
    live = production.get("Deployment", f"{FULLNAME}-live")
    assert live["spec"]["replicas"] == 3


def test_production_disruption_budgets(production):
    pdbs = {p["metadata"]["name"]: p for p in production.kinds("PodDisruptionBudget")}
    assert set(pdbs) == {f"{FULLNAME}-web", f"{FULLNAME}-live"} | {
        f"{FULLNAME}-worker-{q}" for q in ("default", "mail", "media")
    }
    assert pdbs[f"{FULLNAME}-web"]["spec"]["minAvailable"] == 2
    assert pdbs[f"{FULLNAME}-live"]["spec"]["maxUnavailable"] == 1
    for name, pdb in pdbs.items():
        selector = pdb["spec"]["selector"]["matchLabels"].items()
        matching = [
            d["metadata"]["name"]
            for d in production.kinds("Deployment")
            if selector <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert matching == [name], (name, matching)


def test_production_network_policies(production):
    policies = {p["metadata"]["name"]: p for p in production.kinds("NetworkPolicy")}
    assert set(policies) == {f"{FULLNAME}-{c}" for c in ("web", "live", "worker", "beat", "migrate")}
    ingress_controller = {"kubernetes.io/metadata.name": "ingress-nginx"}
    prometheus = {"kubernetes.io/metadata.name": "monitoring"}
    # networkPolicy.metrics: Prometheus reaches each process's /metrics port, and nothing else does
    for component, port, sources in (("web", 5000, [ingress_controller, prometheus]),
                                     ("live", 5001, [ingress_controller, prometheus]),
                                     ("worker", 9100, [prometheus])):
        rules = policies[f"{FULLNAME}-{component}"]["spec"]["ingress"]
        assert [r["from"][0]["namespaceSelector"]["matchLabels"] for r in rules] == sources, component
        assert all(r["ports"] == [{"port": port, "protocol": "TCP"}] for r in rules), component
    for component in ("beat", "migrate"):
        assert policies[f"{FULLNAME}-{component}"]["spec"]["ingress"] == []
    for policy in policies.values():
        spec = policy["spec"]
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        dns = spec["egress"][0]["ports"]
        assert {"port": 53, "protocol": "UDP"} in dns
        assert len(spec["egress"]) == 3


def test_network_policies_keep_prometheus_out_unless_asked(chart, default_values):
    rendered = render(chart, deep_merge(default_values, {"networkPolicy": {"enabled": True}}))
    for component in ("web", "live"):
        (rule,) = rendered.get("NetworkPolicy", f"{FULLNAME}-{component}")["spec"]["ingress"]
        assert rule["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "ingress-nginx"}
    for component in ("worker", "beat", "migrate"):
        assert rendered.get("NetworkPolicy", f"{FULLNAME}-{component}")["spec"]["ingress"] == []


def test_production_ingress_tls_and_custom_domain(production):
    routes = ingress_routes(production)
    assert routes[("questions.example-opcc.police.uk", "/socket.io")] == f"{FULLNAME}-live"
    assert routes[("*.townhall.police.uk", "/")] == f"{FULLNAME}-web"
    for ing in production.kinds("Ingress"):
        tls = {t["secretName"]: t["hosts"] for t in ing["spec"]["tls"]}
        assert tls["townhall-wildcard-tls"] == ["townhall.police.uk", "*.townhall.police.uk"]
        assert tls["example-opcc-tls"] == ["questions.example-opcc.police.uk"]


def test_production_topology_spread_gets_a_label_selector(production):
    web = pod_spec(production.get("Deployment", f"{FULLNAME}-web"))
    (constraint,) = web["topologySpreadConstraints"]
    assert constraint["topologyKey"] == "topology.kubernetes.io/zone"
    assert constraint["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == "web"


def test_common_labels_and_names_fit(production):
    for obj in production.objects:
        labels = obj["metadata"]["labels"]
        assert labels["cost-centre"] == "digital-engagement"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert len(obj["metadata"]["name"]) <= 63


def test_long_release_names_stay_within_limits(chart, default_values):
    rendered = Rendered(chart.render(default_values, name="a" * 53, namespace=NAMESPACE))
    for obj in rendered.objects:
        assert len(obj["metadata"]["name"]) <= 63, obj["metadata"]["name"]
        kubernetes_validate.validate(rendered.clean(obj), KUBE_VERSION, strict=True)


# --- documentation stays in step with the values ----------------------------------------------


# Maps documented as a whole rather than key by key.
LEAF_SUFFIXES = ("nnotations", "abels", "extra", "Selector", "resources", "Context", "Probe", "strategy")


def leaf_keys(values: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and not key.endswith(LEAF_SUFFIXES):
            keys |= leaf_keys(value, path + ".")
        else:
            keys.add(path)
    return keys


def test_readme_documents_every_value(chart):
    readme = (CHART / "README.md").read_text()
    missing = sorted(k for k in leaf_keys(chart.values) if f"`{k}`" not in readme)
    assert missing == [], f"helm/townhall/README.md does not document: {missing}"
    assert "data residency" in readme.lower()


def test_schema_knows_every_default_value(chart):
    """values.yaml and values.schema.json agree: every default key is declared in the schema."""
    schema = chart.schema

    def resolve(node):
        while "$ref" in node:
            node = schema["definitions"][node["$ref"].rsplit("/", 1)[-1]]
        return node

    def walk(values, node, path):
        node = resolve(node)
        props = node.get("properties")
        if props is None:
            return
        for key, value in values.items():
            if node.get("additionalProperties") is False:
                assert key in props, f"{path}{key} is in values.yaml but not in values.schema.json"
            if key not in props:
                continue
            if isinstance(value, dict):
                walk(value, props[key], f"{path}{key}.")
            elif isinstance(value, list) and "items" in resolve(props[key]):
                for i, item in enumerate(value):
                    if isinstance(item, dict):
                        walk(item, resolve(props[key])["items"], f"{path}{key}[{i}].")

    walk(chart.values, schema, "")
    chart.validate_schema(chart.merge_values(load_values(CHART / "ci" / "default-values.yaml")))

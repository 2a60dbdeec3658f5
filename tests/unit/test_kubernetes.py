"""The Kubernetes manifests (deploy/kubernetes): valid against Kubernetes' own JSON schemas
(offline, the schemas kubernetes-validate ships, strict: no unknown fields) and keeping the
promises docs/running/kubernetes.md makes: probes on /health, a start-up allowance for a
model download, the GPU limit, a grace period longer than the server's shutdown timeout,
Prometheus scrape annotations, settings from a ConfigMap that the server knows, the key from
a Secret."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
KUBERNETES = "1.30.0"  # the oldest Kubernetes release still maintained upstream, late 2026


def documents() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted(MANIFESTS.rglob("*.yaml")):
        found += [(path, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def kind(name: str, path: Path = MANIFESTS / "deployment.yaml") -> dict[str, Any]:
    (doc,) = [
        d for p, d in documents() if d["kind"] == name and (name != "Deployment" or p == path)
    ]
    return doc


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (server,) = deployment["spec"]["template"]["spec"]["containers"]
    return server


@pytest.mark.parametrize("path_doc", documents(), ids=lambda pd: f"{pd[0].name}:{pd[1]['kind']}")
def test_manifests_are_valid_kubernetes(path_doc):
    _, doc = path_doc
    kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_every_kind_the_deployment_needs_is_there():
    kinds = sorted(d["kind"] for _, d in documents())
    assert kinds == sorted(
        [
            "ConfigMap",
            "Deployment",
            "Deployment",
            "PersistentVolumeClaim",
            "PodDisruptionBudget",
            "Secret",
            "Service",
        ]
    )


@pytest.mark.parametrize(
    ("path", "gpus"),
    [(MANIFESTS / "deployment.yaml", 1), (MANIFESTS / "tensor-parallel" / "deployment.yaml", 2)],
)
def test_the_deployment_keeps_its_promises(path, gpus):
    deployment = kind("Deployment", path)
    pod = deployment["spec"]["template"]
    server = container(deployment)
    (port,) = server["ports"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"EXPOSE {port['containerPort']}" in dockerfile
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert server[probe]["httpGet"] == {"path": "/health", "port": port["name"]}, probe
    startup = server["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600  # a model download
    assert server["resources"]["limits"]["nvidia.com/gpu"] == gpus
    tensor_parallel = {e["name"]: e.get("value") for e in server["env"]}.get(
        "SAMPLING_SERVER_TENSOR_PARALLEL_SIZE", "1"
    )
    assert int(tensor_parallel) == gpus

    settings = kind("ConfigMap")["data"]
    shutdown = float(settings["SAMPLING_SERVER_SHUTDOWN_TIMEOUT"])
    assert pod["spec"]["terminationGracePeriodSeconds"] > shutdown + 10
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port["containerPort"])
    assert annotations["prometheus.io/path"] == "/metrics"

    secret = kind("Secret")
    # the key, and the replicas' shared PostgreSQL store (a SQLite file is one process's)
    for name in ("SAMPLING_SERVER_API_KEY", "SAMPLING_SERVER_STORE_URL"):
        key = next(e for e in server["env"] if e["name"] == name)
        assert key["valueFrom"]["secretKeyRef"]["name"] == secret["metadata"]["name"]
        assert key["valueFrom"]["secretKeyRef"]["key"] in secret["stringData"]
    assert secret["stringData"]["store-url"].startswith("postgresql://")
    assert server["envFrom"] == [{"configMapRef": {"name": kind("ConfigMap")["metadata"]["name"]}}]

    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    claim = volumes["cache"]["persistentVolumeClaim"]["claimName"]
    assert claim == kind("PersistentVolumeClaim")["metadata"]["name"]
    mounts = {m["name"]: m["mountPath"] for m in server["volumeMounts"]}
    assert mounts["cache"] == "/cache" and "/cache" in dockerfile
    assert mounts["shm"] == "/dev/shm" and volumes["shm"]["emptyDir"]["medium"] == "Memory"
    assert pod["spec"]["securityContext"]["runAsUser"] == 1000  # the image's user


def test_service_and_budget_select_the_pods():
    labels = kind("Deployment")["spec"]["template"]["metadata"]["labels"]
    service = kind("Service")
    assert service["spec"]["selector"].items() <= labels.items()
    assert (
        service["spec"]["ports"][0]["targetPort"]
        == container(kind("Deployment"))["ports"][0]["name"]
    )
    budget = kind("PodDisruptionBudget")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert budget["spec"]["minAvailable"] < kind("Deployment")["spec"]["replicas"]


def test_the_config_map_holds_settings_the_server_knows():
    data = kind("ConfigMap")["data"]
    for name, value in data.items():
        assert re.fullmatch(r"SAMPLING_SERVER_[A-Z_]+", name), name
        field = name.removeprefix("SAMPLING_SERVER_").lower()
        assert field in Settings.model_fields, name
        assert isinstance(value, str)
    assert (ROOT / data["SAMPLING_SERVER_CONFIG"]).is_file()


def test_the_tensor_parallel_variant_differs_only_where_it_says():
    base = copy.deepcopy(kind("Deployment"))
    variant = kind("Deployment", MANIFESTS / "tensor-parallel" / "deployment.yaml")
    server = container(base)
    server["env"].insert(0, {"name": "SAMPLING_SERVER_TENSOR_PARALLEL_SIZE", "value": "2"})
    server["resources"]["limits"]["nvidia.com/gpu"] = 2
    volumes = base["spec"]["template"]["spec"]["volumes"]
    next(v for v in volumes if v["name"] == "shm")["emptyDir"]["sizeLimit"] = "8Gi"
    assert variant == base


def test_the_schema_check_catches_a_typo():
    deployment = copy.deepcopy(kind("Deployment"))
    server = container(deployment)
    server["livenesProbe"] = server.pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)

"""The Kubernetes backend's DaskJob resources, validated offline (no API server runs here):
against the dask-kubernetes operator's resolved CRDs, and their pod specs wrapped in v1 Pods
with ``kubernetes-validate --strict`` for Kubernetes 1.32 and the newest version it bundles.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubevalidate import (  # tests/ is on pytest's pythonpath
    VERSIONS,
    NoAliases,
    as_pod,
    crd_schema,
    unknown_fields,
    validate_custom_resource,
    validate_strict,
)
from wisehub.batch.kube import (
    JOB_LABEL,
    USER_LABEL,
    daskautoscaler,
    daskjob,
    expired_daskjobs,
    label_value,
)
from wisehub.batch.state import JobRecord


def records() -> list[JobRecord]:
    return [
        JobRecord.new("ada", kind="function", target="pipeline.nightly:reduce",
                      workers=8, wall_time=14 * 86400),
        JobRecord.new("pupil.7@school.example", kind="notebook", target="/home/p/n.ipynb",
                      workers=4, adaptive=True, wall_time=90.5),
    ]


def build(record: JobRecord) -> dict[str, Any]:
    home = {"name": "home", "persistentVolumeClaim": {"claimName": "claim-ada"}}
    return daskjob(record, image="registry.example/wisehub-singleuser:1.2.3",
                   job_dir=f"/home/jovyan/.wisehub/batch/{record.id}", namespace="wisehub",
                   env={"WISEHUB_DATA_DIR": "/home/jovyan/.wisehub"}, volumes=[home],
                   volume_mounts=[{"name": "home", "mountPath": "/home/jovyan"}])


@pytest.mark.parametrize("record", records(), ids=["fixed", "adaptive"])
def test_daskjob_validates_against_the_operator_crd(record):
    job = build(record)
    validate_custom_resource(job)
    runner = job["spec"]["job"]["spec"]
    assert runner["restartPolicy"] == "Never"
    assert runner["activeDeadlineSeconds"] == -(-record.wall_time // 1)
    cluster = job["spec"]["cluster"]["spec"]
    assert cluster["worker"]["replicas"] == (1 if record.adaptive else record.workers)
    for spec in (runner, cluster["worker"]["spec"], cluster["scheduler"]["spec"]):
        assert spec["automountServiceAccountToken"] is False
        assert spec["containers"][0]["image"] == "registry.example/wisehub-singleuser:1.2.3"
    for meta in (job["metadata"], job["spec"]["job"]["metadata"],
                 cluster["worker"]["metadata"], cluster["scheduler"]["metadata"]):
        assert meta["labels"][USER_LABEL] == label_value(record.user)
        assert meta["labels"][JOB_LABEL] == record.id.lower()
    autoscaler = daskautoscaler(record, "wisehub")
    validate_custom_resource(autoscaler)
    assert autoscaler["spec"]["maximum"] == record.workers


def test_a_misspelt_field_is_caught():
    job = build(records()[0])
    job["spec"]["job"]["spec"]["restartPolicyy"] = "Never"
    assert unknown_fields(job, crd_schema("daskjob")) == [".spec.job.spec.restartPolicyy"]
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_strict(as_pod(job["spec"]["job"]["spec"]), VERSIONS[0])


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("record", records(), ids=["fixed", "adaptive"])
def test_pod_specs_pass_kubernetes_validate_strict(record, version, tmp_path):
    job = build(record)
    cluster = job["spec"]["cluster"]["spec"]
    pods = {"runner": job["spec"]["job"]["spec"], "worker": cluster["worker"]["spec"],
            "scheduler": cluster["scheduler"]["spec"]}
    files = []
    for role, spec in pods.items():
        pod = as_pod(spec, f"{job['metadata']['name']}-{role}", job["metadata"]["labels"])
        validate_strict(pod, version)
        files.append(tmp_path / f"{role}.yaml")
        files[-1].write_text(yaml.dump(pod, Dumper=NoAliases))
    cli = subprocess.run([Path(sys.executable).with_name("kubernetes-validate"), "--strict",
                          "-k", version, *map(str, files)], capture_output=True, text=True,
                         timeout=300)
    assert cli.returncode == 0 and cli.stdout.count(" passed for resource pod/") == 3, \
        cli.stdout + cli.stderr
    service = cluster["scheduler"]["service"]
    validate_strict({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                     "spec": service}, version)


def test_retention_removes_only_our_finished_jobs_past_it():
    now = datetime(2026, 3, 10, tzinfo=UTC)
    ours = {"app.kubernetes.io/managed-by": "wisehub"}

    def item(name, status, end, labels=ours):
        return {"metadata": {"name": name, "labels": labels},
                "status": {"jobStatus": status, "endTime": end}}

    items = [item("old-ok", "Successful", "2026-03-01T00:00:00Z"),
             item("old-failed", "Failed", "2026-03-02T23:00:00Z"),
             item("recent", "Successful", "2026-03-09T00:00:00Z"),
             item("running", "Running", None),
             item("theirs", "Successful", "2026-01-01T00:00:00Z", labels={"app": "other"})]
    assert expired_daskjobs(items, now=now, retention=7 * 86400) == ["old-failed", "old-ok"]
    assert json.dumps(items)  # the function left its input alone (plain data)

"""The Kubernetes backend's DaskJob resources, validated offline (no API server runs here):
against the dask-kubernetes operator's resolved CRDs, and their pod specs wrapped in v1 Pods
with ``kubernetes-validate --strict`` for Kubernetes 1.32 and the newest version it bundles.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import kmock
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
from wisehub.batch.errors import UnknownJobError
from wisehub.batch.kube import (
    JOB_LABEL,
    USER_LABEL,
    daskautoscaler,
    daskjob,
    expired_daskjobs,
    job_name,
    label_value,
)
from wisehub.batch.kubeclient import CANCELLED_LABEL, KubeJobs
from wisehub.batch.state import JobRecord


def records() -> list[JobRecord]:
    return [
        JobRecord.new("ada", kind="function", target="pipeline.nightly:reduce",
                      workers=8, wall_time=14 * 86400),
        JobRecord.new("pupil.7@school.example", kind="notebook", target="/home/p/n.ipynb",
                      workers=4, adaptive=True, wall_time=90.5),
    ]


BUILD = {"image": "registry.example/wisehub-singleuser:1.2.3",
         "job_dir": "/home/jovyan/.wisehub/batch/job",
         "env": {"WISEHUB_DATA_DIR": "/home/jovyan/.wisehub"},
         "volumes": [{"name": "home", "persistentVolumeClaim": {"claimName": "claim-ada"}}],
         "volume_mounts": [{"name": "home", "mountPath": "/home/jovyan"}]}


def build(record: JobRecord) -> dict[str, Any]:
    return daskjob(record, namespace="wisehub", **BUILD)


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


def _sent_objects(stand_in: kmock.KubernetesEmulator) -> list[dict[str, Any]]:
    return [r.data for r in stand_in if r.method == "POST"]


def test_kube_client_against_a_stand_in_api_server():
    """STAND-IN: kmock's in-memory Kubernetes emulator, not a real API server (none can run
    here), and the test plays the dask-kubernetes operator by writing the status it would
    write. It checks the client's calls and how it reads them, not what a control plane does."""
    fixed, adaptive = records()
    bob_job = JobRecord.new("bob", kind="function", target="m:f", wall_time=60)
    ada = fixed.user

    async def operator_sets(stand_in, record, **status) -> None:
        url = f"{stand_in.url}/apis/kubernetes.dask.org/v1/namespaces/wisehub/daskjobs/" \
              f"{job_name(record)}/status"
        async with aiohttp.ClientSession() as session, session.patch(
                url, json={"status": status},
                headers={"Content-Type": "application/merge-patch+json"}) as reply:
            assert reply.status == 200, await reply.text()

    async def scenario() -> None:
        stand_in = kmock.KubernetesEmulator()
        async with kmock.Server(stand_in):
            api = KubeJobs(str(stand_in.url), "wisehub")
            for record in (fixed, adaptive, bob_job):
                await api.submit(record, **BUILD)
            # Every object sent is a valid DaskJob / DaskAutoscaler of the operator's CRDs.
            sent = _sent_objects(stand_in)
            assert sorted(o["kind"] for o in sent) == ["DaskAutoscaler", "DaskJob", "DaskJob",
                                                       "DaskJob"]
            for obj in sent:
                validate_custom_resource(obj)
                if obj["kind"] == "DaskJob":
                    runner = obj["spec"]["job"]["spec"]
                    assert runner["restartPolicy"] == "Never"
                    assert runner["activeDeadlineSeconds"] > 0
                    validate_strict(as_pod(runner), VERSIONS[-1])

            assert await api.status(ada, fixed.id) == "queued"  # no status written yet
            await operator_sets(stand_in, fixed, jobStatus="ClusterCreated")
            assert await api.status(ada, fixed.id) == "queued"
            await operator_sets(stand_in, fixed, jobStatus="Running",
                                startTime="2026-03-01T00:00:00Z")
            assert await api.status(ada, fixed.id) == "running"
            await operator_sets(stand_in, fixed, jobStatus="Successful",
                                endTime="2026-03-01T02:00:00Z")
            assert await api.status(ada, fixed.id) == "succeeded"
            # Failed at the deadline (90.5 s, rounded up) is timed-out.
            await operator_sets(stand_in, adaptive, jobStatus="Failed",
                                startTime="2026-03-01T00:00:00Z",
                                endTime="2026-03-01T00:01:31Z")
            assert await api.status(adaptive.user, adaptive.id) == "timed-out"
            await operator_sets(stand_in, bob_job, jobStatus="Running",
                                startTime="2026-03-09T23:59:00Z")

            # Each user reads their own jobs only; another's id is unknown, as a missing one.
            assert [j["metadata"]["name"] for j in await api.jobs(ada)] == [job_name(fixed)]
            for who, job_id in ((ada, bob_job.id), ("bob", fixed.id), (ada, "../../x")):
                with pytest.raises(UnknownJobError):
                    await api.status(who, job_id)
            with pytest.raises(UnknownJobError):
                await api.cancel(ada, bob_job.id)
            assert await api.status("bob", bob_job.id) == "running"

            # Cancelling: marked, then deleted; a finished job is left alone.
            assert await api.cancel(ada, fixed.id) == "succeeded"
            assert await api.cancel("bob", bob_job.id) == "cancelled"
            assert await api.jobs("bob") == []  # deleted (the stand-in keeps no pods to end)
            cancel_patch = [r.data for r in stand_in if r.method == "PATCH"
                            and r.name == job_name(bob_job) and r.subresource is None]
            assert cancel_patch == [{"metadata": {"labels": {CANCELLED_LABEL: "true"}}}]

            # Retention: finished jobs ended more than a week ago go (with the autoscaler).
            now = datetime(2026, 3, 8, 1, 0, tzinfo=UTC)  # a week after 01:00
            assert await api.cleanup(7 * 86400, now=now) == [job_name(adaptive)]
            assert [j["metadata"]["name"] for j in await api.jobs()] == [job_name(fixed)]
            later = datetime(2026, 3, 9, tzinfo=UTC)
            assert await api.cleanup(7 * 86400, now=later) == [job_name(fixed)]
            assert await api.jobs() == []
            deleted = sorted((r.url.path.split("/")[-2], r.name) for r in stand_in
                             if r.method == "DELETE")
            assert ("daskautoscalers", job_name(adaptive)) in deleted
            assert ("daskjobs", job_name(adaptive)) in deleted

    asyncio.run(scenario())

#!/usr/bin/env python3
"""Control-plane conformance: replays, byte for byte, the requests the reference Python client
(fireworks.training.sdk 1.2.x: DeploymentManager, TrainerJobManager, managed.py) sends, headers
included, against the standalone weightsync-fakeserver, and checks each answer against what the
reference reads from it. One function per row of the conformance table in fakeserver/README.md
(the row's "test" column names the function).

Standard library only: http.client sends exactly the headers given (the reference's httpx
defaults, Content-Type and X-Api-Key on every request, Authorization: Bearer on the gateway
calls) and the bodies as httpx serializes them (json.dumps with its default separators).

    python3 control_plane_conformance_test.py --server build/fakeserver/weightsync-fakeserver
"""

import argparse
import gzip
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse

ACCOUNT = "fake-account"
KEY = "fake-key"
BASE_MODEL = "accounts/fireworks/models/qwen3-8b"
# What httpx adds to every request of the reference client.
HTTPX_HEADERS = [("Accept", "*/*"), ("Accept-Encoding", "gzip, deflate"),
                 ("Connection", "keep-alive"), ("User-Agent", "python-httpx/0.28.1")]


class Server:
    def __init__(self, binary):
        config = {"timing": {"creationSeconds": 0.3, "hotloadStartupSeconds": 0.3,
                             "trainerStartupSeconds": 0.3, "deletionSeconds": 0.3,
                             "loadPendingSeconds": 0.01, "loadOverheadSeconds": 0.02,
                             "bandwidthBytesPerSecond": 1e9}}
        handle, self.config_path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(handle, "w") as f:
            json.dump(config, f)
        self.process = subprocess.Popen([binary, "--port", "0", "--config", self.config_path],
                                        stdout=subprocess.PIPE, text=True)
        first = self.process.stdout.readline().strip()
        if not first.startswith("listening on http://127.0.0.1:"):
            self.stop()
            raise SystemExit(f"unexpected first line from the server: {first!r}")
        self.port = int(first.rsplit(":", 1)[1])

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        os.unlink(self.config_path)


class Client:
    """Sends requests as the reference's _RestClient does."""

    def __init__(self, port):
        self.port = port

    def send(self, method, path, body=None, gateway=False, extra=(), key=KEY):
        headers = list(HTTPX_HEADERS)
        data = b""
        if body is not None:
            data = json.dumps(body).encode()
            headers.append(("Content-Length", str(len(data))))
        elif method in ("POST", "PATCH", "PUT"):
            headers.append(("Content-Length", "0"))
        # _RestClient._headers(): Content-Type and X-Api-Key always; the gateway calls pass
        # Authorization=Bearer as an extra.
        headers += [("Content-Type", "application/json"), ("X-Api-Key", key)]
        if gateway:
            headers.append(("Authorization", f"Bearer {key}"))
        headers += list(extra)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.putrequest(method, path, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            connection.endheaders(data or None)
            response = connection.getresponse()
            raw = response.read()
            # httpx asks for gzip and inflates it; so does this client.
            if response.getheader("Content-Encoding", "") == "gzip":
                raw = gzip.decompress(raw)
            text = raw.decode()
        finally:
            connection.close()
        return response.status, (json.loads(text) if text else None)

    def hotload(self, method, deployment, body=None):
        # DeploymentManager._hotload_headers()
        extra = [("fireworks-model", BASE_MODEL),
                 ("fireworks-deployment", f"accounts/{ACCOUNT}/deployments/{deployment}")]
        return self.send(method, "/hot_load/v1/models/hot_load", body, gateway=True, extra=extra)

    def control(self, path, body):
        status, answer = self.send("POST", f"/_fake/v1/accounts/{ACCOUNT}/{path}", body)
        expect(status == 200, f"control API {path}: {status} {answer}")
        return answer


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def wait_until(what, probe, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def jobs_path(suffix=""):
    return f"/v1/accounts/{ACCOUNT}/rlorTrainerJobs{suffix}"


def deployments_path(suffix=""):
    return f"/v1/accounts/{ACCOUNT}/deployments{suffix}"


# TrainerJobManager._build_trainer_create_payload, manual path.
TRAINER_BODY = {"serviceMode": True, "keepAlive": False, "dataset": "",
                "trainingConfig": {"baseModel": BASE_MODEL, "loraRank": 0, "learningRate": 1e-05,
                                   "maxContextLength": 4096},
                "nodeCount": 1}


def deployment_body(trainer_job):
    # DeploymentManager._build_deployment_body, as managed.py configures it.
    return {"baseModel": BASE_MODEL, "description": "Fireworks training deployment",
            "minReplicaCount": 1, "maxReplicaCount": 1, "enableHotLoad": True,
            "forTraining": True, "placement": {"region": "US_IOWA_1"},
            "hotLoadBucketType": "FW_HOSTED", "hotLoadTrainerJob": trainer_job,
            "deploymentShape": "accounts/fireworks/deploymentShapes/rft-qwen3-8b/versions/3",
            "extraArgs": ["--max-batch-size", "8"], "extraValues": {"k": "v"},
            "annotations": {"fireworks.ai/sdk-managed-rollout-deployment": "true"}}


def resolve_account(c):
    status, answer = c.send("GET", "/v1/accounts?pageSize=2")
    expect(status == 200, f"account list: {status} {answer}")
    expect(answer == {"accounts": [{"name": f"accounts/{ACCOUNT}"}]}, f"account list: {answer}")
    status, answer = c.send("GET", "/v1/accounts?pageSize=2", key="wrong-key")
    expect(status == 401 and answer["error"]["code"] == 401, f"unknown key: {status} {answer}")


def create_trainer_job(c, job_id="t1"):
    status, job = c.send("POST", jobs_path(f"?skipValidations=true&rlorTrainerJobId={job_id}"),
                         TRAINER_BODY)
    expect(status == 200, f"create trainer job: {status} {job}")
    expect(job["name"] == f"accounts/{ACCOUNT}/rlorTrainerJobs/{job_id}", f"name: {job}")
    expect(job["state"] == "JOB_STATE_CREATING", f"state: {job}")
    expect(job["trainingConfig"]["maxContextLength"] == 4096, f"trainingConfig: {job}")
    status, again = c.send("POST", jobs_path(f"?skipValidations=true&rlorTrainerJobId={job_id}"),
                           TRAINER_BODY)
    expect(status == 409, f"second create: {status} {again}")


def get_trainer_job(c, job_id="t1"):
    wait_until("JOB_STATE_RUNNING",
               lambda: c.send("GET", jobs_path(f"/{job_id}"))[1]["state"] == "JOB_STATE_RUNNING")
    status, answer = c.send("GET", jobs_path("/missing"))
    expect(status == 404, f"missing job: {status} {answer}")


def trainer_healthz(c, job_id="t1"):
    path = f"/training/v1/rlorTrainerJobs/{ACCOUNT}/{job_id}/api/v1/healthz"
    status, answer = c.send("GET", path, gateway=True)
    expect(status == 200, f"healthz of a running job: {status} {answer}")


def resume_trainer_job(c):
    status, answer = c.send("POST", jobs_path("/t1:resume"))
    expect(status == 400 and "JOB_STATE_FAILED" in answer["error"]["message"],
           f"resume of a running job: {status} {answer}")
    plan = {"faults": [{"fault": "trainer_failed", "atSeconds": 0,
                        "trainer": f"accounts/{ACCOUNT}/rlorTrainerJobs/t1",
                        "message": "preempted"}]}
    status, answer = c.send("PUT", "/_fake/v1/faults", plan)
    expect(status == 200, f"fault plan: {status} {answer}")
    job = c.send("GET", jobs_path("/t1"))[1]
    expect(job["state"] == "JOB_STATE_FAILED" and job["status"]["message"] == "preempted",
           f"failed job: {job}")
    status, job = c.send("POST", jobs_path("/t1:resume"))
    expect(status == 200 and job["state"] == "JOB_STATE_CREATING", f"resume: {status} {job}")
    get_trainer_job(c)
    c.send("DELETE", "/_fake/v1/faults")


def delete_trainer_job(c):
    create_trainer_job(c, "t3")
    status, answer = c.send("DELETE", jobs_path("/t3"))
    expect(status == 200 and answer == {}, f"delete job: {status} {answer}")
    job = c.send("GET", jobs_path("/t3"))[1]
    expect(job["state"] == "JOB_STATE_DELETED", f"deleted job: {job}")


def create_deployment(c, trainer_job):
    path = deployments_path("?deploymentId=d&skipShapeValidation=true"
                            "&disableSpeculativeDecoding=true")
    status, d = c.send("POST", path, deployment_body(trainer_job))
    expect(status == 200, f"create deployment: {status} {d}")
    expect(d["state"] == "CREATING" and d["hotLoadTrainerJob"] == trainer_job, f"deployment: {d}")
    expect(d["hotLoadBucketUrl"].endswith(f"/rlorTrainerJobs/{trainer_job.rsplit('/', 1)[1]}"),
           f"bucket: {d}")
    status, again = c.send("POST", deployments_path("?deploymentId=d"), deployment_body(trainer_job))
    expect(status == 409, f"second create: {status} {again}")


def get_deployment(c):
    wait_until("READY", lambda: c.send("GET", deployments_path("/d"))[1]["state"] == "READY")
    status, answer = c.send("GET", deployments_path("/missing"))
    expect(status == 404, f"missing deployment: {status} {answer}")


def probe_inference(c):
    # DeploymentManager._probe_inference and warmup(): the same token-in request.
    body = {"model": f"accounts/{ACCOUNT}/deployments/d", "prompt": [1, 2], "max_tokens": 4,
            "temperature": 0.0}
    status, answer = wait_until(
        "a completion", lambda: (lambda r: r if r[0] == 200 else None)(
            c.send("POST", "/inference/v1/completions", body, gateway=True)))
    expect(answer["choices"], f"completion: {answer}")


def status_identity(c):
    # DeploymentManager._read_replica_identity
    status, answer = c.hotload("GET", "d")
    expect(status == 200 and isinstance(answer["replicas"], list), f"status: {status} {answer}")
    if not answer["replicas"]:
        return None
    replica = answer["replicas"][0]
    return replica.get("current_snapshot_identity") or replica.get("identity")


def hotload_and_wait(c, trainer_id, name):
    c.control(f"trainers/{trainer_id}:step", {"steps": 1})
    snapshot = c.control(f"trainers/{trainer_id}:saveWeightsForSampler",
                         {"name": name, "checkpointType": "base"})["snapshotName"]
    status, answer = c.hotload("POST", "d", {"identity": snapshot, "reset_prompt_cache": True})
    expect(status == 200, f"hotload: {status} {answer}")

    def loaded():
        replicas = c.hotload("GET", "d")[1]["replicas"]
        return replicas and all(r["readiness"] and r["current_snapshot_identity"] == snapshot
                                for r in replicas)
    wait_until(f"{snapshot} served", loaded)


def reattach_trainer(c):
    create_trainer_job(c, "t2")
    get_trainer_job(c, "t2")
    before = status_identity(c)
    expect(before is not None, "no replica before the re-attach")
    status, d = c.send("PATCH", deployments_path("/d?updateMask=hot_load_trainer_job"),
                       {"hotLoadTrainerJob": f"accounts/{ACCOUNT}/rlorTrainerJobs/t2"})
    expect(status == 200 and d["hotLoadTrainerJob"].endswith("/t2"), f"re-attach: {status} {d}")
    after = wait_until("a new replica identity",
                       lambda: (lambda i: i if i is not None and i != before else None)(
                           status_identity(c)))
    expect(after != before, f"identity {before} -> {after}")


def update_with_mask(c):
    # DeploymentManager.update(): httpx encodes params, so the comma arrives as %2C.
    mask = urllib.parse.urlencode({"updateMask": "min_replica_count,max_replica_count"})
    status, d = c.send("PATCH", deployments_path(f"/d?{mask}"),
                       {"minReplicaCount": 2, "maxReplicaCount": 2})
    expect(status == 200 and d["maxReplicaCount"] == 2, f"update: {status} {d}")
    wait_until("two replicas", lambda: len(c.hotload("GET", "d")[1]["replicas"]) == 2)
    status, d = c.send("PATCH", deployments_path("/d?updateMask=hotLoadTransitionType"),
                       {"hotLoadTransitionType": "SYNC"})
    expect(status == 200 and d["hotLoadTransitionType"] == "SYNC", f"camelCase mask: {d}")
    status, answer = c.send("PATCH", deployments_path("/d?updateMask=replica_count"),
                            {"minReplicaCount": 1})
    expect(status == 400 and "replica_count" in answer["error"]["message"],
           f"unknown mask: {status} {answer}")


def scale_to_zero(c):
    status, d = c.send("PATCH", deployments_path("/d"), {"maxReplicaCount": 0, "minReplicaCount": 0})
    expect(status == 200 and d["maxReplicaCount"] == 0, f"scale to zero: {status} {d}")
    expect(c.hotload("GET", "d")[1] == {"replicas": []}, "replicas after scaling to zero")
    status, answer = c.send("POST", "/inference/v1/completions",
                            {"model": f"accounts/{ACCOUNT}/deployments/d", "prompt": [1, 2],
                             "max_tokens": 4, "temperature": 0.0}, gateway=True)
    expect(status == 503, f"completion with no replica: {status} {answer}")
    status, d = c.send("PATCH", deployments_path("/d?updateMask=min_replica_count%2Cmax_replica_count"),
                       {"minReplicaCount": 1, "maxReplicaCount": 1})
    expect(status == 200, f"scale up: {status} {d}")
    wait_until("a base replica", lambda: status_identity(c) is not None)


def delete_deployment(c):
    status, d = c.send("DELETE", deployments_path("/d?ignoreChecks=true&hard=true"))
    expect(status == 200 and d["state"] == "DELETING", f"delete: {status} {d}")
    # DeploymentManager._wait_for_deletion: until 404 or DELETED.
    wait_until("the deployment gone", lambda: c.send("GET", deployments_path("/d"))[0] == 404)


def deployment_failed(c, trainer_job):
    plan = {"faults": [{"fault": "deployment_failed", "count": 1, "message": "no capacity"}]}
    expect(c.send("PUT", "/_fake/v1/faults", plan)[0] == 200, "fault plan")
    expect(c.send("POST", deployments_path("?deploymentId=f"), deployment_body(trainer_job))[0]
           == 200, "create f")
    d = wait_until("FAILED", lambda: (lambda d: d if d["state"] == "FAILED" else None)(
        c.send("GET", deployments_path("/f"))[1]))
    expect(d["status"]["message"] == "no capacity", f"failed deployment: {d}")
    c.send("DELETE", "/_fake/v1/faults")


ROWS = [
    ("resolve_account", lambda c, s: resolve_account(c)),
    ("create_trainer_job", lambda c, s: create_trainer_job(c)),
    ("get_trainer_job", lambda c, s: get_trainer_job(c)),
    ("trainer_healthz", lambda c, s: trainer_healthz(c)),
    ("resume_trainer_job", lambda c, s: resume_trainer_job(c)),
    ("delete_trainer_job", lambda c, s: delete_trainer_job(c)),
    ("create_deployment", lambda c, s: create_deployment(c, s["job"])),
    ("get_deployment", lambda c, s: get_deployment(c)),
    ("probe_inference", lambda c, s: probe_inference(c)),
    ("hotload_and_wait", lambda c, s: (wait_until("replicas", lambda: status_identity(c)),
                                       hotload_and_wait(c, "t1", "step-1"))),
    ("reattach_trainer", lambda c, s: reattach_trainer(c)),
    ("update_with_mask", lambda c, s: update_with_mask(c)),
    ("scale_to_zero", lambda c, s: scale_to_zero(c)),
    ("delete_deployment", lambda c, s: delete_deployment(c)),
    ("deployment_failed", lambda c, s: deployment_failed(c, s["job"])),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="path to weightsync-fakeserver")
    args = parser.parse_args()
    server = Server(args.server)
    failures = 0
    try:
        client = Client(server.port)
        state = {"job": f"accounts/{ACCOUNT}/rlorTrainerJobs/t1"}
        for name, row in ROWS:
            try:
                row(client, state)
                print(f"ok   {name}")
            except AssertionError as e:
                failures += 1
                print(f"FAIL {name}: {e}")
    finally:
        server.stop()
    print(f"{len(ROWS) - failures}/{len(ROWS)} control-plane rows conform")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

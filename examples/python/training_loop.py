#!/usr/bin/env python3
"""A save-and-hotload training loop against weightsync-fakeserver, with the standard library only.

It makes the same HTTP calls the reference Python SDK makes (account resolution, deployment
create/get, hotload POST and status GET with the fireworks-model / fireworks-deployment headers,
completions warmup), drives a fake trainer through the fake's control API (/_fake/v1/...),
injects faults with a fault plan, and checks after every sync that every replica serves exactly
the trainer's weights (by checksum). It keeps the delta chain sound itself: a delta is saved only
when the deployment is known to serve the snapshot the delta is computed from; after any failed
or unverifiable hotload the next save is a base.

    python3 training_loop.py --url http://127.0.0.1:PORT --api-key fake-key --steps 12
"""

import argparse
import http.client
import json
import sys
import time
import urllib.error
import urllib.request

RETRYABLE = {408, 425, 429, 500, 502, 503, 504}
BASE_MODEL = "accounts/fireworks/models/qwen3-8b"


class ApiError(Exception):
    def __init__(self, status, body, what):
        super().__init__(f"{what}: HTTP {status}: {body[:300]}")
        self.status = status


class Client:
    """One HTTP exchange at a time, retrying 5xx and lost connections with backoff."""

    def __init__(self, url, api_key, attempts=5):
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.attempts = attempts
        self.retries = 0

    def call(self, method, path, body=None, headers=None, what=None):
        what = what or f"{method} {path}"
        data = None if body is None else json.dumps(body).encode()
        all_headers = {"Authorization": f"Bearer {self.api_key}"}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        delay = 0.05
        for attempt in range(self.attempts):
            if attempt:
                self.retries += 1
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
            request = urllib.request.Request(self.url + path, data, all_headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    text = response.read().decode()
                    return json.loads(text) if text.startswith("{") else text
            except urllib.error.HTTPError as e:
                text = e.read().decode(errors="replace")
                if e.code not in RETRYABLE or attempt == self.attempts - 1:
                    raise ApiError(e.code, text, what) from None
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError) as e:
                # A reset connection or a truncated answer: nothing usable arrived.
                if attempt == self.attempts - 1:
                    raise ApiError(0, str(e), what) from None
        raise AssertionError("unreachable")


class Deployment:
    """The deployment API, as the reference SDK's DeploymentManager uses it."""

    def __init__(self, client, account, deployment_id):
        self.client = client
        self.account = account
        self.id = deployment_id
        self.name = f"accounts/{account}/deployments/{deployment_id}"
        self.hotload_headers = {"fireworks-model": BASE_MODEL, "fireworks-deployment": self.name}

    def create_or_get(self, trainer_job, replicas):
        body = {"baseModel": BASE_MODEL, "minReplicaCount": replicas,
                "maxReplicaCount": replicas, "enableHotLoad": True,
                "hotLoadTrainerJob": trainer_job}
        try:
            return self.client.call(
                "POST", f"/v1/accounts/{self.account}/deployments?deploymentId={self.id}", body)
        except ApiError as e:
            if e.status != 409:
                raise
            return self.client.call("GET", f"/v1/accounts/{self.account}/deployments/{self.id}")

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            d = self.client.call("GET", f"/v1/accounts/{self.account}/deployments/{self.id}")
            if d["state"] == "READY":
                return d
            time.sleep(0.05)
        raise TimeoutError(f"deployment {self.name} not READY after {timeout} s")

    def status(self):
        return self.client.call("GET", "/hot_load/v1/models/hot_load",
                                headers=self.hotload_headers, what="hotload status")

    def wait_hotload_manager(self, timeout=30):
        # Hotloading before the manager lists replicas crashes a real deployment.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status()["replicas"]:
                return
            time.sleep(0.05)
        raise TimeoutError(f"hotload manager of {self.name} not up after {timeout} s")

    def hotload(self, identity, previous=None):
        body = {"identity": identity, "reset_prompt_cache": True}
        if previous:
            body["incremental_snapshot_metadata"] = {
                "previous_snapshot_identity": previous, "compression_format": "arc_v2",
                "checksum_format": "alder32"}
        self.client.call("POST", "/hot_load/v1/models/hot_load", body,
                         headers=self.hotload_headers, what=f"hotload {identity}")

    def wait_hotload(self, identity, timeout=20):
        """True when every replica is ready and serves identity; False on a load error."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            replicas = self.status()["replicas"]
            for r in replicas:
                stage = r["loading_state"]
                if stage["stage"] == "error" and stage["target_snapshot_identity"] == identity:
                    print(f"  replica {r['identity']}: load of {identity} failed")
                    return False
            if replicas and all(r["readiness"] and r["current_snapshot_identity"] == identity
                                for r in replicas):
                return True
            time.sleep(0.02)
        print(f"  hotload of {identity} not done after {timeout} s")
        return False

    def warmup(self, attempts=10):
        body = {"model": self.name, "prompt": [1, 2, 3, 4], "max_tokens": 1, "temperature": 0.0}
        for _ in range(attempts):
            try:
                self.client.call("POST", "/inference/v1/completions", body, what="warmup")
                return True
            except ApiError as e:
                print(f"  warmup: {e}")
                time.sleep(0.05)
        return False


class Trainer:
    """The fake trainer, through the control API."""

    def __init__(self, client, account, trainer_id, params):
        self.client = client
        self.path = f"/_fake/v1/accounts/{account}/trainers/{trainer_id}"
        created = client.call("POST", f"/_fake/v1/accounts/{account}/trainers",
                              {"trainerId": trainer_id, "modelParams": params})
        self.job = created["name"]
        self.checksum = None

    def step(self):
        self.checksum = self.client.call("POST", self.path + ":step", {"steps": 1})["checksum"]

    def save(self, name, kind):
        return self.client.call("POST", self.path + ":saveWeightsForSampler",
                                {"name": name, "checkpointType": kind})


# Scripted faults, each met by the loop: a rejected and a lost hotload POST are retried (the
# server treats a resubmitted identity as the same load), failed loads make the next save a
# base, warmup is retried, a slow or truncated status poll is retried.
FAULT_PLAN = {
    "seed": 7,
    "faults": [
        {"fault": "hotload_rejected", "count": 1, "after": 1, "status": 503},
        {"fault": "connection_reset", "count": 1, "processed": False, "method": "POST",
         "path": "/hot_load/"},
        {"fault": "load_error", "count": 1, "after": 6},
        {"fault": "partial_rollout", "count": 1, "after": 6, "replica": 1},
        {"fault": "delta_parent_mismatch", "count": 1, "after": 3},
        {"fault": "warmup_unavailable", "count": 2, "after": 2},
        {"fault": "latency", "probability": 0.2, "delaySeconds": 0.05, "method": "GET"},
        {"fault": "truncated_body", "count": 1, "after": 5, "method": "GET", "path": "/hot_load/"},
    ],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--params", type=int, default=64 * 1024)
    args = parser.parse_args()
    client = Client(args.url, args.api_key)

    accounts = client.call("GET", "/v1/accounts?pageSize=2")["accounts"]
    account = accounts[0]["name"].split("/", 1)[1]
    print(f"account {account}")
    trainer = Trainer(client, account, "py-trainer", args.params)
    deployment = Deployment(client, account, "py-deployment")
    deployment.create_or_get(trainer.job, args.replicas)
    deployment.wait_ready()
    deployment.wait_hotload_manager()
    client.call("PUT", "/_fake/v1/faults", FAULT_PLAN)

    served = None       # the snapshot every replica is known to serve (the chain's base)
    last_saved = None   # the trainer's previous sampler snapshot: what a delta is diffed against
    failures = 0
    for step in range(1, args.steps + 1):
        trainer.step()
        kind = "delta" if served and served == last_saved else "base"
        saved = trainer.save(f"step-{step}", kind)
        identity = saved["snapshotName"]
        last_saved = identity
        assert saved["checksum"] == trainer.checksum, "the save must hold the trainer's weights"
        try:
            deployment.hotload(identity, previous=served if kind == "delta" else None)
            ok = deployment.wait_hotload(identity)
        except ApiError as e:
            print(f"  {e}")
            ok = False
        if not ok:
            failures += 1
            served = None  # unknown now: the next save is a base
            print(f"step {step}: {kind} {identity} not synced; the next save is a base")
            continue
        served = identity
        warm = deployment.warmup()
        replicas = client.call(
            "GET", f"/_fake/v1/accounts/{account}/deployments/{deployment.id}/replicas")
        checksums = {r["servedChecksum"] for r in replicas["replicas"]}
        if checksums != {trainer.checksum}:
            print(f"step {step}: replicas serve {checksums}, trainer has {trainer.checksum}")
            return 1
        print(f"step {step}: {kind} {identity} served by {len(replicas['replicas'])} replicas"
              f" (checksum {trainer.checksum}, warmup {'ok' if warm else 'failed'})")

    log = client.call("GET", "/_fake/v1/faults/log?format=text")
    print(log, end="")
    fired = client.call("GET", "/_fake/v1/faults/log")["events"]
    kinds = {e["fault"] for e in fired}
    expected = {f["fault"] for f in FAULT_PLAN["faults"] if "count" in f}
    if not expected <= kinds:
        print(f"faults that never fired: {sorted(expected - kinds)}")
        return 1
    if served is None:
        print("the last sync failed; the loop must end on a served snapshot")
        return 1
    print(f"ok: {args.steps} steps, {failures} failed syncs recovered, {client.retries} retries")
    return 0


if __name__ == "__main__":
    sys.exit(main())

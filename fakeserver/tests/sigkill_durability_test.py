#!/usr/bin/env python3
"""SIGKILL while saving loses no acknowledged snapshot (docs/SPEC.md invariant 9, across a crash).

Rounds of: start weightsync-fakeserver with --state-dir; a client thread saves sampler snapshots
(bases and deltas) as fast as it can through the control API and records every save the server
acknowledged (HTTP 200) with its checksum; after a random delay drawn from the seed the server is
killed with SIGKILL. After the last round the server starts once more on the same --state-dir and
every acknowledged snapshot must be listed in the trainer's bucket with the same checksum, its
bytes verified (a delta rebuilt through its parents).

What survives a crash: bucket objects (every acknowledged save was fsynced before the answer).
What does not: trainers (sessions, live weights, DCP checkpoints), deployments, fault plans.
After a restart the same trainer id can be created again; it writes into the same bucket.

    python3 sigkill_durability_test.py --server build/fakeserver/weightsync-fakeserver --seed 5
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ACCOUNT = "fake-account"
KEY = "fake-key"
TRAINER = f"/_fake/v1/accounts/{ACCOUNT}/trainers"


def call(url, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data, {"Authorization": f"Bearer {KEY}"},
                                     method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read().decode())


def start(server, state_dir, seed):
    process = subprocess.Popen([server, "--port", "0", "--state-dir", state_dir,
                                "--seed", str(seed)], stdout=subprocess.PIPE, text=True)
    first = process.stdout.readline().strip()
    if not first.startswith("listening on http://127.0.0.1:"):
        process.kill()
        raise SystemExit(f"unexpected first line from the server: {first!r}")
    return process, first[len("listening on "):]


def save_until_killed(url, round_number, acknowledged, stop):
    """Steps and saves until the server goes away; records every acknowledged save."""
    try:
        try:
            call(url, "POST", TRAINER, {"trainerId": "t1", "modelParams": 64 * 1024})
        except urllib.error.HTTPError as e:
            if e.code != 409:
                raise
        saves = 0
        while not stop.is_set():
            call(url, "POST", f"{TRAINER}/t1:step", {"steps": 1})
            kind = "base" if saves % 5 == 0 else "delta"
            saved = call(url, "POST", f"{TRAINER}/t1:saveWeightsForSampler",
                         {"name": f"r{round_number}-s{saves}", "checkpointType": kind})
            acknowledged[saved["snapshotName"]] = saved["checksum"]
            saves += 1
    except (urllib.error.URLError, ConnectionError, OSError):
        pass  # the server was killed mid-request: that save was never acknowledged


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"seed {args.seed}")
    rng = random.Random(args.seed)
    acknowledged = {}
    with tempfile.TemporaryDirectory() as state_dir:
        for round_number in range(args.rounds):
            process, url = start(args.server, state_dir, args.seed + round_number)
            stop = threading.Event()
            saver = threading.Thread(target=save_until_killed,
                                     args=(url, round_number, acknowledged, stop))
            saver.start()
            time.sleep(rng.uniform(0.3, 1.0))
            process.send_signal(signal.SIGKILL)
            process.wait()
            stop.set()
            saver.join()
            print(f"round {round_number}: killed with {len(acknowledged)} acknowledged saves")
        process, url = start(args.server, state_dir, args.seed + args.rounds)
        try:
            listed = call(url, "GET", f"{TRAINER}/t1/snapshots")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
    if listed["live"]:
        print("the trainer should not be live after a restart (trainers are in memory only)")
        return 1
    found = {s["name"]: s for s in listed["snapshots"]}
    lost = [name for name in acknowledged if name not in found]
    wrong = [name for name in acknowledged
             if name in found and found[name]["checksum"] != acknowledged[name]]
    unverified = [s["name"] for s in listed["snapshots"] if not s["verified"]]
    print(f"{len(acknowledged)} acknowledged, {len(found)} in the bucket after restart")
    if not acknowledged:
        print(f"no save was acknowledged before the kills (seed {args.seed})")
        return 1
    if lost or wrong or unverified:
        print(f"seed {args.seed}: lost {lost[:5]}, wrong checksum {wrong[:5]}, "
              f"unverifiable {unverified[:5]}")
        return 1
    print("ok: no acknowledged snapshot lost")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Conformance of the completions route with the reference DeploymentSampler, standard library
only: each case replays the exact request that sampler sends (its headers, including the ones
its HTTP client adds, and its body) against weightsync-fakeserver and reads the answer the way
the sampler does (examples/python/sse_client.py). Run through run_with_server.py, which passes
--url and --api-key.
"""

import argparse
import http.client
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "examples", "python"))
from sse_client import (StreamError, open_stream, read_stream, sampler_headers,  # noqa: E402
                        sampler_payload, stream_completion)
from training_loop import BASE_MODEL, Client, Deployment  # noqa: E402

# What the reference's HTTP client (httpx) adds to every request.
CLIENT_HEADERS = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate",
                  "Connection": "keep-alive", "User-Agent": "python-httpx/0.28.1"}
# The headers ServerMetrics.from_headers reads, and whether each is an integer.
METRIC_HEADERS = {"num-concurrent-requests": int, "prefill-queue-duration": float,
                  "generation-queue-duration": float, "server-time-to-first-token": float,
                  "cached-prompt-tokens": int, "prompt-tokens": int}

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print(f"FAIL {what}")


def reference_headers(api_key, request_id):
    return {**CLIENT_HEADERS, **sampler_headers(api_key, request_id)}


def post(url, api_key, body):
    """A whole (non-streamed) POST with the reference headers: (status, headers, body)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = reference_headers(api_key, "conformance")
    headers["Accept-Encoding"] = "identity"  # read the body as sent
    connection.request("POST", "/inference/v1/completions", body, headers)
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, text


def case_stream(url, key, model):
    """async_completions_stream with logprobs=True, as _do_one_completion calls it."""
    body = sampler_payload(model, [151644, 872, 198, 9707], 16, logprobs=True)
    connection, response = open_stream(url, body, reference_headers(key, "lr-stream-1"))
    try:
        check(response.getheader("Content-Type", "").startswith("text/event-stream"),
              "stream: Content-Type text/event-stream")
        s = read_stream(response)
    finally:
        connection.close()
    check(s.done, "stream: ends with data: [DONE]")
    check(s.headers.get("x-request-id") == "lr-stream-1", "stream: x-request-id echoed")
    for name, kind in METRIC_HEADERS.items():
        value = s.headers.get(name)
        check(value is not None and isinstance(kind(float(value)), kind),
              f"stream: header {name} present and numeric, got {value!r}")
    tokens = s.tokens()
    check(0 < len(tokens) <= 16, "stream: raw_output.completion_token_ids has 1..max_tokens ids")
    check(s.raw_output[0].get("prompt_token_ids") == [151644, 872, 198, 9707],
          "stream: raw_output.prompt_token_ids is the prompt")
    check(s.finish_reason.get(0) in ("stop", "length"), "stream: finish_reason stop or length")
    entries = s.logprobs.get(0, [])
    check(len(entries) == len(tokens), "stream: one logprobs.content entry per token")
    check(all(isinstance(e.get("logprob"), float) and isinstance(e.get("sampling_logprob"), float)
              for e in entries), "stream: every entry has logprob and sampling_logprob")
    check(all(abs(e["logprob"] - e["sampling_logprob"]) < 1e-9 for e in entries),
          "stream: full-distribution sampling_logprob equals logprob")
    check(s.usage and s.usage["completion_tokens"] == len(tokens), "stream: usage in last chunk")
    m = s.perf_metrics or {}
    for name, kind in METRIC_HEADERS.items():
        check(name in m and isinstance(kind(float(m[name])), kind),
              f"stream: perf_metrics[{name}] numeric")
    check(isinstance(float(m.get("server-processing-time", "x")), float),
          "stream: perf_metrics server-processing-time")
    text = "".join(" t%d" % t for t in tokens if t != 0)
    check(s.text.get(0) == text, "stream: text deltas add up to the detokenized ids")
    return m


def case_provenance(url, key, model, replicas):
    """Every completion names its replica and snapshot; two replicas on one snapshot agree."""
    seen = {}
    for _ in range(2 * replicas):
        s = stream_completion(url, key, sampler_payload(model, [5, 6], 10, seed=77))
        m = s.perf_metrics
        check(m["weightsync-snapshot-identity"] == s.headers["x-weightsync-snapshot-identity"],
              "provenance: perf_metrics and header name the same snapshot")
        seen.setdefault(m["weightsync-replica"], set()).add(tuple(s.tokens()))
    check(len(seen) == replicas, f"provenance: completions from all {replicas} replicas")
    check(len(set().union(*seen.values())) == 1,
          "provenance: the same snapshot, prompt and seed give the same tokens on every replica")


def case_whole(url, key, model):
    """The non-streamed form: the same tokens for the same seed."""
    streamed = stream_completion(url, key, sampler_payload(model, [9, 8, 7], 12, seed=5))
    body = sampler_payload(model, [9, 8, 7], 12, seed=5, stream=False)
    status, headers, text = post(url, key, json.dumps(body))
    check(status == 200, f"whole: 200, got {status}")
    check(headers.get("content-type", "").startswith("application/json"), "whole: JSON")
    choice = json.loads(text)["choices"][0]
    check(choice["raw_output"]["completion_token_ids"] == streamed.tokens(),
          "whole: same tokens as the stream for the same seed")


def case_sync_loading(client, url, key, account, job):
    """425 while a SYNC deployment loads; the sampler's hotload retry then gets its stream."""
    deployment = Deployment(client, account, "conformance-sync")
    body = {"baseModel": BASE_MODEL, "minReplicaCount": 1, "maxReplicaCount": 1,
            "enableHotLoad": True, "hotLoadTrainerJob": job, "hotLoadTransitionType": "SYNC"}
    client.call("POST", f"/v1/accounts/{account}/deployments?deploymentId={deployment.id}", body)
    deployment.wait_ready()
    deployment.wait_hotload_manager()
    trainer_path = f"/_fake/v1/accounts/{account}/trainers/{job.rsplit('/', 1)[1]}"
    saved = client.call("POST", trainer_path + ":saveWeightsForSampler",
                        {"name": "sync-1", "checkpointType": "base"})
    deployment.hotload(saved["snapshotName"])
    statuses = []
    for _ in range(200):
        try:
            s = stream_completion(url, key, sampler_payload(deployment.name, [1], 4))
            break
        except StreamError as e:
            statuses.append(e.status)
            time.sleep(0.01)
    check(425 in statuses, f"sync: 425 while loading, saw {sorted(set(statuses))}")
    check(set(statuses) <= {425}, "sync: nothing but 425 before the load lands")
    check(s.perf_metrics["weightsync-snapshot-identity"] == saved["snapshotName"],
          "sync: the first answer after the load comes from the new snapshot")


def case_bad_requests(url, key, model):
    cases = [
        ("{", 400, "expected a JSON document"),
        (json.dumps({"model": model, "prompt": {"a": 1}}), 400, "prompt"),
        (json.dumps({"model": model, "prompt": [1, "x"]}), 400, "prompt[1]"),
        (json.dumps({"model": model, "prompt": [1], "n": 99}), 400, "n: expected"),
        (json.dumps({"model": model, "prompt": [1], "max_tokens": 99999}), 400, "max_tokens"),
        (json.dumps({"model": model, "prompt": [1], "images": ["data:"]}), 400, "images"),
        (json.dumps({"model": model + "x", "prompt": [1]}), 404, "not found"),
    ]
    for body, status, text in cases:
        got, headers, answer = post(url, key, body)
        message = json.loads(answer).get("error", {}).get("message", "")
        check(got == status and text in message,
              f"bad request {body[:40]}: {status} naming '{text}', got {got} {message!r}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--api-key", required=True)
    args = parser.parse_args()
    client = Client(args.url, args.api_key)
    account = client.call("GET", "/v1/accounts?pageSize=2")["accounts"][0]["name"].split("/")[1]
    created = client.call("POST", f"/_fake/v1/accounts/{account}/trainers",
                          {"trainerId": "conformance", "modelParams": 4096})
    job = created["name"]
    deployment = Deployment(client, account, "conformance")
    deployment.create_or_get(job, 2)
    deployment.wait_ready()
    deployment.wait_hotload_manager()
    saved = client.call("POST", f"/_fake/v1/accounts/{account}/trainers/conformance"
                        ":saveWeightsForSampler", {"name": "c1", "checkpointType": "base"})
    deployment.hotload(saved["snapshotName"])
    check(deployment.wait_hotload(saved["snapshotName"]), "setup: snapshot loaded")

    m = case_stream(args.url, args.api_key, deployment.name)
    check(m.get("weightsync-snapshot-identity") == saved["snapshotName"],
          "stream: perf_metrics names the served snapshot")
    case_provenance(args.url, args.api_key, deployment.name, 2)
    case_whole(args.url, args.api_key, deployment.name)
    case_sync_loading(client, args.url, args.api_key, account, job)
    case_bad_requests(args.url, args.api_key, deployment.name)
    if failures:
        print(f"{len(failures)} conformance checks failed")
        return 1
    print("ok: the completions route answers the reference sampler's requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())

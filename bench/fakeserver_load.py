#!/usr/bin/python3
"""Latency and load of weightsync-fakeserver over loopback, measured from Python.

    python3 bench/fakeserver_load.py latency --server build/fakeserver/weightsync-fakeserver
    python3 bench/fakeserver_load.py load --server build/fakeserver/weightsync-fakeserver \
        --clients 1,8,64,256,1024 --seconds 5 --streams 0 --out load.json

Each run starts its own server (`--port 0`, 127.0.0.1) with one account, one trainer and a ready
2-replica deployment attached to it, and stops it at the end. Both modes print one JSON document
(also written to --out).

latency: an httpx client with a kept-alive connection, as a user of the reference SDK would
  make, sends --requests hotload status GETs and as many small completions (4 prompt tokens,
  1 token out), one at a time; reports p50, p99 and mean per kind, for httpx.Client and for
  httpx.AsyncClient.

load: for each client count, that many keep-alive connections (asyncio streams, hand-written
  HTTP/1.1, so that the Python side costs little per request) each alternate a hotload status
  GET and a small completion for --seconds, while a control loop steps the trainer, saves, POSTs
  a hotload and polls its status. A row per count: requests/s, p50, p99, errors (non-200
  answers, resets, timeouts), the control requests' p50/p99, reconnects (the server closing a
  kept-alive connection), and open streams. A completion answered 503 while both replicas load
  (the fake's documented answer) is counted apart, not as an error. From the server's /metrics:
  the fraction of the level's wall time the fake's one lock was held (near 1: the lock bounds
  throughput), and the mean wait for it and hold of it per request. With --streams N, N of the
  clients instead hold "stream": true completions of --stream-tokens tokens open, the fake
  pacing them at --token-interval per token: each reads its stream's server-sent events to
  `data: [DONE]` (a stream ending without it is an error) and opens the next one on the same
  connection. A stream is open from its answer's headers to its last byte; open_streams is the
  mean number open, sampled every 50 ms. Streams are kept out of requests/s, p50 and p99 (those
  are the small requests); their whole duration has stream_p50_ms/stream_p99_ms. If the server
  answers such a request with a plain JSON body, the row says streaming_supported: false and
  the stream clients count as ordinary completion requests. Every level is bounded by --seconds
  and --max-requests.

  --client cpp runs the same experiment with the C++ client weightsync_bench_fakeserver_load
  (bench/fakeserver_load.cc: one Asio/Beast thread for the load, no thread per connection, and
  one for the control loop, as the trainer is another process) against the server
  this script started and set up; it prints the same rows. At 1,024 connections the Python client
  saturates its own core, so its numbers then measure the client. --server-cpu and --client-cpu
  pin the server and the client (this script, or the C++ client) to one CPU each.
"""

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ACCOUNT, API_KEY = "bench", "bench-key"
TRAINER, DEPLOYMENT = "t1", "d1"
BASE_MODEL = "accounts/fireworks/models/qwen3-8b"
DEPLOYMENT_NAME = f"accounts/{ACCOUNT}/deployments/{DEPLOYMENT}"
HOTLOAD_PATH = "/hot_load/v1/models/hot_load"
COMPLETIONS_PATH = "/inference/v1/completions"
HOTLOAD_HEADERS = {"fireworks-model": BASE_MODEL, "fireworks-deployment": DEPLOYMENT_NAME}
CONFIG = {
    "accounts": [{"id": ACCOUNT, "apiKey": API_KEY}],
    "trainers": [{"account": ACCOUNT, "trainerId": TRAINER, "modelParams": 4096}],
    "deployments": [{"account": ACCOUNT, "id": DEPLOYMENT, "baseModel": BASE_MODEL,
                     "replicas": 2,
                     "hotLoadTrainerJob": f"accounts/{ACCOUNT}/rlorTrainerJobs/{TRAINER}"}],
    "timing": {"creationSeconds": 0.05, "hotloadStartupSeconds": 0.05,
               "loadPendingSeconds": 0.005, "loadOverheadSeconds": 0.005,
               "bandwidthBytesPerSecond": 1e9},
}


def completion_body(stream=False, tokens=1):
    body = {"model": DEPLOYMENT_NAME, "prompt": [1, 2, 3, 4], "max_tokens": tokens,
            "temperature": 0.0}
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


def percentile(values, fraction):
    """Nearest-rank percentile in milliseconds of values in seconds; None if there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(fraction * 1000) * len(ordered) // 1000))
    return round(ordered[min(rank, len(ordered)) - 1] * 1000, 3)


def pin(cpu):
    """A preexec_fn that pins the child to cpu (None: no pinning)."""
    return None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))


def start_server(server, tmp, extra, token_interval, cpu=None):
    config_path = os.path.join(tmp, "bench-config.json")
    config = json.loads(json.dumps(CONFIG))
    config["timing"]["tokenIntervalSeconds"] = token_interval
    with open(config_path, "w") as f:
        json.dump(config, f)
    process = subprocess.Popen([server, "--host", "127.0.0.1", "--port", "0", "--config",
                                config_path, *extra], stdout=subprocess.PIPE, text=True,
                               preexec_fn=pin(cpu))
    first = process.stdout.readline().strip()
    prefix = "listening on http://127.0.0.1:"
    if not first.startswith(prefix):
        process.kill()
        raise SystemExit(f"unexpected first line from {server}: {first!r}")
    return process, int(first[len(prefix):])


def stop_server(process):
    process.send_signal(signal.SIGTERM)
    try:
        status = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise SystemExit("the server did not stop within 30 s of SIGTERM")
    if status != 0:
        raise SystemExit(f"the server exited with status {status} on SIGTERM, expected 0")


def wait_ready(port):
    """Waits (stdlib client) until the deployment is READY, lists replicas and completes."""
    import http.client
    deadline = time.monotonic() + 30
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    auth = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    while time.monotonic() < deadline:
        connection.request("GET", HOTLOAD_PATH, headers={**auth, **HOTLOAD_HEADERS})
        response = connection.getresponse()
        status = json.loads(response.read()) if response.status == 200 else {}
        connection.request("POST", COMPLETIONS_PATH, completion_body(), auth)
        completion = connection.getresponse()
        completion.read()
        if status.get("replicas") and completion.status == 200:
            connection.close()
            return
        time.sleep(0.02)
    raise SystemExit("the bench deployment did not become ready within 30 s")


# ---- latency ---------------------------------------------------------------------------------

def timed_pairs(args, get_status, post_completion):
    """Latency of --requests (status GET, completion) pairs after --warmup unmeasured ones."""
    timings = {"hotload_status_get": [], "completion": []}
    for i in range(args.warmup + args.requests):
        started = time.perf_counter()
        r = yield get_status
        status_time = time.perf_counter() - started
        started = time.perf_counter()
        c = yield post_completion
        completion_time = time.perf_counter() - started
        if r.status_code != 200 or c.status_code != 200:
            raise SystemExit(f"request {i}: status GET {r.status_code}, completion "
                             f"{c.status_code}: {c.text[:200]}")
        if i >= args.warmup:
            timings["hotload_status_get"].append(status_time)
            timings["completion"].append(completion_time)
    return {kind: {"requests": len(v), "p50_ms": percentile(v, 0.5), "p99_ms": percentile(v, 0.99),
                   "mean_ms": round(statistics.fmean(v) * 1000, 3)} for kind, v in timings.items()}


def run_latency(args, port):
    """httpx.Client (plain blocking socket) and httpx.AsyncClient (asyncio, which sets
    TCP_NODELAY on its own sockets), each on one kept-alive connection."""
    import httpx
    options = {"base_url": f"http://127.0.0.1:{port}",
               "headers": {"Authorization": f"Bearer {API_KEY}"}, "timeout": 30}
    completion = {"content": completion_body(), "headers": {"Content-Type": "application/json"}}
    result = {}
    with httpx.Client(**options) as client:
        steps = timed_pairs(args, lambda: client.get(HOTLOAD_PATH, headers=HOTLOAD_HEADERS),
                            lambda: client.post(COMPLETIONS_PATH, **completion))
        try:
            answer = next(steps)
            while True:
                answer = steps.send(answer())
        except StopIteration as done:
            result["httpx_sync"] = done.value

    async def measure_async():
        async with httpx.AsyncClient(**options) as client:
            steps = timed_pairs(args, lambda: client.get(HOTLOAD_PATH, headers=HOTLOAD_HEADERS),
                                lambda: client.post(COMPLETIONS_PATH, **completion))
            try:
                answer = next(steps)
                while True:
                    answer = steps.send(await answer())
            except StopIteration as done:
                return done.value

    result["httpx_async"] = asyncio.run(measure_async())
    return result


# ---- load ------------------------------------------------------------------------------------

def raw_request(method, path, body=b"", extra=None):
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {API_KEY}",
             f"Content-Length: {len(body)}"]
    if body:
        lines.append("Content-Type: application/json")
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


STATUS_REQUEST = raw_request("GET", HOTLOAD_PATH, extra=HOTLOAD_HEADERS)
COMPLETION_REQUEST = raw_request("POST", COMPLETIONS_PATH, completion_body())


class Level:
    """What one client count measured."""

    def __init__(self, deadline, max_requests):
        self.deadline, self.max_requests = deadline, max_requests
        self.latencies, self.control = [], []
        self.errors, self.reconnects, self.requests, self.unavailable = 0, 0, 0, 0
        self.error_kinds = {}
        self.open_streams, self.stream_seconds, self.streams_done = 0, [], 0
        self.stream_events = 0
        self.last_small = None  # when the last small request was answered
        self.streaming_seen = None

    def more(self):
        return time.monotonic() < self.deadline and self.requests < self.max_requests

    def error(self, kind):
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


async def read_answer(reader, on_headers=None):
    """(status, headers, body, keep_alive) of one HTTP/1.1 answer."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    if on_headers:
        on_headers(headers)
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            body += await reader.readexactly(size + 2)
            if size == 0:
                break
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        body = await reader.read()
        return status, headers, bytes(body), False
    return status, headers, bytes(body), headers.get("connection", "").lower() != "close"


async def exchange(level, port, conn, request, timeout, on_headers=None):
    """Sends one request on conn (reconnecting if the server closed it): (status, body) or None."""
    for attempt in range(2):
        if conn[0] is None:
            conn[0] = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
        reader, writer = conn[0]
        try:
            writer.write(request)
            status, _, body, keep = await asyncio.wait_for(read_answer(reader, on_headers), timeout)
            if not keep:
                writer.close()
                conn[0] = None
            return status, body
        except (asyncio.IncompleteReadError, ConnectionError) as e:
            writer.close()
            conn[0] = None
            # A kept-alive connection the server closed between requests: reconnect once.
            if attempt == 0 and isinstance(e, asyncio.IncompleteReadError) and not e.partial:
                level.reconnects += 1
                continue
            level.error(type(e).__name__)
            return None
        except asyncio.TimeoutError:
            writer.close()
            conn[0] = None
            level.error("timeout")
            return None
    return None


def stream_finished(body):
    """Whether an SSE body ends with the `data: [DONE]` event (a whole stream)."""
    return body.rstrip().endswith(b"data: [DONE]")


async def client_loop(level, port, index, stream_request, timeout):
    conn = [None]
    requests = [stream_request] if stream_request else [STATUS_REQUEST, COMPLETION_REQUEST]
    turn = index
    try:
        while level.more():
            request = requests[turn % len(requests)]
            turn += 1
            opened = []

            def on_headers(headers):
                if stream_request:
                    streaming = "text/event-stream" in headers.get("content-type", "")
                    level.streaming_seen = level.streaming_seen or streaming
                    if streaming:
                        level.open_streams += 1
                        opened.append(time.monotonic())

            level.requests += 1
            started = time.perf_counter()
            try:
                answer = await exchange(level, port, conn, request, timeout, on_headers)
            finally:
                if opened:
                    level.open_streams -= 1
            if answer is None:
                await asyncio.sleep(0.01)
                continue
            if answer[0] == 503 and request is not STATUS_REQUEST:
                # The fake's documented answer while every replica loads: not a failure.
                level.unavailable += 1
                continue
            if answer[0] != 200:
                level.error(f"http_{answer[0]}")
                continue
            if opened:
                # A stream counts when it was read to its [DONE]; its duration is kept apart
                # from the small requests' latencies (it is paced by the fake's token interval).
                if not stream_finished(answer[1]):
                    level.error("stream_without_done")
                    continue
                level.streams_done += 1
                level.stream_seconds.append(time.monotonic() - opened[0])
                level.stream_events += answer[1].count(b"data: ")
            else:
                level.latencies.append(time.perf_counter() - started)
                level.last_small = time.monotonic()
    finally:
        if conn[0]:
            conn[0][1].close()


async def control_loop(level, port, timeout):
    """Step, save, hotload POST, status polls until loaded; control request latencies."""
    conn = [None]
    control_path = f"/_fake/v1/accounts/{ACCOUNT}/trainers/{TRAINER}"
    step = 0
    try:
        while time.monotonic() < level.deadline:
            step += 1
            saved = None
            for path, body in ((control_path + ":step", {"steps": 1}),
                               (control_path + ":saveWeightsForSampler",
                                {"name": f"step-{step}", "checkpointType": "base"})):
                saved = await exchange(level, port, conn,
                                       raw_request("POST", path, json.dumps(body).encode()),
                                       timeout)
                if saved is None or saved[0] != 200:
                    level.error("control_setup")
                    saved = None
                    break
            if saved is None:
                await asyncio.sleep(0.05)
                continue
            identity = json.loads(saved[1])["snapshotName"]
            hotload = json.dumps({"identity": identity}).encode()
            for request in [raw_request("POST", HOTLOAD_PATH, hotload, HOTLOAD_HEADERS)] + \
                    [STATUS_REQUEST] * 5:
                started = time.perf_counter()
                answer = await exchange(level, port, conn, request, timeout)
                if answer and answer[0] == 200:
                    level.control.append(time.perf_counter() - started)
                elif answer:
                    level.error(f"control_http_{answer[0]}")
                await asyncio.sleep(0.01)
    finally:
        if conn[0]:
            conn[0][1].close()


async def sample_streams(level, samples):
    while time.monotonic() < level.deadline:
        samples.append(level.open_streams)
        await asyncio.sleep(0.05)


def lock_counters(port):
    """(acquisitions, wait seconds, held seconds) of the fake's lock, from GET /metrics."""
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/metrics", headers={"Authorization": f"Bearer {API_KEY}"})
    text = connection.getresponse().read().decode()
    connection.close()
    values = {}
    for line in text.splitlines():
        if line.startswith("weightsync_fake_lock_"):
            name, value = line.split(" ")
            values[name] = float(value)
    return (values["weightsync_fake_lock_acquisitions_total"],
            values["weightsync_fake_lock_wait_seconds_total"],
            values["weightsync_fake_lock_held_seconds_total"])


async def run_level(args, port, clients):
    lock_before = lock_counters(port)
    started = time.monotonic()
    level = Level(started + args.seconds, args.max_requests)
    streams = min(args.streams, clients)
    stream_request = raw_request("POST", COMPLETIONS_PATH,
                                 completion_body(True, args.stream_tokens))
    samples = []
    tasks = [client_loop(level, port, i, stream_request if i < streams else None, args.timeout)
             for i in range(clients)]
    tasks += [control_loop(level, port, args.timeout), sample_streams(level, samples)]
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    # Streams open at the deadline run to their end; the small requests' rate is over the time
    # they were being sent.
    small_elapsed = (level.last_small or started + elapsed) - started
    taken, waited, held = (a - b for a, b in zip(lock_counters(port), lock_before))
    row = {"clients": clients, "seconds": round(elapsed, 3),
           "requests": len(level.latencies),
           "requests_per_s": round(len(level.latencies) / max(small_elapsed, 1e-9), 1),
           "p50_ms": percentile(level.latencies, 0.5), "p99_ms": percentile(level.latencies, 0.99),
           "errors": level.errors, "error_kinds": level.error_kinds,
           "completions_503_while_loading": level.unavailable,
           "control_requests": len(level.control), "control_p50_ms": percentile(level.control, 0.5),
           "control_p99_ms": percentile(level.control, 0.99), "reconnects": level.reconnects,
           "lock_held_fraction": round(held / elapsed, 3),
           "lock_wait_mean_ms": round(waited / max(taken, 1) * 1000, 3),
           "lock_hold_mean_us": round(held / max(taken, 1) * 1e6, 2),
           "stream_clients": streams,
           "open_streams": round(statistics.fmean(samples), 1) if samples else 0,
           "open_streams_max": max(samples, default=0)}
    if streams:
        row["streaming_supported"] = bool(level.streaming_seen)
        row["streams_completed"] = level.streams_done
        row["stream_events_per_s"] = round(level.stream_events / elapsed, 1)
        row["stream_p50_ms"] = percentile(level.stream_seconds, 0.5)
        row["stream_p99_ms"] = percentile(level.stream_seconds, 0.99)
    return row


def run_load_cpp(args, port):
    """The same levels run by the C++ client; its rows (JSON array on stdout)."""
    command = [args.cpp_client, "--port", str(port),
               "--clients", ",".join(str(c) for c in args.clients),
               "--seconds", str(args.seconds), "--max-requests", str(args.max_requests),
               "--timeout", str(args.timeout), "--streams", str(args.streams),
               "--stream-tokens", str(args.stream_tokens)]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True,
                          preexec_fn=pin(args.client_cpu),
                          timeout=len(args.clients) * (args.seconds + 2 * args.timeout) + 60)
    if done.returncode != 0:
        raise SystemExit(f"{args.cpp_client} exited with status {done.returncode}")
    return json.loads(done.stdout)


def run_load(args, port):
    if args.client == "cpp":
        return run_load_cpp(args, port)
    rows = []
    for clients in args.clients:
        row = asyncio.run(run_level(args, port, clients))
        print(f"  clients {clients}: {row['requests_per_s']} req/s, p50 {row['p50_ms']} ms, "
              f"p99 {row['p99_ms']} ms, errors {row['errors']}, control p99 "
              f"{row['control_p99_ms']} ms, open streams {row['open_streams']}, lock held "
              f"{row['lock_held_fraction']}, lock wait {row['lock_wait_mean_ms']} ms",
              file=sys.stderr)
        rows.append(row)
    return rows


def counts(text):
    values = [int(v) for v in text.split(",")]
    if not values or any(v < 1 or v > 4096 for v in values):
        raise argparse.ArgumentTypeError(f"expected client counts in 1..4096, got {text!r}")
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["latency", "load"])
    parser.add_argument("--server", default="build/fakeserver/weightsync-fakeserver")
    parser.add_argument("--server-arg", action="append", default=[],
                        help="extra server argument (repeatable): --server-arg=--threads=64")
    parser.add_argument("--out", help="also write the JSON here")
    parser.add_argument("--requests", type=int, default=1000, help="latency: requests per kind")
    parser.add_argument("--warmup", type=int, default=50, help="latency: unmeasured requests first")
    parser.add_argument("--clients", type=counts, default=[1, 8, 64, 256, 1024])
    parser.add_argument("--seconds", type=float, default=5.0, help="load: time per client count")
    parser.add_argument("--max-requests", type=int, default=200_000, help="load: cap per count")
    parser.add_argument("--timeout", type=float, default=10.0, help="load: per request, seconds")
    parser.add_argument("--streams", type=int, default=0, help="load: streaming clients per count")
    parser.add_argument("--stream-tokens", type=int, default=40,
                        help="load: tokens per streamed completion")
    parser.add_argument("--token-interval", type=float, default=0.05,
                        help="the fake's pace per streamed token, seconds (tokenIntervalSeconds)")
    parser.add_argument("--client", choices=["python", "cpp"], default="python",
                        help="load: which client sends the load")
    parser.add_argument("--cpp-client", default="build/bench/weightsync_bench_fakeserver_load",
                        help="load: the C++ client program (--client cpp)")
    parser.add_argument("--server-cpu", type=int, help="pin the server to this CPU")
    parser.add_argument("--client-cpu", type=int, help="pin the client to this CPU")
    parser.add_argument("--fail-on-errors", action="store_true",
                        help="load: exit 1 if any level had an error, answered nothing or "
                        "completed no stream it was asked for")
    args = parser.parse_args()
    if args.seconds <= 0 or args.seconds > 600:
        parser.error(f"--seconds: expected (0, 600], got {args.seconds}")
    if args.streams < 0:
        parser.error(f"--streams: expected >= 0, got {args.streams}")
    if args.stream_tokens < 1 or args.stream_tokens > 4096:
        parser.error(f"--stream-tokens: expected 1..4096, got {args.stream_tokens}")
    if args.token_interval < 0 or args.stream_tokens * args.token_interval >= args.timeout:
        parser.error(f"--token-interval: expected >= 0 with --stream-tokens x --token-interval "
                     f"under --timeout ({args.timeout} s), got {args.token_interval}")
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    with tempfile.TemporaryDirectory() as tmp:
        process, port = start_server(args.server, tmp, args.server_arg, args.token_interval,
                                     args.server_cpu)
        try:
            wait_ready(port)
            if args.client_cpu is not None and args.client == "python":
                os.sched_setaffinity(0, {args.client_cpu})
            result = {"mode": args.mode, "client": args.client, "server": args.server,
                      "server_args": args.server_arg,
                      "server_cpu": args.server_cpu, "client_cpu": args.client_cpu,
                      "streams": args.streams, "stream_tokens": args.stream_tokens,
                      "token_interval_s": args.token_interval,
                      "cpus": os.cpu_count(), "load_average": os.getloadavg()[0]}
            if args.mode == "latency":
                result["latency"] = run_latency(args, port)
            else:
                result["levels"] = run_load(args, port)
        finally:
            stop_server(process)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    failed = [row["clients"] for row in result.get("levels", [])
              if row["errors"] or not row["requests"]
              or (row["stream_clients"] and not row.get("streams_completed"))
              or (row["stream_clients"] and not row["open_streams_max"])]
    if args.fail_on_errors and failed:
        print(f"errors or no answers at client counts {failed}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Starts weightsync-fakeserver on an ephemeral port, runs a client script against it, stops it.

    python3 run_with_server.py --server build/fakeserver/weightsync-fakeserver -- \
        training_loop.py --steps 12

The client gets --url and --api-key appended. The server's config keeps loads fast (high
bandwidth, short startup delays). Exits with the client's status; a server that does not stop
cleanly on SIGTERM is a failure too.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile

FAST_CONFIG = {
    "timing": {"creationSeconds": 0.1, "hotloadStartupSeconds": 0.1, "loadPendingSeconds": 0.01,
               "loadOverheadSeconds": 0.02, "bandwidthBytesPerSecond": 1e9},
}


def start_server(server, config_path, extra=()):
    """The server process and its base URL, read from its first stdout line."""
    process = subprocess.Popen([server, "--port", "0", "--config", config_path, *extra],
                               stdout=subprocess.PIPE, text=True)
    first = process.stdout.readline().strip()
    prefix = "listening on "
    if not first.startswith(prefix + "http://127.0.0.1:"):
        process.kill()
        raise SystemExit(f"unexpected first line from the server: {first!r}")
    return process, first[len(prefix):]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("client", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    client = [a for a in args.client if a != "--"]
    with tempfile.TemporaryDirectory() as tmp:
        config = dict(FAST_CONFIG, accounts=[{"id": "py-account", "apiKey": "py-key"}])
        config_path = os.path.join(tmp, "config.json")
        with open(config_path, "w") as f:
            json.dump(config, f)
        process, url = start_server(args.server, config_path)
        try:
            script = os.path.join(os.path.dirname(os.path.abspath(__file__)), client[0])
            status = subprocess.call([sys.executable, script, *client[1:], "--url", url,
                                      "--api-key", "py-key"])
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                stopped = process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                stopped = "no exit within 20 s"
        if stopped != 0:
            print(f"the server did not stop cleanly on SIGTERM: {stopped}")
            return 1
        return status


if __name__ == "__main__":
    sys.exit(main())

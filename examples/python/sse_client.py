"""Streamed completions with the standard library: the request the reference DeploymentSampler
sends, and its SSE stream read as that sampler reads it.

The stream is read line by line as it arrives (http.client decodes the chunked transfer), cut
into events at blank lines; `data:` lines of one event are joined, `event:` is kept, comment
lines are skipped. Each JSON event's choices are accumulated (text, logprobs.content entries,
the last finish_reason and raw_output), `usage` and `perf_metrics` are kept, `data: [DONE]`
ends the stream. A stream that closes without [DONE], a finish_reason or raw_output is a
truncation, which the reference retries.
"""

import http.client
import json
import urllib.parse
import uuid

INFERENCE_PATH = "/inference/v1/completions"


class StreamError(Exception):
    def __init__(self, status, message):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class Truncated(StreamError):
    def __init__(self):
        super().__init__(0, "the server closed the SSE stream mid-generation")


def sampler_payload(model, prompt, max_tokens, temperature=1.0, **extra):
    """The body of one reference rollout request: n=1, streamed, full-distribution defaults."""
    body = {"model": model, "prompt": prompt, "n": 1, "max_tokens": max_tokens,
            "temperature": temperature, "stream": True, "perf_metrics_in_response": True,
            "raw_output": True, **extra}
    body.setdefault("top_p", 1.0)
    body.setdefault("top_k", 0)
    return body


def sampler_headers(api_key, request_id=None):
    """The headers of a reference inference request."""
    return {"Content-Type": "application/json", "X-Api-Key": api_key,
            "Authorization": f"Bearer {api_key}",
            "x-request-id": request_id or uuid.uuid4().hex}


def iter_events(response):
    """Yields (event, data) for every complete event of a streamed response, as it arrives."""
    data, event = [], None
    while True:
        raw = response.readline()
        if not raw:
            return
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data or event is not None:
                yield event, "\n".join(data)
            data, event = [], None
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "event":
            event = value


class Assembled:
    """What the reference sampler assembles from one stream."""

    def __init__(self):
        self.text = {}
        self.logprobs = {}
        self.finish_reason = {}
        self.raw_output = {}
        self.usage = None
        self.perf_metrics = None
        self.done = False
        self.headers = {}
        self.events = 0

    def add(self, chunk):
        self.events += 1
        for choice in chunk.get("choices", []):
            i = choice.get("index", 0)
            self.text[i] = self.text.get(i, "") + (choice.get("text") or "")
            lp = choice.get("logprobs")
            if isinstance(lp, dict) and isinstance(lp.get("content"), list):
                self.logprobs.setdefault(i, []).extend(lp["content"])
            if choice.get("finish_reason"):
                self.finish_reason[i] = choice["finish_reason"]
            if choice.get("raw_output"):
                self.raw_output[i] = choice["raw_output"]
        if "usage" in chunk:
            self.usage = chunk["usage"]
        if "perf_metrics" in chunk:
            self.perf_metrics = chunk["perf_metrics"]

    def tokens(self, index=0):
        return self.raw_output[index]["completion_token_ids"]


def open_stream(url, body, headers, timeout=60):
    """Posts a streamed completion; returns (connection, response) once the head arrived.
    Raises StreamError for a non-200 answer, with the server's error message."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    connection.request("POST", INFERENCE_PATH, json.dumps(body), headers)
    response = connection.getresponse()
    if response.status != 200:
        text = response.read().decode(errors="replace")
        connection.close()
        try:
            message = json.loads(text)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = text[:300]
        raise StreamError(response.status, message)
    return connection, response


def read_stream(response, on_event=None):
    """Reads a stream to its end; `on_event(assembled)` runs after every JSON event."""
    assembled = Assembled()
    assembled.headers = {k.lower(): v for k, v in response.getheaders()}
    try:
        for _, data in iter_events(response):
            if data.startswith("[DONE]"):
                assembled.done = True
                break
            try:
                chunk = json.loads(data)
            except ValueError:
                continue
            assembled.add(chunk)
            if on_event:
                on_event(assembled)
    except http.client.IncompleteRead:
        pass  # judged below, as a stream without its end
    if not assembled.done and not assembled.finish_reason and not assembled.raw_output:
        raise Truncated()
    return assembled


def stream_completion(url, api_key, body, on_event=None, request_id=None):
    """One streamed completion, read to its end."""
    connection, response = open_stream(url, body, sampler_headers(api_key, request_id))
    try:
        return read_stream(response, on_event)
    finally:
        connection.close()

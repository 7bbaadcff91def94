// A fault plan: which faults of docs/SPEC.md section 6 (plus transport faults) the fake deployment
// injects, each scripted ("the next 2 hotloads of d fail with 503", "at t=120 s restart replica
// 1") or random (a probability per opportunity). It is a JSON document, parsed here with errors
// that name the field and what was expected, and run by a FaultInjector (fault_injector.h). The
// same document works in-process (FakeCloud::set_fault_plan) and in the standalone server
// (PUT /_fake/v1/faults, or "faultPlan" in its --config file). README.md lists every field.
//
// Stateless parsing functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weightsync/clock.h"

namespace weightsync::fake {

enum class FaultKind {
  hotload_rejected,        // the hotload POST answers `status`
  hotload_timeout,         // the POST's answer never arrives (after `delay`); the load may start
  load_error,              // a replica's load ends in `error`
  load_stuck,              // a replica's load never finishes
  replica_restart,         // a replica restarts (mid-load, or at a time)
  manager_not_ready,       // a replica's hotload manager is down for `duration`
  stale_bucket,            // the snapshot is missing: re-created bucket, or read from a wrong one
  stale_cache,             // the storage cache serves older objects under reused names
  session_change,          // a trainer resumes with a new session id
  reattach,                // the deployment is re-attached to another trainer job
  delta_parent_mismatch,   // a delta lands on a replica whose bytes are not its parent
  warmup_unavailable,      // a completion answers `status` (503) instead of 200
  slow_download,           // a load takes `factor` times longer
  partial_rollout,         // the load of one replica of several fails
  prompt_cache_not_reset,  // a requested prompt-cache reset is skipped
  latency,                 // the answer is delayed by `delay`
  connection_reset,        // the connection closes before the answer
  truncated_body,          // the answer's body is cut short
  deployment_failed,       // a deployment enters FAILED (when created, or at a time)
  trainer_failed,          // a trainer job enters JOB_STATE_FAILED at a time
  save_failure,            // a trainer's sampler save throws SaveFailed (the trainer's side)
};

// "hotload_rejected", ...; parse_fault_kind throws InvalidArgument listing the known names.
std::string_view to_string(FaultKind kind);
FaultKind parse_fault_kind(std::string_view name);

// One entry of a plan: a kind, exactly one trigger, optional filters, and the kind's parameters.
struct FaultSpec {
  FaultKind kind = FaultKind::hotload_rejected;
  // ---- trigger (exactly one of count, probability, at) ----
  std::optional<int> count;           // scripted: the next `count` matching opportunities ...
  int after = 0;                      // ... after skipping this many
  std::optional<double> probability;  // random: each matching opportunity, drawn from the seed
  std::optional<int> limit;           // random: fire at most this often
  std::optional<Duration> at;         // scripted in time: once, this long after installation
  // ---- filters ----
  std::optional<std::string> deployment;  // "accounts/{a}/deployments/{id}"
  std::optional<int> replica;             // replica index
  std::optional<std::string> method;      // transport faults: HTTP method
  std::optional<std::string> path;        // transport faults: path prefix (no query)
  // ---- parameters ----
  int status = 503;                 // hotload_rejected, warmup_unavailable
  Duration delay = seconds(30);     // hotload_timeout, latency
  Duration duration = seconds(30);  // manager_not_ready
  bool accepted = true;             // hotload_timeout: the load starts although the answer is lost
  bool processed = true;            // connection_reset: the request took effect first
  double factor = 10;               // slow_download
  double after_fraction = 0.5;      // replica_restart mid-load: when, as a fraction of the load
  bool recreate = false;            // stale_bucket: re-create the bucket (else: object missing)
  bool enabled = true;              // stale_cache: turn the stale cache on (or off)
  std::string trainer;  // session_change, reattach, trainer_failed: a trainer job; save_failure:
                        // only this trainer's saves (empty: any trainer's)
  std::string message;  // load_error, partial_rollout, *_failed: the error text
};

struct FaultPlan {
  std::optional<std::uint64_t> seed;  // none: the cloud's seed
  std::vector<FaultSpec> faults;
};

// Parses a plan document. Throws InvalidArgument naming the field (e.g.
// "faults[2].probability: expected a number in [0, 1], got 1.5"); `where` prefixes every field
// path (e.g. "faultPlan" inside a server config).
FaultPlan parse_fault_plan(std::string_view json_text, std::string_view where = "");
// The plan as the document parse_fault_plan reads (fields at their defaults are left out), so a
// plan built in code can be printed, saved and replayed.
std::string encode_fault_plan(const FaultPlan& plan);

// One fault that fired: what, when (since the plan was installed), why and where.
struct FaultEvent {
  std::uint64_t sequence = 0;  // 1, 2, ... in firing order
  Duration at{};               // since the plan was installed
  std::string fault;           // the kind's name
  std::string trigger;         // "scripted", "random" or "timed"
  std::size_t entry = 0;       // index into the plan's faults
  std::string target;          // deployment / replica / request it hit
  std::string detail;          // what it did
  bool operator==(const FaultEvent&) const = default;
};

// One line per event: "#3 t=12.500s load_error random faults[1] <target>: <detail>".
std::string format_fault_log(const std::vector<FaultEvent>& events, std::uint64_t seed);
// {"seed":N,"events":[{"sequence","atSeconds","fault","trigger","entry","target","detail"}]}
std::string encode_fault_log(const std::vector<FaultEvent>& events, std::uint64_t seed);

}  // namespace weightsync::fake

// TrainingClient: what the WeightSyncer needs from a trainer. Users wrap their trainer in it;
// the fake trainer implements it for tests and simulations.
//
// Thread-safety: implementations decide; the WeightSyncer calls it from one thread.
#pragma once

#include <string>
#include <string_view>

#include "weightsync/snapshot_chain.h"

namespace weightsync {

struct SamplerSave {
  std::string path;           // where the snapshot lives in the trainer's bucket
  std::string snapshot_name;  // session-scoped: "{name}-{session_id}"
};

class TrainingClient {
 public:
  virtual ~TrainingClient() = default;
  // Writes a sampler snapshot of `kind` (a delta is diffed against the previous sampler
  // snapshot of this session). Throws on failure (any exception is reported as SaveFailed).
  virtual SamplerSave save_weights_for_sampler(const std::string& name, CheckpointKind kind) = 0;
  // Writes a resumable (DCP) checkpoint; returns its path.
  virtual std::string save_state(const std::string& name) = 0;
  // 8 lowercase hex characters; new for every client and on every resume.
  virtual std::string session_id() const = 0;
};

// "{name}-{session_id}". Throws InvalidArgument if name is empty or contains '/', or if the
// session id is not 8 lowercase hex characters.
std::string session_scoped_name(std::string_view name, std::string_view session_id);
// True for exactly 8 characters of [0-9a-f].
bool is_valid_session_id(std::string_view session_id);
// Throws InvalidArgument unless `name` is non-empty and has no '/'. `what` names the argument.
void check_snapshot_name(std::string_view name, std::string_view what);

}  // namespace weightsync

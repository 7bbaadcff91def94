// Saves write real bytes into the bucket; every record carries what the invariants check.
#include "weightsync/fake/fake_training_client.h"

#include <cstdio>
#include <stdexcept>

#include "weightsync/errors.h"
#include "weightsync/fake/synthetic_weights.h"
#include "weightsync/log.h"

namespace weightsync::fake {

FakeTrainingClient::FakeTrainingClient(BucketStore& store, std::string job_name,
                                       std::string bucket_url, TrainerOptions options)
    : store_(store),
      job_name_(std::move(job_name)),
      bucket_url_(std::move(bucket_url)),
      options_(options),
      random_(options.seed) {
  if (options_.params == 0) throw InvalidArgument("trainer params: expected > 0, got 0");
  if (options_.lora_rank < 0) {
    throw InvalidArgument("trainer lora_rank: expected >= 0, got " +
                          std::to_string(options_.lora_rank));
  }
  if (!(options_.changed_fraction >= 0 && options_.changed_fraction <= 1)) {
    throw InvalidArgument("trainer changed_fraction: expected in [0, 1], got " +
                          std::to_string(options_.changed_fraction));
  }
  if (!store_.has_bucket(bucket_url_))
    throw InvalidArgument("trainer bucket " + bucket_url_ + " does not exist");
  if (options_.lora_rank > 0) {
    const std::size_t per_rank = options_.lora_params_per_rank
                                     ? options_.lora_params_per_rank
                                     : std::max<std::size_t>(1, options_.params / 256);
    base_model_ = random_bf16_weights(options_.params, random_);
    weights_ =
        random_bf16_weights(per_rank * static_cast<std::size_t>(options_.lora_rank), random_);
  } else {
    weights_ = random_bf16_weights(options_.params, random_);
  }
  session_id_ = new_session_id();
}

std::string FakeTrainingClient::new_session_id() {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", static_cast<unsigned>(random_.next() & 0xffffffffu));
  return text;
}

void FakeTrainingClient::step(int steps) {
  for (int i = 0; i < steps; ++i) {
    perturb_bf16_weights(weights_, options_.changed_fraction, random_);
    ++step_;
  }
}

std::uint32_t FakeTrainingClient::checksum() const {
  return adler32(weights_);
}

Bytes FakeTrainingClient::merged_weights() const {
  if (options_.lora_rank == 0) return weights_;
  // Fold the adapter into the low (mantissa) byte of every parameter: deterministic, and any
  // adapter change changes the merged model.
  Bytes merged = base_model_;
  const std::size_t adapter_params = weights_.size() / 2;
  for (std::size_t i = 0; i < merged.size() / 2; ++i) {
    merged[2 * i] ^= weights_[2 * (i % adapter_params)];
  }
  return merged;
}

Bytes FakeTrainingClient::full_bytes_for(CheckpointKind kind) const {
  return kind == CheckpointKind::merged_base ? merged_weights() : weights_;
}

SamplerSave FakeTrainingClient::save_weights_for_sampler(const std::string& name,
                                                         CheckpointKind kind) {
  const std::string identity = session_scoped_name(name, session_id_);
  const bool lora = options_.lora_rank > 0;
  if (kind == CheckpointKind::merged_base && !lora) {
    throw InvalidArgument(
        "checkpoint type merged_base needs LoRA (lora_rank > 0); this trainer "
        "is full-parameter: save base or delta");
  }
  // A LoRA save is a full adapter whatever its kind; only a full-parameter delta has a parent.
  const bool as_delta = kind == CheckpointKind::delta && !lora;
  if (as_delta && !last_sampler_) {
    throw SaveFailed("cannot save delta " + identity +
                     ": expected a previous sampler snapshot in "
                     "session " +
                     session_id_ + " to diff against, found none; save a base first");
  }
  if (failing_saves_ > 0) {
    --failing_saves_;
    throw SaveFailed("injected save failure for " + identity);
  }
  auto full = std::make_shared<const Bytes>(full_bytes_for(kind));
  StoredObject object;
  object.name = identity;
  object.kind = kind;
  object.lora = lora && kind != CheckpointKind::merged_base;
  object.checksum = adler32(*full);
  object.full_size = full->size();
  if (as_delta) {
    object.parent = *last_sampler_;
    object.delta_encoded = true;
    object.bytes = std::make_shared<const Bytes>(encode_delta(
        *snapshot_weights_.at(*last_sampler_), *full, DeltaFormat::sparse_xor, object.checksum));
  } else {
    object.bytes = full;
  }
  if (snapshot_weights_.count(identity)) {
    log(LogLevel::warning, [&] {
      return "fake trainer " + job_name_ + ": snapshot name " + identity + " reused in session " +
             session_id_ + "; overwriting it";
    });
  }
  SnapshotRecord record{identity,
                        bucket_url_ + "/" + identity,
                        kind,
                        object.parent,
                        session_id_,
                        step_,
                        object.full_size,
                        object.bytes->size(),
                        object.checksum,
                        is_promotable(kind, options_.lora_rank),
                        lora};
  store_.put(bucket_url_, std::move(object));
  snapshots_.push_back(record);
  snapshot_weights_[identity] = std::move(full);
  last_sampler_ = identity;
  forget_old_weights(identity);
  return SamplerSave{record.path, identity};
}

void FakeTrainingClient::forget_old_weights(const std::string& saved) {
  std::erase(weights_order_, saved);
  weights_order_.push_back(saved);
  const std::size_t keep = options_.keep_snapshot_weights;
  while (keep > 0 && weights_order_.size() > keep) {
    snapshot_weights_.erase(weights_order_.front());
    weights_order_.pop_front();
  }
}

std::string FakeTrainingClient::save_state(const std::string& name) {
  const std::string path = bucket_url_ + "/dcp/" + session_scoped_name(name, session_id_);
  checkpoints_[path] = Checkpoint{weights_, step_};
  return path;
}

void FakeTrainingClient::load_state(const std::string& path) {
  const auto checkpoint = checkpoints_.find(path);
  if (checkpoint == checkpoints_.end()) {
    throw InvalidArgument("no DCP checkpoint at " + path + " in trainer " + job_name_ +
                          "; expected a path returned by save_state");
  }
  weights_ = checkpoint->second.weights;
  step_ = checkpoint->second.step;
}

std::string FakeTrainingClient::resume(const std::string& path) {
  load_state(path);
  session_id_ = new_session_id();
  last_sampler_.reset();
  return session_id_;
}

std::string FakeTrainingClient::restart_session() {
  session_id_ = new_session_id();
  last_sampler_.reset();
  return session_id_;
}

const SnapshotRecord* FakeTrainingClient::find_snapshot(const std::string& name) const {
  for (auto it = snapshots_.rbegin(); it != snapshots_.rend(); ++it) {
    if (it->name == name) return &*it;
  }
  return nullptr;
}

std::shared_ptr<const Bytes> FakeTrainingClient::snapshot_weights(const std::string& name) const {
  const auto found = snapshot_weights_.find(name);
  return found == snapshot_weights_.end() ? nullptr : found->second;
}

bool FakeTrainingClient::is_saved_weights(const Bytes& bytes) const {
  const std::uint32_t sum = adler32(bytes);
  for (const auto& record : snapshots_) {
    if (record.checksum != sum) continue;
    const auto saved = snapshot_weights(record.name);
    if (saved && *saved == bytes) return true;
  }
  return false;
}

}  // namespace weightsync::fake

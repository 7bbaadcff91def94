// The property tests' world: operations, the model of what must hold, and the invariant checks
// of docs/SPEC.md section 7, all against the fake's real bytes rather than the syncer's
// bookkeeping.
#include "world.h"

#include <algorithm>
#include <ostream>

#include "invariants.h"
#include "syncer_under_test.h"
#include "weightsync/errors.h"
#include "weightsync/fake/delta_codec.h"
#include "weightsync/fake/fault_plan.h"
#include "weightsync/fake/in_process_transport.h"
#include "weightsync/internal/server_wire.h"

namespace weightsync::props {
namespace {

constexpr const char* kAccount = "acct";
constexpr const char* kKey = "key-acct";
constexpr const char* kDeployment = "d";
constexpr const char* kBaseModel = "accounts/fireworks/models/fake-1b";
constexpr std::size_t kParams = 4096;

fake::DeploymentTiming normal_timing() {
  fake::DeploymentTiming t;
  t.creation_time = seconds(2);
  t.hotload_startup_delay = seconds(3);
  t.load_pending = seconds(0.2);
  t.load_overhead = seconds(1);
  t.bandwidth_bytes_per_s = 100e6;
  return t;
}

// Records every hotload POST (and what the deployment served when it arrived) before passing
// it on.
class RecordingTransport final : public Transport {
 public:
  RecordingTransport(Transport& inner, std::function<void(const HotloadRequest&)> on_post)
      : inner_(inner), on_post_(std::move(on_post)) {}

  HttpResponse exchange(const HttpRequest& request) override {
    const bool post = request.method == "POST" && request.path == kHotloadPath;
    if (post) {
      try {
        on_post_(decode_hotload_request(request.body));
      } catch (const WireError&) {
        // The server will answer 400; nothing was sent that could load.
      }
    }
    return inner_.exchange(request);
  }

 private:
  Transport& inner_;
  std::function<void(const HotloadRequest&)> on_post_;
};

}  // namespace

WorldStats& world_stats() {
  static WorldStats stats;
  return stats;
}

std::ostream& operator<<(std::ostream& os, const WorldConfig& c) {
  return os << "{lora_rank=" << c.lora_rank << " first=" << to_string(c.first_checkpoint_type)
            << " replicas=" << c.replicas << " transition=" << c.transition_type
            << " hotload_timeout=" << c.hotload_timeout_s
            << "s warmup_retries=" << c.warmup_max_retries
            << " resets_on_reattach=" << c.user_resets_on_reattach
            << " wire=" << (c.over_http ? "http" : "in-process") << " seed=" << c.seed << "}";
}

World::World(const WorldConfig& config, SyncerKind kind, fake::FaultPlan faults)
    : config_(config), cloud_(clock_, [&] {
        fake::FakeCloudOptions o;
        o.seed = config.seed;
        o.timing = normal_timing();
        o.replicas_per_deployment = config.replicas;
        return o;
      }()) {
  ++world_stats().worlds;
  cloud_.create_account(kAccount, kKey);
  // Installed before anything happens, as `weightsync-fakeserver --config` installs it, so the
  // plan as it ran replays against a fresh server.
  cloud_.set_fault_plan(std::move(faults));
  if (config_.over_http) {
    server_ = std::make_unique<fake::FakeServer>(cloud_);
    server_->start();
    wire_ = std::make_unique<HttpTransport>(
        HttpTransportOptions{server_->base_url(), seconds(5), seconds(30)});
  } else {
    wire_ = std::make_unique<fake::InProcessTransport>(cloud_);
  }
  recording_ = std::make_unique<RecordingTransport>(
      *wire_, [this](const HotloadRequest& r) { record_post(r); });
  retrying_ = std::make_unique<RetryingTransport>(*recording_, clock_);
  DeploymentManagerOptions mo;
  mo.api_key = kKey;
  mo.hotload_poll_interval = seconds(1);
  mo.warmup_retry_interval = seconds(1);
  manager_ = std::make_unique<DeploymentManager>(*retrying_, clock_, mo);

  fake::TrainerOptions to;
  to.params = kParams;
  to.changed_fraction = 0.05;
  to.lora_rank = config_.lora_rank;
  trainer_ = &cloud_.create_trainer(kAccount, "t" + std::to_string(trainer_count_++), to);
  trainers_.push_back(trainer_);

  DeploymentConfig dc;
  dc.base_model = kBaseModel;
  dc.min_replica_count = dc.max_replica_count = config_.replicas;
  dc.hot_load_trainer_job = trainer_->job_name();
  dc.hot_load_transition_type = config_.transition_type;
  manager_->create_or_get_deployment(kDeployment, dc);
  manager_->wait_for_deployment_ready(kDeployment, seconds(60));

  SyncerSettings s;
  s.deployment_id = kDeployment;
  s.base_model = kBaseModel;
  s.hotload_timeout = seconds(config_.hotload_timeout_s);
  s.first_checkpoint_type = config_.first_checkpoint_type;
  s.warmup_max_retries = config_.warmup_max_retries;
  s.lora_rank = config_.lora_rank;
  proxy_ = std::make_unique<TrainerProxy>(trainer_, cloud_);
  if (kind == SyncerKind::production) {
    syncer_ = make_production_syncer(*proxy_, *manager_, clock_, s);
  } else if (kind == SyncerKind::service) {
    const std::string& job = trainer_->job_name();
    syncer_ = make_service_syncer(*proxy_, *manager_, *retrying_, kKey,
                                  job.substr(job.rfind('/') + 1), s);
  } else {
    syncer_ = make_reference_syncer(*proxy_, *manager_, s);
  }
}

World::~World() {
  if (server_) server_->stop();
}

void World::note(const std::string& line) {
  story_ += line + "\n";
}

std::string World::next_name() {
  return "step-" + std::to_string(++name_count_);
}

void World::begin(const std::string& what) {
  ++world_stats().operations;
  note(what);
  sent_.clear();
  synced_.reset();
  failed_ = false;
  base_before_ = syncer_->base_identity();
}

void World::record_post(const HotloadRequest& request) {
  SentHotload sent{request, {}};
  for (const auto& r : cloud_.replicas(kAccount, kDeployment)) {
    if (r.manager_ready) sent.served_at_post.push_back(r.served_identity);
  }
  sent_.push_back(std::move(sent));
}

void World::sync_succeeded(const std::string& snapshot) {
  ++world_stats().syncs_succeeded;
  synced_ = snapshot;
  note("  -> served " + snapshot);
}

// Invariant 4's events: whatever the deployment holds is no longer the chain's parent.
void World::sync_failed(const std::string& why) {
  ++world_stats().syncs_failed;
  failed_ = true;
  must_be_base_ = true;
  note("  -> failed: " + why);
}

// ---- what a training loop does ------------------------------------------------------------

void World::trainer_step(int steps) {
  begin("trainer steps " + std::to_string(steps));
  trainer_->step(steps);
}

void World::save_and_hotload(std::optional<CheckpointKind> explicit_kind) {
  const std::string name = next_name();
  begin("save_and_hotload(" + name +
        (explicit_kind ? ", " + std::string(to_string(*explicit_kind)) : std::string()) + ")");
  std::optional<std::string> failure;
  try {
    sync_succeeded(syncer_->save_and_hotload(name, explicit_kind));
  } catch (const WarmupFailed& e) {
    // The weights were loaded and the chain advanced; only the warmup never answered.
    note(std::string("  -> warmup failed: ") + e.what());
    synced_ = trainer_->snapshots().empty() ? "" : trainer_->snapshots().back().name;
  } catch (const SaveFailed& e) {
    note(std::string("  -> save failed: ") + e.what());
  } catch (const std::exception& e) {
    failure = e.what();
  }
  // The save came before the failure: judge its kind by the state before the failure.
  observe_new_snapshots(explicit_kind == CheckpointKind::delta);
  if (failure) sync_failed(*failure);
}

void World::save_only() {
  const std::string name = next_name();
  begin("save_only(" + name + ")");
  const auto saved = syncer_->save_only(name);
  note(saved ? "  -> saved " + *saved : std::string("  -> save failed"));
  observe_new_snapshots(false);
}

void World::save_only_then_hotload() {
  const std::string name = next_name();
  begin("save_only(" + name + ") then hotload");
  const auto saved = syncer_->save_only(name);
  observe_new_snapshots(false);
  if (!saved) {
    note("  -> save failed");
    return;
  }
  const fake::SnapshotRecord* record = owner_of(*saved)->find_snapshot(*saved);
  if (syncer_->hotload(*saved, record->kind)) {
    sync_succeeded(*saved);
  } else {
    // A false from hotload is either a failed load or a failed warmup after a good load.
    const auto replicas = cloud_.replicas(kAccount, kDeployment);
    const bool loaded = std::all_of(replicas.begin(), replicas.end(), [&](const auto& r) {
      return !r.readiness || r.served_identity == *saved;
    });
    if (loaded && syncer_->base_identity() == *saved) {
      note("  -> loaded, warmup failed");
      synced_ = *saved;
    } else {
      sync_failed("hotload returned false");
    }
  }
}

void World::reset_delta_chain() {
  begin("reset_delta_chain()");
  syncer_->reset_delta_chain();
  must_be_base_ = true;
}

void World::resume_from_dcp() {
  begin("trainer saves DCP state and resumes from it (new session)");
  const std::string path = trainer_->save_state("dcp-" + std::to_string(++name_count_));
  const std::string session = trainer_->resume(path);
  snapshots_seen_ = trainer_->snapshots().size();
  must_be_base_ = true;
  note("  -> session " + session);
}

void World::reattach_to_new_trainer() {
  fake::TrainerOptions to = trainer_->options();
  to.seed = 0;
  fake::FakeTrainingClient& next =
      cloud_.create_trainer(kAccount, "t" + std::to_string(trainer_count_++), to);
  begin("deployment re-attached to " + next.job_name() +
        (config_.user_resets_on_reattach ? ", loop calls reset_delta_chain()" : ""));
  try {
    manager_->reattach_trainer(kDeployment, next.job_name());
  } catch (const std::exception& e) {
    note(std::string("  -> re-attach failed: ") + e.what());
    return;
  }
  trainer_ = &next;
  trainers_.push_back(trainer_);
  snapshots_seen_ = 0;
  if (config_.user_resets_on_reattach) syncer_->reset_delta_chain();
  must_be_base_ = true;
  // The replicas restart; let their hotload managers come up before the loop goes on.
  clock_.sleep_for(normal_timing().hotload_startup_delay + seconds(0.5));
}

// ---- what the world does ------------------------------------------------------------------

void World::recreate_bucket() {
  begin("bucket " + trainer_->bucket_url() + " is re-created (emptied)");
  cloud_.buckets().recreate_bucket(trainer_->bucket_url());
  readable_[trainer_->bucket_url()].clear();
}

void World::restart_replica(int index) {
  const int i = index % config_.replicas;
  begin("replica " + std::to_string(i) + " restarts onto the base model");
  cloud_.restart_replica(kAccount, kDeployment, i);
  clock_.sleep_for(normal_timing().hotload_startup_delay + seconds(0.5));
}

void World::reset_ledger() {
  begin("deployment ledger reset");
  try {
    manager_->reset_ledger(kDeployment);
  } catch (const std::exception& e) {
    note(std::string("  -> ledger reset failed: ") + e.what());
  }
}

void World::set_slow_downloads(bool slow) {
  begin(slow ? "downloads slow to 40 bytes/s" : "downloads back to normal speed");
  fake::DeploymentTiming t = normal_timing();
  if (slow) t.bandwidth_bytes_per_s = 40;
  cloud_.set_deployment_timing(kAccount, kDeployment, t);
}

void World::add_fault(fake::FaultSpec spec, const std::string& what) {
  cloud_.add_fault(std::move(spec));
  note("fault: " + what);
}

std::string World::replay_config() {
  return R"({"faultPlan":)" + fake::encode_fault_plan(cloud_.fault_plan()) + "}";
}

void World::set_stale_cache(bool stale) {
  begin(stale ? "storage cache turns stale" : "storage cache fresh again");
  cloud_.buckets().set_stale_cache(stale);
}

// ---- invariants ---------------------------------------------------------------------------

fake::FakeTrainingClient* World::owner_of(const std::string& snapshot) {
  for (auto* t : trainers_) {
    if (t->find_snapshot(snapshot)) return t;
  }
  return nullptr;
}

void World::observe_new_snapshots(bool explicit_delta) {
  const auto& all = trainer_->snapshots();
  for (; snapshots_seen_ < all.size(); ++snapshots_seen_) {
    const fake::SnapshotRecord& s = all[snapshots_seen_];
    ordinal_[s.name] = ordinal_.size() + 1;
    readable_[trainer_->bucket_url()].insert(s.name);
    const bool lora = config_.lora_rank > 0;
    if (s.kind == CheckpointKind::delta && (lora || (must_be_base_ && !explicit_delta))) {
      pending_violations_.push_back(
          invariant(4) + ": " + s.name + " was saved as a delta, but " +
          (lora ? std::string("LoRA snapshots are always full")
                : "the first snapshot of a chain (or after a reset, session change, re-attach or "
                  "failed hotload) must be a base"));
    }
    if (s.promotable != (lora || s.kind != CheckpointKind::delta)) {
      pending_violations_.push_back(invariant(5) + ": " + s.name + " (" +
                                    std::string(to_string(s.kind)) +
                                    ") has promotable=" + (s.promotable ? "true" : "false"));
    }
    must_be_base_ = false;
  }
}

// Invariant 1: a replica serves the base model or exactly the bytes of the snapshot it names.
void World::check_served_weights(std::vector<std::string>& out) {
  for (const auto& r : cloud_.replicas(kAccount, kDeployment)) {
    if (r.served_identity.empty()) continue;
    fake::FakeTrainingClient* owner = owner_of(r.served_identity);
    const auto expected = owner ? owner->snapshot_weights(r.served_identity) : nullptr;
    if (!expected) {
      out.push_back(invariant(1) + ": replica " + r.name + " serves '" + r.served_identity +
                    "', which no trainer saved");
    } else if (!r.served_bytes || *r.served_bytes != *expected) {
      out.push_back(invariant(1) + ": replica " + r.name + " reports '" + r.served_identity +
                    "' but its weights (checksum " + std::to_string(r.served_checksum) +
                    ") are not that snapshot's (checksum " +
                    std::to_string(fake::adler32(*expected)) + ")");
    }
  }
}

// Invariant 2: after a successful sync every ready replica serves that save's weights.
void World::check_synced_everywhere(const std::string& snapshot, std::vector<std::string>& out) {
  fake::FakeTrainingClient* owner = owner_of(snapshot);
  const auto expected = owner ? owner->snapshot_weights(snapshot) : nullptr;
  if (!expected) {
    out.push_back(invariant(2) + ": the sync reported '" + snapshot + "', which no trainer saved");
    return;
  }
  for (const auto& r : cloud_.replicas(kAccount, kDeployment)) {
    if (!r.readiness) continue;
    if (r.served_identity != snapshot || !r.served_bytes || *r.served_bytes != *expected) {
      out.push_back(invariant(2) + ": after syncing '" + snapshot + "', ready replica " + r.name +
                    " serves '" + r.served_identity + "' (checksum " +
                    std::to_string(r.served_checksum) + ")");
    }
  }
}

// Invariants 3 and 4 (LoRA) over every hotload the operation sent.
void World::check_sent_hotloads(std::vector<std::string>& out) {
  for (const SentHotload& sent : sent_) {
    const HotloadRequest& h = sent.request;
    fake::FakeTrainingClient* owner = owner_of(h.identity);
    const fake::SnapshotRecord* record = owner ? owner->find_snapshot(h.identity) : nullptr;
    if (!record) {
      out.push_back("hotload of '" + h.identity + "', which no trainer saved");
      continue;
    }
    const auto& meta = h.incremental_snapshot_metadata;
    const bool full_param_delta = record->kind == CheckpointKind::delta && config_.lora_rank == 0;
    if (!full_param_delta) {
      if (meta) {
        out.push_back(invariant(4) + ": full snapshot '" + h.identity +
                      "' was sent with incremental metadata naming '" +
                      meta->previous_snapshot_identity + "'");
      }
      continue;
    }
    if (!meta) {
      out.push_back(invariant(3) + ": delta '" + h.identity +
                    "' was sent without incremental metadata: the deployment loads a diff as "
                    "full weights");
      continue;
    }
    if (meta->previous_snapshot_identity != record->parent) {
      out.push_back(invariant(3) + ": delta '" + h.identity + "' names parent '" +
                    meta->previous_snapshot_identity + "' but was computed from '" +
                    record->parent + "'");
    }
    for (const std::string& served : sent.served_at_post) {
      // A resubmission that finds the load already done is a no-op (hazard 6's fix).
      if (served != meta->previous_snapshot_identity && served != h.identity) {
        out.push_back(invariant(3) + ": delta '" + h.identity + "' names parent '" +
                      meta->previous_snapshot_identity + "' but a replica served '" + served +
                      "' when it was sent");
        break;
      }
    }
  }
}

// Invariant 9: every snapshot reported saved reads back from its bucket with its checksum.
void World::check_saved_readable(std::vector<std::string>& out) {
  for (const auto& [bucket, names] : readable_) {
    for (const std::string& name : names) {
      fake::FakeTrainingClient* owner = owner_of(name);
      const fake::SnapshotRecord* record = owner ? owner->find_snapshot(name) : nullptr;
      const auto object = cloud_.buckets().get(bucket, name);
      if (!record || !object) {
        out.push_back(invariant(9) + ": '" + name + "' was saved but is missing from " + bucket);
        continue;
      }
      std::uint32_t checksum = 0;
      try {
        if (object->delta_encoded) {
          const auto parent = owner->snapshot_weights(object->parent);
          if (!parent) throw std::runtime_error("parent '" + object->parent + "' unknown");
          checksum = fake::adler32(fake::apply_delta(*parent, *object->bytes));
        } else {
          checksum = fake::adler32(*object->bytes);
        }
      } catch (const std::exception& e) {
        out.push_back(invariant(9) + ": '" + name + "' does not read back: " + e.what());
        continue;
      }
      if (checksum != record->checksum) {
        out.push_back(invariant(9) + ": '" + name + "' reads back with checksum " +
                      std::to_string(checksum) + ", saved with " +
                      std::to_string(record->checksum));
      }
    }
  }
}

std::vector<std::string> World::violations() {
  ++world_stats().invariant_checks;
  std::vector<std::string> out;
  out.swap(pending_violations_);
  check_served_weights(out);
  if (synced_) check_synced_everywhere(*synced_, out);
  check_sent_hotloads(out);
  // Invariant 6: unique names without '/'.
  std::set<std::string> names;
  for (auto* t : trainers_) {
    std::set<std::string> mine;
    for (const auto& s : t->snapshots()) {
      if (s.name.find('/') != std::string::npos) {
        out.push_back(invariant(6) + ": snapshot name '" + s.name + "' contains '/'");
      }
      if (!mine.insert(s.name).second || names.count(s.name)) {
        out.push_back(invariant(6) + ": two snapshots are named '" + s.name + "'");
      }
    }
    names.insert(mine.begin(), mine.end());
  }
  // Invariant 7: a failed sync never advances the chain; served versions never move back.
  if (failed_) {
    const std::string after = syncer_->base_identity();
    if (!after.empty() && after != base_before_) {
      out.push_back(invariant(7) + ": a failed sync moved base_identity from '" + base_before_ +
                    "' to '" + after + "'");
    }
  }
  const auto replicas = cloud_.replicas(kAccount, kDeployment);
  for (std::size_t i = 0; i < replicas.size(); ++i) {
    const auto& r = replicas[i];
    const std::uint64_t ord = r.served_identity.empty() ? 0 : ordinal_[r.served_identity];
    auto& [restarts, last] = served_order_[static_cast<int>(i)];
    if (r.restarts == restarts && ord < last) {
      out.push_back(invariant(7) + ": replica " + r.name + " moved back to '" + r.served_identity +
                    "' without a restart");
    }
    restarts = r.restarts;
    last = ord;
  }
  check_saved_readable(out);
  return out;
}

std::vector<std::string> World::check_liveness(int max_syncs) {
  cloud_.clear_fault_plan();
  trainer_->fail_next_saves(0);
  set_slow_downloads(false);
  set_stale_cache(false);
  note("-- liveness: every fault off --");
  std::string last_error;
  for (int i = 0; i < max_syncs; ++i) {
    trainer_->step(1);
    save_and_hotload(std::nullopt);
    std::vector<std::string> v = violations();
    if (!v.empty()) return v;
    if (synced_) return {};
  }
  return {invariant(8) + ": " + std::to_string(max_syncs) +
          " syncs after the faults ended, none restored the served weights"};
}

}  // namespace weightsync::props

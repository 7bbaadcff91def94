// FakeCloud: the fake deployment service and fake trainers in one object, for tests and
// simulations. It answers the HTTP API in-process (handle), creates accounts, trainers and
// deployments directly, and shows what every replica serves (identity, bytes, checksum).
//
// Thread-safety: every method takes one lock around the whole model, so the HTTP server may
// call handle() from its threads while a test inspects replicas. A FakeTrainingClient returned
// by create_trainer is driven by one training thread outside that lock (it writes only to the
// thread-safe bucket store).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "weightsync/clock.h"
#include "weightsync/fake/bucket_store.h"
#include "weightsync/fake/cloud_model.h"
#include "weightsync/fake/delta_codec.h"
#include "weightsync/fake/fake_training_client.h"
#include "weightsync/fake/fault_plan.h"
#include "weightsync/fake/replica.h"
#include "weightsync/fake/router.h"
#include "weightsync/fake/sampling.h"
#include "weightsync/transport.h"
#include "weightsync/wire.h"

namespace weightsync::fake {

// A copy of one replica's state at one instant.
struct ReplicaView {
  std::string name;
  std::string served_identity;  // "" while serving the base model
  std::uint32_t served_checksum = 0;
  std::shared_ptr<const Bytes> served_bytes;
  std::string stage;
  std::string stage_target;
  std::string last_error;
  bool readiness = false;
  bool manager_ready = false;
  std::string chain_identity;
  std::vector<LoadedAdapter> loaded_adapters;
  std::size_t prompt_cache_entries = 0;
  std::uint64_t prompt_cache_hits = 0;
  int restarts = 0;
};

// An answer whose body may come later: `stream` is set for a streamed completion, whose head
// (status and headers) is `head` and whose body is drawn piece by piece with next_chunk().
struct StreamedResponse {
  HttpResponse head;
  std::shared_ptr<CompletionStream> stream;
};

class FakeCloud {
 public:
  explicit FakeCloud(Clock& clock, FakeCloudOptions options = {});

  // One HTTP exchange against the API (docs/SPEC.md section 5). A streamed completion is run to its
  // end here, its tokens paced on the cloud's clock (the lock is released between them), and
  // its whole SSE body returned.
  HttpResponse handle(const HttpRequest& request);
  // The same exchange, leaving a streamed completion's body to the caller (FakeServer writes
  // each piece to the socket as it comes).
  StreamedResponse handle_streaming(const HttpRequest& request);
  // Sleeps on the clock until the stream's next piece is due, then generates it under the
  // lock with what the replica serves at that moment; nothing once the stream has ended
  // (stream.cut() tells whether it ended without [DONE]).
  std::optional<std::string> next_chunk(CompletionStream& stream);

  void create_account(const std::string& account, const std::string& api_key);
  // The trainer's job name is "accounts/{account}/rlorTrainerJobs/{trainer_id}"; the reference
  // stays valid for the cloud's lifetime.
  FakeTrainingClient& create_trainer(const std::string& account, const std::string& trainer_id,
                                     TrainerOptions options = {},
                                     std::optional<std::string> bucket_url = std::nullopt);
  FakeTrainingClient& trainer(const std::string& job_name);
  // As POST .../deployments would; throws HttpError (409 duplicate, 400 bad config).
  Deployment create_deployment(const std::string& account, const std::string& id,
                               const DeploymentConfig& config);
  Deployment deployment(const std::string& account, const std::string& id);
  // Every replica, after applying loads finished by now.
  std::vector<ReplicaView> replicas(const std::string& account, const std::string& id);
  void restart_replica(const std::string& account, const std::string& id, int index);
  void set_deployment_timing(const std::string& account, const std::string& id,
                             const DeploymentTiming& timing);
  // Installs a fault plan (fault_plan.h), replacing any plan, with a fresh
  // log; timed entries count from now. The same document as PUT /_fake/v1/faults.
  void set_fault_plan(FaultPlan plan);
  void clear_fault_plan();
  // CloudModel::add_fault and CloudModel::save_fault under the lock.
  std::size_t add_fault(FaultSpec spec);
  bool save_fault(const std::string& job_name);
  // The load model (load_plan.h), replacing any.
  void set_load_model(LoadModel model);
  // The installed (or last) plan as it ran: entries added mid-run included.
  FaultPlan fault_plan();
  // The installed (or last) plan's log so far, and as printable text (with its seed).
  std::vector<FaultEvent> fault_log();
  std::string fault_log_text();
  BucketStore& buckets() { return model_.store(); }
  Clock& clock() { return model_.clock(); }

  // Runs `f(CloudModel&)` under the lock: for fault plans and tests that need more than the
  // methods above. `f` must not call back into this FakeCloud.
  template <typename F>
  auto with_model(F&& f) {
    std::lock_guard lock(mutex_);
    return f(model_);
  }

 private:
  std::mutex mutex_;
  CloudModel model_;
  Router router_;
};

}  // namespace weightsync::fake

// ScriptedDeployment: a tiny in-test deployment that answers the hotload, status and warmup
// calls of docs/SPEC.md section 5 from a script of outcomes, so WeightSyncer tests need not count
// status polls. Thread-free; loads complete instantly unless scripted otherwise.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "weightsync/internal/server_wire.h"
#include "weightsync/transport.h"
#include "weightsync/wire.h"

namespace weightsync::testing {

// What the deployment does with the next hotload POST.
enum class HotloadOutcome {
  load,                  // every replica loads it
  error_stage,           // every replica ends in stage error for it
  second_replica_error,  // replica 0 loads it, replica 1 ends in error
  second_replica_lag,    // replica 0 loads it, replica 1 stays loading forever
  stuck,                 // every replica stays loading forever
  reject_400,            // HTTP 400, nothing changes
  reject_503,            // HTTP 503, nothing changes
};

class ScriptedDeployment final : public Transport {
 public:
  explicit ScriptedDeployment(int replica_count = 1) : replicas_(replica_count) {
    for (std::size_t i = 0; i < replicas_.size(); ++i) {
      replicas_[i].identity = "replica-" + std::to_string(i);
      replicas_[i].readiness = true;
      replicas_[i].loading_state.stage = "idle";
    }
  }

  std::deque<HotloadOutcome> outcomes;  // empty: load
  std::deque<int> warmup_statuses;      // in order, the last repeats; empty: 200
  int status_failures = 0;              // the next N status GETs answer 503
  int polls_until_loaded = 0;           // a `load` shows stage loading for N status GETs
  bool hotload_manager_up = true;       // false: status reports no replicas

  HttpResponse exchange(const HttpRequest& request) override {
    requests_.push_back(request);
    const std::string path = request.path;
    if (request.method == "POST" && path == kHotloadPath) return post_hotload(request);
    if (request.method == "GET" && path == kHotloadPath) return get_status();
    if (request.method == "POST" && path == kCompletionsPath) return warmup();
    return HttpResponse{404, {}, encode_error(404, "no route " + request.method + " " + path)};
  }

  // Every replica serves `identity`, as if another client had hotloaded it earlier.
  void serve(const std::string& identity) {
    for (ReplicaStatus& r : replicas_) load(r, identity);
  }
  // A replica restart: every replica is back on the base model, serving no snapshot.
  void restart_replicas() {
    for (ReplicaStatus& r : replicas_) {
      r.current_snapshot_identity.clear();
      r.readiness = true;
      r.loading_state = LoadingState{"idle", ""};
    }
  }
  const std::vector<ReplicaStatus>& replicas() const { return replicas_; }
  // Every decoded hotload POST, accepted or not, in order.
  const std::vector<HotloadRequest>& hotloads() const { return hotloads_; }
  const std::vector<HttpRequest>& requests() const { return requests_; }
  // For every hotload POST: the snapshot all replicas served when it arrived ("" if none or
  // if they disagreed).
  const std::vector<std::string>& served_when_posted() const { return served_when_posted_; }
  std::size_t count(const std::string& method, std::string_view path) const {
    std::size_t n = 0;
    for (const HttpRequest& r : requests_) n += r.method == method && r.path == path;
    return n;
  }
  // Index of the first request matching, or -1.
  int first(const std::string& method, std::string_view path) const {
    for (std::size_t i = 0; i < requests_.size(); ++i) {
      if (requests_[i].method == method && requests_[i].path == path) return static_cast<int>(i);
    }
    return -1;
  }

 private:
  HttpResponse post_hotload(const HttpRequest& request) {
    HotloadRequest hotload = decode_hotload_request(request.body);
    hotloads_.push_back(hotload);
    served_when_posted_.push_back(served_everywhere());
    HotloadOutcome outcome = HotloadOutcome::load;
    if (!outcomes.empty()) {
      outcome = outcomes.front();
      outcomes.pop_front();
    }
    const std::string& id = hotload.identity;
    switch (outcome) {
      case HotloadOutcome::reject_400:
        return HttpResponse{400, {}, encode_error(400, "snapshot not found in bucket")};
      case HotloadOutcome::reject_503:
        return HttpResponse{503, {}, encode_error(503, "hotload manager busy")};
      case HotloadOutcome::load:
        if (polls_until_loaded > 0) {
          pending_ = id;
          pending_polls_ = polls_until_loaded;
          for (ReplicaStatus& r : replicas_) {
            r.readiness = false;
            r.loading_state = LoadingState{"loading", id};
          }
        } else {
          for (ReplicaStatus& r : replicas_) load(r, id);
        }
        break;
      case HotloadOutcome::error_stage:
        for (ReplicaStatus& r : replicas_) r.loading_state = LoadingState{"error", id};
        break;
      case HotloadOutcome::second_replica_error:
        load(replicas_.at(0), id);
        replicas_.at(1).loading_state = LoadingState{"error", id};
        break;
      case HotloadOutcome::second_replica_lag:
        load(replicas_.at(0), id);
        replicas_.at(1).readiness = false;
        replicas_.at(1).loading_state = LoadingState{"loading", id};
        break;
      case HotloadOutcome::stuck:
        for (ReplicaStatus& r : replicas_) {
          r.readiness = false;
          r.loading_state = LoadingState{"downloading", id};
        }
        break;
    }
    return HttpResponse{200, {}, "{}"};
  }

  std::string served_everywhere() const {
    const std::string& first = replicas_.front().current_snapshot_identity;
    for (const ReplicaStatus& r : replicas_) {
      if (r.current_snapshot_identity != first) return "";
    }
    return first;
  }

  static void load(ReplicaStatus& r, const std::string& id) {
    r.current_snapshot_identity = id;
    r.readiness = true;
    r.loading_state = LoadingState{"done", id};
  }

  HttpResponse get_status() {
    if (status_failures > 0) {
      --status_failures;
      return HttpResponse{503, {}, encode_error(503, "status unavailable")};
    }
    if (!hotload_manager_up) return HttpResponse{200, {}, encode(HotloadStatus{})};
    if (!pending_.empty()) {
      if (pending_polls_ == 0) {
        for (ReplicaStatus& r : replicas_) load(r, pending_);
        pending_.clear();
      } else {
        --pending_polls_;
      }
    }
    return HttpResponse{200, {}, encode(HotloadStatus{replicas_})};
  }

  HttpResponse warmup() {
    int status = 200;
    if (!warmup_statuses.empty()) {
      status = warmup_statuses.front();
      if (warmup_statuses.size() > 1) warmup_statuses.pop_front();
    }
    return HttpResponse{status, {}, status == 200 ? "{}" : encode_error(status, "loading")};
  }

  std::vector<ReplicaStatus> replicas_;
  std::vector<HotloadRequest> hotloads_;
  std::vector<HttpRequest> requests_;
  std::vector<std::string> served_when_posted_;
  std::string pending_;
  int pending_polls_ = 0;
};

}  // namespace weightsync::testing

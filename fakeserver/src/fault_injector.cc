// Deciding, acting out and logging a fault plan's faults at each opportunity.
#include "weightsync/fake/fault_injector.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "weightsync/errors.h"
#include "weightsync/fake/cloud_model.h"
#include "weightsync/fake/http_error.h"
#include "weightsync/internal/server_wire.h"

namespace weightsync::fake {
namespace {

std::string seconds_text(Duration d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", to_seconds(d));
  return text;
}

std::string path_only(const std::string& target) {
  return target.substr(0, target.find('?'));
}

HttpResponse injected_error(int status, const std::string& message) {
  return HttpResponse{status,
                      {{"Content-Type", "application/json"}},
                      encode_error(status, message + " (injected fault)")};
}

}  // namespace

FaultInjector::FaultInjector(FaultPlan plan, std::uint64_t seed, Clock& clock)
    : plan_(std::move(plan)),
      seed_(seed),
      clock_(clock),
      installed_at_(clock.now()),
      random_(seed),
      seen_(plan_.faults.size(), 0),
      fired_count_(plan_.faults.size(), 0) {
  for (std::size_t i = 0; i < plan_.faults.size(); ++i) {
    const FaultSpec& spec = plan_.faults[i];
    if (!spec.at) continue;
    pending_.push_back(Pending{installed_at_ + *spec.at, pending_order_++, i,
                               spec.deployment.value_or(""), spec.replica.value_or(-1)});
  }
}

bool FaultInjector::matches(const FaultSpec& spec, const Opportunity& at) const {
  if (spec.at) return false;  // timed entries fire at their time, not at opportunities
  if (spec.deployment && *spec.deployment != at.deployment) return false;
  if (spec.replica && at.replica >= 0 && *spec.replica != at.replica) return false;
  if (spec.method && *spec.method != at.method) return false;
  if (spec.path && at.path.compare(0, spec.path->size(), *spec.path) != 0) return false;
  if (spec.kind == FaultKind::save_failure && !spec.trainer.empty() && spec.trainer != at.trainer) {
    return false;
  }
  return true;
}

std::optional<std::size_t> FaultInjector::fire(FaultKind kind, const Opportunity& at,
                                               const std::string& detail) {
  for (std::size_t i = 0; i < plan_.faults.size(); ++i) {
    const FaultSpec& spec = plan_.faults[i];
    if (spec.kind != kind || !matches(spec, at)) continue;
    std::string trigger;
    if (spec.count) {
      ++seen_[i];
      if (seen_[i] <= spec.after || fired_count_[i] >= *spec.count) continue;
      trigger = "scripted";
    } else {
      if (spec.limit && fired_count_[i] >= *spec.limit) continue;
      if (!random_.chance(*spec.probability)) continue;
      trigger = "random";
    }
    ++fired_count_[i];
    record(i, trigger, at.target, detail, clock_.now());
    return i;
  }
  ++passed_[Passed{kind, at.deployment, at.replica, at.method, at.trainer}];
  return std::nullopt;
}

std::size_t FaultInjector::add(FaultSpec spec) {
  if (spec.probability) {
    throw InvalidArgument(std::string(to_string(spec.kind)) +
                          ": an entry added while the plan runs takes count or atSeconds, not "
                          "probability (its draws would change every later random decision)");
  }
  if (spec.path) {
    throw InvalidArgument(std::string(to_string(spec.kind)) +
                          ": an entry added while the plan runs cannot filter by path");
  }
  const std::size_t index = plan_.faults.size();
  int gone_by = 0;
  if (spec.count) {
    for (const auto& [key, n] : passed_) {
      const auto& [kind, deployment, replica, method, trainer] = key;
      if (kind != spec.kind) continue;
      Opportunity at;
      at.deployment = deployment;
      at.replica = replica;
      at.method = method;
      at.trainer = trainer;
      if (matches(spec, at)) gone_by += n;
    }
    spec.after += gone_by;
  }
  if (spec.at) {
    spec.at = *spec.at + (clock_.now() - installed_at_);
    pending_.push_back(Pending{installed_at_ + *spec.at, pending_order_++, index,
                               spec.deployment.value_or(""), spec.replica.value_or(-1)});
  }
  plan_.faults.push_back(std::move(spec));
  seen_.push_back(gone_by);
  fired_count_.push_back(0);
  return index;
}

void FaultInjector::record(std::size_t entry, std::string trigger, std::string target,
                           std::string detail, Duration when) {
  const std::string name(to_string(plan_.faults[entry].kind));
  log_.push_back(FaultEvent{log_.size() + 1, when - installed_at_, name, std::move(trigger), entry,
                            std::move(target), std::move(detail)});
  ++fired_[name];
}

std::optional<HttpResponse> FaultInjector::on_request(const HttpRequest& request) {
  transport_ = TransportFault{};
  missing_.reset();
  Opportunity at;
  at.method = request.method;
  at.path = path_only(request.path);
  at.target = request.method + " " + at.path;
  if (const auto i = fire(FaultKind::latency, at, "the answer is delayed")) {
    transport_.delay = plan_.faults[*i].delay;
  }
  if (const auto i =
          fire(FaultKind::connection_reset, at, "the connection closes without an answer")) {
    transport_.cut = TransportFault::Cut::reset;
    if (!plan_.faults[*i].processed) {
      return injected_error(503, "connection reset before the request was processed");
    }
  } else if (fire(FaultKind::truncated_body, at, "the answer's body is cut short")) {
    transport_.cut = TransportFault::Cut::truncate;
  }
  return std::nullopt;
}

void FaultInjector::on_response(HttpResponse& response) {
  mark_transport_fault(response, transport_);
  transport_ = TransportFault{};
  missing_.reset();
}

void FaultInjector::environment_faults(CloudModel& model, const std::string& deployment) {
  Opportunity at;
  at.deployment = deployment;
  at.target = deployment;
  for (const FaultKind kind : {FaultKind::reattach, FaultKind::session_change,
                               FaultKind::stale_cache, FaultKind::manager_not_ready}) {
    // Decided first (fire writes the log entry), then acted out; the entry gets what it did.
    if (const auto i = fire(kind, at, "")) {
      const FaultSpec& spec = plan_.faults[*i];
      log_.back().detail = act(model, spec, deployment, spec.replica.value_or(-1), clock_.now());
    }
  }
}

std::optional<HttpResponse> FaultInjector::on_hotload(CloudModel& model,
                                                      const std::string& deployment,
                                                      const HotloadRequest& request) {
  environment_faults(model, deployment);
  Opportunity at;
  at.deployment = deployment;
  at.target = deployment + " hotload " + request.identity;
  if (const auto i = fire(FaultKind::stale_bucket, at, "")) {
    const FaultSpec& spec = plan_.faults[*i];
    if (spec.recreate) {
      log_.back().detail = act(model, spec, deployment, -1, clock_.now());
    } else {
      missing_ = std::make_pair(deployment, request.identity);
      log_.back().detail = "the download of " + request.identity + " finds nothing (wrong bucket)";
    }
  }
  if (const auto i = fire(FaultKind::hotload_rejected, at, "")) {
    const int status = plan_.faults[*i].status;
    log_.back().detail = "POST answered " + std::to_string(status);
    return injected_error(status, "hotload of " + request.identity + " rejected");
  }
  if (const auto i = fire(FaultKind::hotload_timeout, at, "")) {
    const FaultSpec& spec = plan_.faults[*i];
    transport_.delay = spec.delay;
    transport_.cut = TransportFault::Cut::reset;
    log_.back().detail = std::string("no answer after ") + seconds_text(spec.delay) + " s; the " +
                         (spec.accepted ? "load starts anyway" : "load does not start");
    if (!spec.accepted) return injected_error(504, "hotload of " + request.identity + " timed out");
  }
  return std::nullopt;
}

void FaultInjector::on_load_start(LoadPlan& plan) {
  Opportunity at;
  at.deployment = plan.deployment;
  at.replica = plan.replica;
  at.target =
      plan.deployment + " replica " + std::to_string(plan.replica) + " load of " + plan.identity;
  if (missing_ && missing_->first == plan.deployment && missing_->second == plan.identity) {
    plan.fail_with = "snapshot " + plan.identity +
                     " not found: the replica read a stale or wrong bucket (injected fault)";
  }
  // A slow download first: whatever else happens, the load takes longer.
  if (const auto i = fire(FaultKind::slow_download, at, "")) {
    const double factor = plan_.faults[*i].factor;
    plan.duration = Duration(static_cast<std::int64_t>(
        std::llround(static_cast<double>(plan.duration.count()) * factor)));
    log_.back().detail = "the load takes " + seconds_text(plan.duration) + " s (x" +
                         seconds_text(seconds(factor)).substr(0, 6) + ")";
  }
  // Then at most one outcome: an error, a corrupt parent, a stuck load, or a restart mid-load.
  if (!plan.fail_with) {
    if (const auto i = fire(FaultKind::load_error, at, "the load ends in error")) {
      const auto& message = plan_.faults[*i].message;
      plan.fail_with =
          message.empty() ? "load of " + plan.identity + " failed (injected fault)" : message;
    } else if (const auto j = fire(FaultKind::partial_rollout, at,
                                   "this replica's load ends in error, the others' do not")) {
      const auto& message = plan_.faults[*j].message;
      plan.fail_with = message.empty()
                           ? "replica " + std::to_string(plan.replica) + " failed to load " +
                                 plan.identity + " (injected fault)"
                           : message;
    } else if (plan.delta && fire(FaultKind::delta_parent_mismatch, at,
                                  "the delta is applied to bytes that are not its parent")) {
      plan.corrupt_parent = true;
    } else if (fire(FaultKind::load_stuck, at, "the load never finishes")) {
      plan.stuck = true;
    }
  }
  if (plan.fail_with || plan.stuck || plan.corrupt_parent) return;
  if (const auto i = fire(FaultKind::replica_restart, at, "")) {
    const Duration offset = Duration(static_cast<std::int64_t>(
        static_cast<double>(plan.duration.count()) * plan_.faults[*i].after_fraction));
    const Duration due = clock_.now() + offset;
    plan.restart_after = offset;
    pending_.push_back(Pending{due, pending_order_++, *i, plan.deployment, plan.replica});
    log_.back().detail =
        "the replica restarts mid-load at t=" + seconds_text(due - installed_at_) + " s";
  }
}

bool FaultInjector::on_prompt_cache_reset(const std::string& deployment, int replica) {
  Opportunity at;
  at.deployment = deployment;
  at.replica = replica;
  at.target = deployment + " replica " + std::to_string(replica);
  return !fire(FaultKind::prompt_cache_not_reset, at, "the prompt cache keeps its entries");
}

std::optional<int> FaultInjector::on_completion(const std::string& deployment) {
  Opportunity at;
  at.deployment = deployment;
  at.target = deployment + " completion";
  if (const auto i = fire(FaultKind::warmup_unavailable, at, "")) {
    const int status = plan_.faults[*i].status;
    log_.back().detail = "the completion answers " + std::to_string(status);
    return status;
  }
  return std::nullopt;
}

bool FaultInjector::on_save(const std::string& trainer_job) {
  Opportunity at;
  at.trainer = trainer_job;
  at.target = trainer_job + " sampler save";
  return fire(FaultKind::save_failure, at, "the save throws SaveFailed").has_value();
}

std::optional<std::string> FaultInjector::on_deployment_created(const std::string& deployment) {
  Opportunity at;
  at.deployment = deployment;
  at.target = deployment + " creation";
  if (const auto i = fire(FaultKind::deployment_failed, at, "")) {
    const std::string& message = plan_.faults[*i].message;
    log_.back().detail = "the deployment enters FAILED instead of READY";
    return message.empty() ? "deployment " + deployment + " failed to start (injected fault)"
                           : message;
  }
  return std::nullopt;
}

void FaultInjector::advance(CloudModel& model, Duration now) {
  if (advancing_) return;  // an action that reads the model comes back here
  advancing_ = true;
  try {
    for (;;) {
      const auto next = std::min_element(
          pending_.begin(), pending_.end(), [](const Pending& a, const Pending& b) {
            return a.due != b.due ? a.due < b.due : a.order < b.order;
          });
      if (next == pending_.end() || next->due > now) break;
      const Pending due = *next;
      pending_.erase(next);
      const FaultSpec& spec = plan_.faults[due.entry];
      std::string detail = act(model, spec, due.deployment, due.replica, due.due);
      if (spec.at) {
        ++fired_count_[due.entry];
        record(due.entry, "timed", due.deployment.empty() ? spec.trainer : due.deployment,
               std::move(detail), due.due);
      }
    }
  } catch (...) {
    advancing_ = false;
    throw;
  }
  advancing_ = false;
}

std::string FaultInjector::act(CloudModel& model, const FaultSpec& spec,
                               const std::string& deployment, int replica, Duration when) {
  FakeDeployment* d = nullptr;
  if (const auto found = model.deployments().find(deployment); found != model.deployments().end()) {
    d = found->second.get();
  }
  const auto no_deployment = [&] { return "skipped: no deployment " + deployment; };
  switch (spec.kind) {
    case FaultKind::replica_restart: {
      if (!d) return no_deployment();
      const int index = std::max(replica, 0);
      if (index >= static_cast<int>(d->replicas().size())) {
        return "skipped: " + deployment + " has no replica " + std::to_string(index);
      }
      // Loads that finished before the restart count; the restart happens at its own time.
      d->advance(when, model.active_hooks());
      const bool was_loading = d->replicas()[static_cast<std::size_t>(index)].loading();
      d->restart_replica(index, when);
      return "replica " + std::to_string(index) + " restarted" + (was_loading ? " mid-load" : "") +
             " on the base model";
    }
    case FaultKind::manager_not_ready: {
      if (!d) return no_deployment();
      std::string which;
      for (std::size_t i = 0; i < d->replicas().size(); ++i) {
        if (replica >= 0 && static_cast<int>(i) != replica) continue;
        d->replicas()[i].hold_manager_until(when + spec.duration);
        which += (which.empty() ? "" : ",") + std::to_string(i);
      }
      return "hotload manager of replica " + which +
             " down until t=" + seconds_text(when + spec.duration - installed_at_) + " s";
    }
    case FaultKind::stale_bucket: {
      if (!d) return no_deployment();
      model.store().recreate_bucket(d->bucket_url());
      return "bucket " + d->bucket_url() + " re-created (generation " +
             std::to_string(model.store().generation(d->bucket_url())) + "): its objects are gone";
    }
    case FaultKind::stale_cache:
      model.store().set_stale_cache(spec.enabled);
      return spec.enabled ? "the storage cache serves older objects under reused names"
                          : "the storage cache is fresh again";
    case FaultKind::session_change: {
      if (!model.has_trainer(spec.trainer)) return "skipped: no trainer " + spec.trainer;
      return "trainer " + spec.trainer + " resumed with session " +
             model.trainer(spec.trainer).restart_session();
    }
    case FaultKind::reattach: {
      if (!d) return no_deployment();
      if (d->trainer_job() == spec.trainer) return "skipped: already attached to " + spec.trainer;
      DeploymentUpdate update;
      update.hot_load_trainer_job = spec.trainer;
      try {
        model.update_deployment(d->account(), d->account(), d->id(), update);
      } catch (const HttpError& e) {
        return std::string("skipped: ") + e.what();
      }
      return "re-attached to " + spec.trainer + "; every replica restarts";
    }
    case FaultKind::deployment_failed: {
      if (!d) return no_deployment();
      d->fail(spec.message.empty() ? "deployment " + deployment + " failed (injected fault)"
                                   : spec.message,
              when);
      return "the deployment enters FAILED";
    }
    case FaultKind::trainer_failed: {
      const std::string message =
          spec.message.empty() ? "trainer job " + spec.trainer + " failed (injected fault)"
                               : spec.message;
      if (!model.fail_trainer_job(spec.trainer, message)) {
        return "skipped: no live trainer job " + spec.trainer;
      }
      return "the trainer job enters JOB_STATE_FAILED";
    }
    default:
      return "no action";
  }
}

}  // namespace weightsync::fake

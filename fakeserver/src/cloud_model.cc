// Validation and mutation of the fake world; every check runs before any change.
#include "weightsync/fake/cloud_model.h"

#include <cstdio>

#include "fault_hooks.h"
#include "weightsync/errors.h"
#include "weightsync/fake/fault_injector.h"
#include "weightsync/fake/http_error.h"
#include "weightsync/fake/sampling.h"

namespace weightsync::fake {
namespace {

bool is_resource_id(std::string_view id) {
  if (id.empty() || id.size() > 63 || id.front() == '-') return false;
  for (const char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

void check_resource_id(std::string_view what, std::string_view id) {
  if (!is_resource_id(id)) {
    throw HttpError(400, std::string(what) +
                             ": expected 1-63 lowercase letters, digits or '-', got '" +
                             std::string(id) + "'");
  }
}

// Splits "accounts/{a}/{collection}/{id}"; nothing if it has another shape.
std::optional<std::pair<std::string, std::string>> split_resource_name(
    std::string_view name, std::string_view collection) {
  const std::string prefix = "accounts/";
  if (name.substr(0, prefix.size()) != prefix) return std::nullopt;
  const auto rest = name.substr(prefix.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto account = rest.substr(0, slash);
  const auto tail = rest.substr(slash + 1);
  if (tail.substr(0, collection.size() + 1) != std::string(collection) + "/") return std::nullopt;
  const auto id = tail.substr(collection.size() + 1);
  if (!is_resource_id(account) || !is_resource_id(id)) return std::nullopt;
  return std::make_pair(std::string(account), std::string(id));
}

}  // namespace

std::string trainer_job_name(std::string_view account, std::string_view trainer_id) {
  return "accounts/" + std::string(account) + "/rlorTrainerJobs/" + std::string(trainer_id);
}

CloudModel::CloudModel(Clock& clock, FakeCloudOptions options)
    : clock_(clock),
      options_(std::move(options)),
      random_(options_.seed),
      store_(options_.state_dir),
      hooks_(std::make_unique<FaultHooks>()),
      active_hooks_(std::make_unique<FaultHooks>()),
      sampling_(std::make_unique<SamplingState>(options_.seed ^ 0x73616d706c696e67ULL)) {
  // The caller's hook runs first; the plan then bends what it decided.
  active_hooks_->on_request = [this](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (hooks_->on_request) {
      if (auto answer = hooks_->on_request(r)) return answer;
    }
    if (faults_active_) return injector_->on_request(r);
    return std::nullopt;
  };
  active_hooks_->on_hotload = [this](const std::string& deployment,
                                     const HotloadRequest& h) -> std::optional<HttpResponse> {
    if (hooks_->on_hotload) {
      if (auto answer = hooks_->on_hotload(deployment, h)) return answer;
    }
    if (faults_active_) return injector_->on_hotload(*this, deployment, h);
    return std::nullopt;
  };
  active_hooks_->on_load_start = [this](LoadPlan& plan) {
    if (hooks_->on_load_start) hooks_->on_load_start(plan);
    if (load_model_.plan) load_model_.plan(plan);
    if (faults_active_) injector_->on_load_start(plan);
    if (load_model_.planned) load_model_.planned(plan);
  };
  active_hooks_->on_prompt_cache_reset = [this](const std::string& deployment, int replica) {
    if (hooks_->on_prompt_cache_reset && !hooks_->on_prompt_cache_reset(deployment, replica)) {
      return false;
    }
    return !faults_active_ || injector_->on_prompt_cache_reset(deployment, replica);
  };
  active_hooks_->on_deployment_created =
      [this](const std::string& deployment) -> std::optional<std::string> {
    if (hooks_->on_deployment_created) {
      if (auto failure = hooks_->on_deployment_created(deployment)) return failure;
    }
    if (faults_active_) return injector_->on_deployment_created(deployment);
    return std::nullopt;
  };
  active_hooks_->on_completion = [this](const std::string& deployment) -> std::optional<int> {
    if (hooks_->on_completion) {
      if (auto status = hooks_->on_completion(deployment)) return status;
    }
    if (faults_active_) return injector_->on_completion(deployment);
    return std::nullopt;
  };
  active_hooks_->on_response = [this](const HttpRequest& r, HttpResponse& response) {
    if (hooks_->on_response) hooks_->on_response(r, response);
    if (faults_active_) injector_->on_response(response);
  };
}

CloudModel::~CloudModel() = default;

void CloudModel::set_fault_plan(FaultPlan plan) {
  std::uint64_t derived = options_.seed ^ 0x6661756c74706c61ULL;  // "faultpla"
  const std::uint64_t seed = plan.seed.value_or(splitmix64(derived));
  if (injector_) {
    for (const auto& [kind, count] : injector_->fired()) metrics_.faults_fired[kind] += count;
  }
  injector_ = std::make_unique<FaultInjector>(std::move(plan), seed, clock_);
  faults_active_ = true;
}

std::size_t CloudModel::add_fault(FaultSpec spec) {
  if (!faults_active_) set_fault_plan(FaultPlan{});
  return injector_->add(std::move(spec));
}

bool CloudModel::save_fault(const std::string& job_name) {
  if (!faults_active_ || !injector_->on_save(job_name)) return false;
  trainer(job_name).fail_next_saves(1);
  return true;
}

void CloudModel::clear_fault_plan() {
  faults_active_ = false;
}

void CloudModel::advance_faults() {
  if (faults_active_) injector_->advance(*this, now());
}

void CloudModel::create_account(const std::string& account, const std::string& api_key) {
  if (!is_resource_id(account)) {
    throw InvalidArgument("account id: expected 1-63 lowercase letters, digits or '-', got '" +
                          account + "'");
  }
  if (api_key.empty() || api_key.find_first_of(" \t\r\n") != std::string::npos) {
    throw InvalidArgument("API key for account " + account +
                          ": expected a non-empty key without whitespace");
  }
  const auto owner = account_by_key_.find(api_key);
  if (owner != account_by_key_.end() && owner->second != account) {
    throw InvalidArgument("API key for account " + account + " already belongs to account " +
                          owner->second);
  }
  accounts_.insert(account);
  account_by_key_[api_key] = account;
}

std::optional<std::string> CloudModel::account_for_key(const std::string& api_key) const {
  const auto found = account_by_key_.find(api_key);
  if (found == account_by_key_.end()) return std::nullopt;
  return found->second;
}

FakeTrainingClient& CloudModel::create_trainer(const std::string& account,
                                               const std::string& trainer_id,
                                               TrainerOptions options,
                                               std::optional<std::string> bucket_url) {
  if (!accounts_.count(account)) throw InvalidArgument("no account '" + account + "'");
  if (!is_resource_id(trainer_id)) {
    throw InvalidArgument("trainer id: expected 1-63 lowercase letters, digits or '-', got '" +
                          trainer_id + "'");
  }
  const std::string job = trainer_job_name(account, trainer_id);
  if (trainers_.count(job)) throw InvalidArgument("trainer " + job + " already exists");
  if (options.seed == 0) options.seed = random_.next();
  const std::string url = bucket_url.value_or(options_.bucket_prefix + "/" + account +
                                              "/rlorTrainerJobs/" + trainer_id);
  store_.ensure_bucket(url);
  auto client = std::make_unique<FakeTrainingClient>(store_, job, url, options);
  auto& entry = trainers_[job] = TrainerEntry{account, trainer_id, std::move(client), TrainerJob{}};
  return *entry.client;
}

TrainerEntry& CloudModel::trainer(const std::string& caller, const std::string& job_name) {
  const auto parts = split_resource_name(job_name, "rlorTrainerJobs");
  if (!parts) {
    throw HttpError(400, "trainer job: expected 'accounts/{account}/rlorTrainerJobs/{id}', got '" +
                             job_name + "'");
  }
  const auto found = trainers_.find(job_name);
  if (found == trainers_.end() || parts->first != caller) {
    throw HttpError(404, "trainer job " + job_name + " not found");
  }
  return found->second;
}

FakeTrainingClient& CloudModel::trainer(const std::string& job_name) {
  const auto found = trainers_.find(job_name);
  if (found == trainers_.end()) throw InvalidArgument("no trainer job " + job_name);
  return *found->second.client;
}

TrainerEntry& CloudModel::create_trainer_job(const std::string& caller, const std::string& account,
                                             std::string id, TrainerOptions options,
                                             std::optional<std::string> bucket_url,
                                             TrainerJob job) {
  check_visible(caller, account, "account " + account);
  if (id.empty()) {
    char text[17];
    std::snprintf(text, sizeof text, "%08llx",
                  static_cast<unsigned long long>(random_.next() & 0xffffffffULL));
    id = "trainer-" + std::string(text);
  }
  check_resource_id("rlorTrainerJobId", id);
  const std::string name = trainer_job_name(account, id);
  if (trainers_.count(name)) throw HttpError(409, "trainer job " + name + " already exists");
  create_trainer(account, id, options, std::move(bucket_url));
  TrainerEntry& entry = trainers_.at(name);
  job.running_at = now() + options_.timing.trainer_startup;
  entry.job = std::move(job);
  return entry;
}

TrainerEntry& CloudModel::trainer_job(const std::string& caller, const std::string& account,
                                      const std::string& id) {
  const std::string name = trainer_job_name(account, id);
  check_visible(caller, account, "trainer job " + name);
  const auto found = trainers_.find(name);
  if (found == trainers_.end()) throw HttpError(404, "trainer job " + name + " not found");
  return found->second;
}

TrainerEntry& CloudModel::delete_trainer_job(const std::string& caller, const std::string& account,
                                             const std::string& id) {
  TrainerEntry& entry = trainer_job(caller, account, id);
  entry.job.deleted = true;
  return entry;
}

TrainerEntry& CloudModel::resume_trainer_job(const std::string& caller, const std::string& account,
                                             const std::string& id) {
  TrainerEntry& entry = trainer_job(caller, account, id);
  const std::string_view state = entry.state(now());
  if (state != kJobFailed) {
    throw HttpError(400, "trainer job " + trainer_job_name(account, id) + ": expected state " +
                             std::string(kJobFailed) + " to resume, got " + std::string(state));
  }
  entry.job.failure.clear();
  entry.job.running_at = now() + options_.timing.trainer_startup;
  entry.client->restart_session();
  return entry;
}

bool CloudModel::fail_trainer_job(const std::string& job_name, const std::string& message) {
  const auto found = trainers_.find(job_name);
  if (found == trainers_.end() || found->second.job.deleted) return false;
  found->second.job.failure = message;
  return true;
}

void CloudModel::check_visible(const std::string& caller, const std::string& account,
                               const std::string& what) const {
  // Another account's resources are simply not there for this key: 404, never their data.
  if (caller != account) throw HttpError(404, what + " not found");
}

void CloudModel::check_transition_type(const std::optional<std::string>& type) {
  if (type && *type != kTransitionAsync && *type != kTransitionSync) {
    throw HttpError(400, "hotLoadTransitionType: expected 'ASYNC' or 'SYNC', got '" + *type + "'");
  }
}

void CloudModel::check_replica_counts(int min_count, int max_count) {
  if (min_count < 0 || max_count < min_count) {
    throw HttpError(400, "replica counts: expected 0 <= minReplicaCount <= maxReplicaCount, got " +
                             std::to_string(min_count) + " and " + std::to_string(max_count));
  }
}

FakeDeployment& CloudModel::create_deployment(const std::string& caller, const std::string& account,
                                              const std::string& id,
                                              const DeploymentConfig& config) {
  check_visible(caller, account, "account " + account);
  if (!accounts_.count(account)) throw HttpError(404, "account " + account + " not found");
  check_resource_id("deploymentId", id);
  const std::string name = deployment_name(account, id);
  if (deployments_.count(name)) throw HttpError(409, "deployment " + name + " already exists");
  if (config.base_model.empty()) {
    throw HttpError(400, "baseModel: expected a model name, got an empty string");
  }
  check_replica_counts(config.min_replica_count, config.max_replica_count);
  check_transition_type(config.hot_load_transition_type);
  std::string bucket = options_.bucket_prefix + "/" + account + "/deployments/" + id;
  if (config.hot_load_trainer_job)
    bucket = trainer(caller, *config.hot_load_trainer_job).client->bucket_url();
  store_.ensure_bucket(bucket);
  auto deployment = std::make_unique<FakeDeployment>(account, id, config, bucket, options_.timing,
                                                     options_.replicas_per_deployment, now());
  if (auto failure = active_hooks_->on_deployment_created(name)) {
    deployment->fail(std::move(*failure), deployment->ready_at());
  }
  return *(deployments_[name] = std::move(deployment));
}

FakeDeployment& CloudModel::deployment(const std::string& caller, const std::string& account,
                                       const std::string& id) {
  const std::string name = deployment_name(account, id);
  check_visible(caller, account, "deployment " + name);
  const auto found = deployments_.find(name);
  if (found == deployments_.end()) throw HttpError(404, "deployment " + name + " not found");
  if (found->second->gone(now())) {
    metrics_.retired += found->second->tally();
    deployments_.erase(found);
    throw HttpError(404, "deployment " + name + " not found");
  }
  advance_faults();
  found->second->advance(now(), *active_hooks_);
  return *found->second;
}

FakeDeployment& CloudModel::deployment_by_name(const std::string& caller, const std::string& name) {
  const auto parts = split_resource_name(name, "deployments");
  if (!parts) {
    throw HttpError(
        400, "deployment: expected 'accounts/{account}/deployments/{id}', got '" + name + "'");
  }
  return deployment(caller, parts->first, parts->second);
}

FakeDeployment& CloudModel::update_deployment(const std::string& caller, const std::string& account,
                                              const std::string& id,
                                              const DeploymentUpdate& update) {
  FakeDeployment& d = deployment(caller, account, id);
  if (d.deleting()) {
    throw HttpError(400, "deployment " + d.name() + " is " + d.state(now()) +
                             ": expected a deployment that is not being deleted");
  }
  check_transition_type(update.hot_load_transition_type);
  check_replica_counts(update.min_replica_count.value_or(d.config().min_replica_count),
                       update.max_replica_count.value_or(d.config().max_replica_count));
  std::string bucket = d.bucket_url();
  if (update.hot_load_trainer_job) {
    bucket = trainer(caller, *update.hot_load_trainer_job).client->bucket_url();
  }
  if (update.hot_load_transition_type) d.set_transition_type(*update.hot_load_transition_type);
  if (update.min_replica_count || update.max_replica_count) {
    d.set_replica_counts(update.min_replica_count, update.max_replica_count, now());
  }
  if (update.hot_load_trainer_job) d.reattach(*update.hot_load_trainer_job, bucket, now());
  return d;
}

Deployment CloudModel::delete_deployment(const std::string& caller, const std::string& account,
                                         const std::string& id, bool hard) {
  FakeDeployment& d = deployment(caller, account, id);
  d.start_deletion(now(), d.timing().deletion_time, hard);
  Deployment answer = d.wire(now());
  if (d.gone(now())) {
    metrics_.retired += d.tally();
    deployments_.erase(d.name());
  }
  return answer;
}

}  // namespace weightsync::fake

// The lock around the model; direct calls act as the deployment's own account.
#include "weightsync/fake/fake_cloud.h"

#include "weightsync/fake/fault_injector.h"

namespace weightsync::fake {
namespace {

// The cloud's lock around one API exchange, counting in the metrics how long it was waited
// for and held (what /metrics reports as the lock's contention).
class MeasuredLock {
 public:
  MeasuredLock(std::mutex& mutex, FakeMetrics& metrics)
      : metrics_(metrics), asked_(Steady::now()), lock_(mutex), taken_(Steady::now()) {}
  // Counted on release, so an exchange that reads the metrics does not see itself.
  ~MeasuredLock() {
    ++metrics_.lock_acquisitions;
    metrics_.lock_waited += taken_ - asked_;
    metrics_.lock_held += Steady::now() - taken_;
  }
  MeasuredLock(const MeasuredLock&) = delete;
  MeasuredLock& operator=(const MeasuredLock&) = delete;

 private:
  using Steady = std::chrono::steady_clock;
  FakeMetrics& metrics_;
  Steady::time_point asked_;
  std::lock_guard<std::mutex> lock_;
  Steady::time_point taken_;
};

}  // namespace

FakeCloud::FakeCloud(Clock& clock, FakeCloudOptions options)
    : model_(clock, std::move(options)), router_(model_) {}

HttpResponse FakeCloud::handle(const HttpRequest& request) {
  StreamedResponse answer = handle_streaming(request);
  if (answer.stream) {
    while (auto piece = next_chunk(*answer.stream)) answer.head.body += *piece;
  }
  return std::move(answer.head);
}

StreamedResponse FakeCloud::handle_streaming(const HttpRequest& request) {
  MeasuredLock lock(mutex_, model_.metrics());
  StreamedResponse answer{router_.handle(request), nullptr};
  answer.stream = std::move(model_.sampling().opened);
  model_.sampling().opened.reset();
  return answer;
}

std::optional<std::string> FakeCloud::next_chunk(CompletionStream& stream) {
  if (stream.ended()) return std::nullopt;
  Clock& clock = model_.clock();
  clock.sleep_for(stream.next_due() - clock.now());
  MeasuredLock lock(mutex_, model_.metrics());
  return stream.next(model_);
}

void FakeCloud::create_account(const std::string& account, const std::string& api_key) {
  std::lock_guard lock(mutex_);
  model_.create_account(account, api_key);
}

FakeTrainingClient& FakeCloud::create_trainer(const std::string& account,
                                              const std::string& trainer_id, TrainerOptions options,
                                              std::optional<std::string> bucket_url) {
  std::lock_guard lock(mutex_);
  return model_.create_trainer(account, trainer_id, options, std::move(bucket_url));
}

FakeTrainingClient& FakeCloud::trainer(const std::string& job_name) {
  std::lock_guard lock(mutex_);
  return model_.trainer(job_name);
}

Deployment FakeCloud::create_deployment(const std::string& account, const std::string& id,
                                        const DeploymentConfig& config) {
  std::lock_guard lock(mutex_);
  return model_.create_deployment(account, account, id, config).wire(model_.now());
}

Deployment FakeCloud::deployment(const std::string& account, const std::string& id) {
  std::lock_guard lock(mutex_);
  return model_.deployment(account, account, id).wire(model_.now());
}

std::vector<ReplicaView> FakeCloud::replicas(const std::string& account, const std::string& id) {
  std::lock_guard lock(mutex_);
  const FakeDeployment& d = model_.deployment(account, account, id);
  const Duration now = model_.now();
  std::vector<ReplicaView> views;
  for (const Replica& r : d.replicas()) {
    views.push_back(ReplicaView{r.name(), r.served_identity(), r.served_checksum(),
                                r.served_bytes(), r.stage(now), r.stage_target(), r.last_error(),
                                r.readiness(now), r.manager_ready(now), r.chain_identity(),
                                r.loaded_adapters(), r.prompt_cache().entries(),
                                r.prompt_cache().hits(), r.restarts()});
  }
  return views;
}

void FakeCloud::restart_replica(const std::string& account, const std::string& id, int index) {
  std::lock_guard lock(mutex_);
  model_.deployment(account, account, id).restart_replica(index, model_.now());
}

void FakeCloud::set_deployment_timing(const std::string& account, const std::string& id,
                                      const DeploymentTiming& timing) {
  std::lock_guard lock(mutex_);
  model_.deployment(account, account, id).timing() = timing;
}

void FakeCloud::set_fault_plan(FaultPlan plan) {
  std::lock_guard lock(mutex_);
  model_.set_fault_plan(std::move(plan));
}

void FakeCloud::clear_fault_plan() {
  std::lock_guard lock(mutex_);
  model_.clear_fault_plan();
}

std::size_t FakeCloud::add_fault(FaultSpec spec) {
  std::lock_guard lock(mutex_);
  return model_.add_fault(std::move(spec));
}

bool FakeCloud::save_fault(const std::string& job_name) {
  std::lock_guard lock(mutex_);
  return model_.save_fault(job_name);
}

void FakeCloud::set_load_model(LoadModel model) {
  std::lock_guard lock(mutex_);
  model_.load_model() = std::move(model);
}

FaultPlan FakeCloud::fault_plan() {
  std::lock_guard lock(mutex_);
  const FaultInjector* injector = model_.fault_injector();
  if (!injector) return FaultPlan{};
  FaultPlan plan = injector->plan();
  plan.seed = injector->seed();
  return plan;
}

std::vector<FaultEvent> FakeCloud::fault_log() {
  std::lock_guard lock(mutex_);
  model_.advance_faults();
  const FaultInjector* injector = model_.fault_injector();
  return injector ? injector->log() : std::vector<FaultEvent>{};
}

std::string FakeCloud::fault_log_text() {
  std::lock_guard lock(mutex_);
  model_.advance_faults();
  const FaultInjector* injector = model_.fault_injector();
  return injector ? format_fault_log(injector->log(), injector->seed()) : format_fault_log({}, 0);
}

}  // namespace weightsync::fake

// A scenario's faults as a fault plan: the per-kind probability form and the plan document.
#include <algorithm>
#include <array>

#include "weightsync/errors.h"
#include "weightsync/sim/scenario.h"

namespace weightsync::sim {
namespace {

using fake::FaultKind;

// The kinds the per-kind form names, in the order it writes them.
constexpr std::array<FaultKind, 7> kPerKind = {
    FaultKind::save_failure,      FaultKind::hotload_rejected, FaultKind::load_error,
    FaultKind::load_stuck,        FaultKind::slow_download,    FaultKind::replica_restart,
    FaultKind::warmup_unavailable};
constexpr int kRejectStatus = 503;  // the per-kind form's hotload_reject_status default
constexpr double kSlowFactor = 4;   // and its slow_download_factor default

const fake::FaultSpec* find(const fake::FaultPlan& plan, FaultKind kind) {
  for (const fake::FaultSpec& spec : plan.faults) {
    if (spec.kind == kind && spec.probability) return &spec;
  }
  return nullptr;
}

// True when the per-kind form says all the plan says: one unfiltered, unlimited random entry per
// kind it names, with no parameter it cannot write.
bool per_kind_form_fits(const fake::FaultPlan& plan) {
  if (plan.seed) return false;
  const fake::FaultSpec defaults;
  for (std::size_t i = 0; i < plan.faults.size(); ++i) {
    const fake::FaultSpec& s = plan.faults[i];
    if (std::find(kPerKind.begin(), kPerKind.end(), s.kind) == kPerKind.end()) return false;
    if (!s.probability || *s.probability <= 0 || s.limit || s.deployment || s.replica || s.method ||
        s.path || !s.message.empty() || !s.trainer.empty()) {
      return false;
    }
    if (s.kind == FaultKind::warmup_unavailable && s.status != defaults.status) return false;
    if (s.kind == FaultKind::replica_restart && s.after_fraction != defaults.after_fraction) {
      return false;
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (plan.faults[j].kind == s.kind) return false;
    }
  }
  return true;
}

}  // namespace

fake::FaultPlan fault_plan_from_json(const nlohmann::ordered_json& faults,
                                     const std::string& where) {
  fake::FaultPlan plan;
  try {
    plan = fake::parse_fault_plan(faults.dump(), where);
  } catch (const InvalidArgument& e) {
    throw ScenarioError(e.what());
  }
  if (plan.seed) {
    throw ScenarioError(where + ".seed: expected none (the scenario's seed derives the fault " +
                        "stream), got " + std::to_string(*plan.seed));
  }
  return plan;
}

fake::FaultSpec* set_fault_probability(fake::FaultPlan& plan, FaultKind kind, double p) {
  auto& faults = plan.faults;
  const auto it = std::find_if(faults.begin(), faults.end(), [&](const fake::FaultSpec& s) {
    return s.kind == kind && s.probability;
  });
  if (p <= 0) {
    if (it != faults.end()) faults.erase(it);
    return nullptr;
  }
  if (it != faults.end()) {
    it->probability = p;
    return &*it;
  }
  fake::FaultSpec& spec = faults.emplace_back();
  spec.kind = kind;
  spec.probability = p;
  if (kind == FaultKind::slow_download) spec.factor = kSlowFactor;
  return &spec;
}

double fault_probability(const fake::FaultPlan& plan, FaultKind kind) {
  const fake::FaultSpec* spec = find(plan, kind);
  return spec ? *spec->probability : 0;
}

nlohmann::ordered_json faults_to_json(const fake::FaultPlan& plan) {
  if (!per_kind_form_fits(plan))
    return nlohmann::ordered_json::parse(fake::encode_fault_plan(plan));
  const fake::FaultSpec* rejected = find(plan, FaultKind::hotload_rejected);
  const fake::FaultSpec* slow = find(plan, FaultKind::slow_download);
  const auto p = [&](FaultKind kind) { return fault_probability(plan, kind); };
  return {{"save_failure", p(FaultKind::save_failure)},
          {"hotload_rejected", p(FaultKind::hotload_rejected)},
          {"hotload_reject_status", rejected ? rejected->status : kRejectStatus},
          {"load_error", p(FaultKind::load_error)},
          {"load_stuck", p(FaultKind::load_stuck)},
          {"slow_download", p(FaultKind::slow_download)},
          {"slow_download_factor", slow ? slow->factor : kSlowFactor},
          {"replica_restart", p(FaultKind::replica_restart)},
          {"warmup_unavailable", p(FaultKind::warmup_unavailable)}};
}

}  // namespace weightsync::sim

// The report's page: what was run, the tables, the plots with what they show, and the
// recommendation, every figure taken from the summaries.
#include <optional>
#include <sstream>

#include "report_parts.h"
#include "weightsync/sim/decode_model.h"

namespace weightsync::sim {

namespace {

std::string seconds_text(Duration d) {
  return fixed(to_seconds(d), 1) + " s";
}

std::string gb(double bytes) {
  return significant(bytes / 1e9, 3) + " GB";
}

std::string mb(double bytes) {
  return significant(bytes / 1e6, 3) + " MB";
}

std::string join_seeds(const std::vector<std::uint64_t>& seeds) {
  std::string out;
  for (auto s : seeds) out += (out.empty() ? "" : ", ") + std::to_string(s);
  return out;
}

std::string command_line(const ReportData& d) {
  std::string cmd = "weightsync-sim report --scenario " + d.options.scenario_path.string() +
                    " --out " + d.options.out_dir.lexically_normal().string() + " --budget " +
                    std::to_string(d.options.staleness_budget);
  if (d.options.steps) cmd += " --steps " + std::to_string(*d.options.steps);
  if (!d.options.seeds.empty()) cmd += " --seeds " + join_seeds(d.options.seeds);
  return cmd;
}

// The plan's random entries in words, in the order of the scenario's per-kind form; any other
// entry as its kind and trigger.
std::string fault_list(const fake::FaultPlan& plan) {
  using fake::FaultKind;
  std::string out;
  const auto add = [&](const std::string& text) {
    out += std::string(out.empty() ? "" : ", ") + text;
  };
  const auto words = [](const fake::FaultSpec& f) -> std::optional<std::string> {
    switch (f.kind) {
      case FaultKind::save_failure:
        return "of saves fail";
      case FaultKind::hotload_rejected:
        return "of hotload POSTs answer " + std::to_string(f.status) + " (retried)";
      case FaultKind::load_error:
        return "of replica loads end in error";
      case FaultKind::load_stuck:
        return "of replica loads stick until the hotload timeout";
      case FaultKind::slow_download:
        return "of downloads are " + fixed(f.factor, 0) + "x slower";
      case FaultKind::replica_restart:
        return "of replica loads see the replica restart halfway";
      case FaultKind::warmup_unavailable:
        return "of warmup attempts answer " + std::to_string(f.status);
      default:
        return std::nullopt;
    }
  };
  for (const FaultKind kind :
       {FaultKind::save_failure, FaultKind::hotload_rejected, FaultKind::load_error,
        FaultKind::load_stuck, FaultKind::slow_download, FaultKind::replica_restart,
        FaultKind::warmup_unavailable}) {
    for (const fake::FaultSpec& f : plan.faults) {
      if (f.kind == kind && f.probability && words(f)) {
        add(fixed(100 * *f.probability, 1) + "% " + *words(f));
      }
    }
  }
  for (const fake::FaultSpec& f : plan.faults) {
    if (f.probability && words(f)) continue;
    add(std::string(to_string(f.kind)) + " (" +
        (f.count         ? std::to_string(*f.count) + " after " + std::to_string(f.after)
         : f.probability ? fixed(100 * *f.probability, 1) + "%"
                         : "at " + fixed(to_seconds(f.at.value_or(Duration{})), 0) + " s") +
        ")");
  }
  return out.empty() ? "none" : out;
}

void scenario_section(std::ostringstream& md, const ReportData& d) {
  const Scenario& s = d.scenario;
  const double base = static_cast<double>(s.base_bytes());
  const double delta = static_cast<double>(s.delta_bytes(1));
  md << "## The scenario\n\n";
  md << "| | |\n|---|---|\n";
  md << "| model | " << significant(s.model.params / 1e9, 2) << "B parameters, " << s.model.dtype
     << ": a base snapshot is " << gb(base) << ", a one-step delta " << mb(delta) << " ("
     << fixed(100 * s.model.changed_fraction_per_step, 2) << "% changed per step, "
     << fixed(s.model.delta_compression, 2) << "x compression) |\n";
  md << "| trainer | ";
  if (s.hardware.trainer_gpus > 0) {
    md << "step time from its FLOPs on " << s.hardware.trainer_gpus << " x " << s.hardware.gpu;
  } else {
    md << "step time " << fixed(s.trainer.step_time_s.mean(), 0) << " s mean";
  }
  md << ", batch of " << s.trainer.batch_size << " samples; a base saves in "
     << seconds_text(s.save_time(s.base_bytes())) << ", a delta in "
     << seconds_text(s.save_time(s.delta_bytes(1))) << " |\n";
  md << "| rollout | " << s.rollout.concurrency << " requests in flight, "
     << fixed(s.rollout.generation_tokens.mean(), 0) << " tokens mean ("
     << fixed(s.rollout.prompt_tokens.mean(), 0) << "-token prompts); "
     << make_decode_model(s).describe() << " |\n";
  if (!s.hardware.gpu.empty()) {
    md << "| hardware | " << s.hardware.placement << " placement, " << s.hardware.gpu << " GPUs, "
       << s.hardware.gpus_per_replica << " per replica, model shape " << s.model.shape
       << ", serving in " << s.serving_dtype() << " |\n";
  }
  md << "| deployment | " << s.deployment.replicas
     << (s.deployment.replicas == 1 ? " replica, " : " replicas, ") << s.deployment.transition
     << " transition; a base loads in " << seconds_text(s.load_time(s.base_bytes()))
     << ", a one-step delta in " << seconds_text(s.load_time(s.delta_bytes(1)))
     << "; hotload timeout " << fixed(s.deployment.hotload_timeout_s, 0) << " s |\n";
  md << "| faults | " << fault_list(s.faults) << " |\n\n";
  md << "Where these figures come from (published, derived or estimated) is listed in the "
        "scenario file's `sources`.\n\n";
}

void results_table(std::ostringstream& md, const ReportData& d) {
  md << "## Results\n\n";
  md << "| policy | staleness mean | p99 | max | steps/hour (seed range) | vs every step "
        "| tokens/s vs every step | MB/step | sync overhead | trainer idle | samples dropped "
        "| failed syncs | recoveries |\n";
  md << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  const auto versus = [](double value, double base) {
    return base > 0 ? fixed(value / base, 2) + "x" : std::string("–");
  };
  const PolicySummary* every_step = nullptr;
  for (const auto& s : d.main) {
    if (s.policy.name == "every_step") every_step = &s;
  }
  for (const auto& s : d.main) {
    const bool chosen = d.recommendation.chosen && &d.main[*d.recommendation.chosen] == &s;
    md << "| " << (chosen ? "**" + s.policy.label + "**" : s.policy.label) << " | "
       << fixed(s.staleness_mean, 2) << " | " << s.staleness_p99 << " | " << s.staleness_max
       << " | " << significant(s.steps_per_hour, 3) << " (" << significant(s.steps_per_hour_min, 3)
       << "–" << significant(s.steps_per_hour_max, 3) << ") | "
       << (every_step ? versus(s.steps_per_hour, every_step->steps_per_hour) : "–") << " | "
       << (every_step ? versus(s.tokens_per_second, every_step->tokens_per_second) : "–")
       << " | " << significant(s.mb_per_step, 3) << " | " << fixed(s.sync_overhead_pct, 1) << "% | "
       << fixed(s.trainer_idle_pct, 1) << "% | " << fixed(s.dropped_pct, 1) << "% | "
       << fixed(s.failed_syncs, 1) << " | " << fixed(s.recoveries, 1) << " |\n";
  }
  md << "\nStaleness is counted in policy versions: a sample used at step s that started "
        "generating on the weights after step v has staleness (s - 1) - v. Sync overhead is the "
        "trainer's time in syncs over its training plus sync time; trainer idle is its time "
        "waiting for samples over the whole run. MB/step counts every snapshot saved (bases "
        "after failed syncs included), each of which every replica loads. Failed syncs and "
        "recoveries are per run. Tokens/s counts the prompt and generated tokens trained on: "
        "a policy that drops stale samples drops the long ones first (they take longest to "
        "generate), so its steps are shorter and its gain in steps/hour is larger than its "
        "gain in tokens trained on.\n\n";
}

void plots_section(std::ostringstream& md, const ReportData& d) {
  md << "## Staleness vs sync interval\n\n![staleness vs sync interval](" << kStalenessPlot
     << ")\n\n";
  md << "Synchronous training on weights synced every N steps trains on samples up to N - 1 "
        "versions old (mean about (N - 1) / 2). Async keeps generating while the trainer trains "
        "and syncs every step; its samples are as old as its bound allows, and older ones are "
        "dropped. The sampler refresh (the service client's save_weights_for_sampler, then "
        "create_sampling_client, every N steps) is synchronous too and trains on samples as old "
        "as every N's. The dotted line is the budget of "
     << d.options.staleness_budget << ".\n\n";
  md << "## Throughput vs sync interval\n\n![throughput vs sync interval](" << kThroughputPlot
     << ")\n\n";
  md << "Synchronous policies wait for each batch to be generated after the previous step, so "
        "their throughput is bounded by generation, whatever the interval; syncing less often "
        "only saves the sync time. Async overlaps generation with training. The sampler "
        "refresh runs the same chain as every N through the service client; any gap between "
        "the two lines is the client's own calls.\n\n";
  md << "## Bytes per step vs sync interval\n\n![bytes per step vs sync interval](" << kBytesPlot
     << ")\n\n";
  md << "A delta spanning N steps carries the parameters changed in any of them, so bytes per "
        "step fall only slowly with N; bases re-sent after failed syncs add to them. Every run "
        "starts from a base loaded before its first step, not counted; the sampler refresh's "
        "service client starts a chain of its own, so its first refresh sends one more base, "
        "counted.\n\n";
  md << "## Staleness histogram per policy\n\n![staleness histogram per policy](" << kHistogramPlot
     << ")\n\n";
  md << "The share of the samples trained on at each staleness, over all seeds, on a "
        "logarithmic scale so that the tails left by failed syncs show; each panel's axis ends at "
        "that policy's largest staleness.\n\n";
}

void fault_section(std::ostringstream& md, const ReportData& d) {
  md << "## Time lost to failed syncs\n\n";
  if (d.reference_faults) {
    md << "The scenario injects no faults, so this section runs the same grid under the "
          "reference fault plan (the probabilities of the `8b-dense-1node-faults` preset): "
       << fault_list(d.faults) << ". The tables above are without faults.\n\n";
  } else {
    md << "Under the scenario's own faults (" << fault_list(d.faults)
       << "), compared with the same seeds with every fault switched off.\n\n";
  }
  md << "![time lost to failed syncs](" << kFaultPlot << ")\n\n";
  md << "| policy | failed syncs | recoveries | mean time to recover | minutes in failed syncs "
        "per 100 steps | total slowdown per 100 steps | steps/hour without faults | with "
        "faults |\n";
  md << "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  const int steps = d.scenario.steps;
  for (std::size_t i = 0; i < d.faulty.size(); ++i) {
    const PolicySummary& f = d.faulty[i];
    const PolicySummary& c = d.clean[i];
    md << "| " << f.policy.label << " | " << fixed(f.failed_syncs, 1) << " | "
       << fixed(f.recoveries, 1) << " | " << fixed(f.time_to_recover_mean_s, 0) << " s | "
       << fixed(failed_minutes_per_100_steps(f, steps), 2) << " min | "
       << fixed(extra_minutes_per_100_steps(f, c, steps), 2) << " min | "
       << significant(c.steps_per_hour, 3) << " | " << significant(f.steps_per_hour, 3) << " |\n";
  }
  md << "\n\"In failed syncs\" is the trainer's time inside sync attempts that failed (a stuck "
        "load costs the whole hotload timeout). The total slowdown adds what follows a failure: "
        "the base re-sent by the next sync, and the wait for samples generated on the weights "
        "that replace the stale ones. Both are per 100 training steps, means over the seeds.\n\n";
  const std::optional<std::size_t> chosen = d.recommendation.chosen;
  if (chosen) {
    const PolicySummary& f = d.faulty[*chosen];
    md << "For the recommended policy, " << f.policy.label << ", faults cost "
       << fixed(extra_minutes_per_100_steps(f, d.clean[*chosen], steps), 1)
       << " trainer minutes per 100 steps (" << fixed(f.failed_syncs, 1)
       << " failed syncs per run of " << steps << " steps).\n\n";
  }
}

}  // namespace

void calibration_section(std::ostringstream& md, const ReportData& d) {
  md << "## Calibration\n\n";
  if (d.calibration.empty()) {
    md << "The calibration suite was not run for this report.\n\n";
    return;
  }
  int judged = 0, passed = 0, gaps = 0;
  for (const auto& c : d.calibration) {
    if (!c.tolerance) continue;
    ++judged;
    if (c.status() == "pass") ++passed;
    if (c.status() == "known gap") ++gaps;
  }
  md << "The decode and training model behind these numbers is checked against published "
        "measurements (`weightsync-sim calibrate`, cases in `simulations/calibration/`): "
     << passed << " of " << judged << " judged figures within their tolerance";
  if (gaps) md << ", " << gaps << " outside it as declared known gaps (see the cases)";
  md << ".\n\n" << calibration_table(d.calibration, true) << "\n";
}

std::string report_markdown(const ReportData& d) {
  std::ostringstream md;
  md << "# Sync-policy report: " << d.scenario.name << "\n\n";
  if (!d.scenario.description.empty()) md << d.scenario.description << "\n\n";
  md << "Generated by\n\n```\n" << command_line(d) << "\n```\n\n";
  md << report_policies().size() << " policies x " << d.seeds.size() << " seeds ("
     << join_seeds(d.seeds) << "), " << d.scenario.steps
     << " training steps each, with and without faults: the production `WeightSyncer` (the "
        "`ServiceClient` for refresh N) and `DeploymentManager` drive the fake deployment on a "
        "virtual clock (see "
        "`simulations/README.md` for the model and its limits). Figures are means over the "
        "seeds; p99 and max staleness are the worst seed's. The same command gives the same "
        "file: nothing here depends on the machine. The numbers behind every plot are in "
        "`data/`, with the gnuplot script that draws them.\n\n";
  scenario_section(md, d);
  results_table(md, d);
  plots_section(md, d);
  fault_section(md, d);
  calibration_section(md, d);
  md << "## Recommendation\n\n" << d.recommendation.text << "\n";
  return md.str();
}

}  // namespace weightsync::sim

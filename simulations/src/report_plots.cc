// The report's plots: the numbers go to data/*.dat, the drawing to data/plots.gp, and gnuplot
// (pngcairo) turns them into PNGs, so anyone can restyle a plot without re-running the grid.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "report_parts.h"

namespace weightsync::sim {

namespace fs = std::filesystem;

namespace {

// A gnuplot single-quoted string: a quote is doubled.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// A data-file column: double quotes keep a label with spaces in one column.
std::string label_column(const std::string& label) {
  return "\"" + label + "\"";
}

// The synchronous policies by interval: every step and every N (`refresh` false), or the
// sampler refresh (`refresh` true). Columns: interval mean p99 max steps/hour MB/step.
std::string sync_table(const std::vector<PolicySummary>& main, bool refresh) {
  std::ostringstream out;
  out << "# interval staleness_mean staleness_p99 staleness_max steps_per_hour mb_per_step\n";
  for (const auto& s : main) {
    if (s.policy.asynchronous() || s.policy.sampler_refresh() != refresh) continue;
    out << s.policy.interval << ' ' << fixed(s.staleness_mean, 4) << ' ' << s.staleness_p99 << ' '
        << s.staleness_max << ' ' << fixed(s.steps_per_hour, 4) << ' ' << fixed(s.mb_per_step, 4)
        << '\n';
  }
  return out.str();
}

// async, one row per bound: k interval mean p99 max steps/hour MB/step.
std::string async_table(const std::vector<PolicySummary>& main) {
  std::ostringstream out;
  out << "# k interval staleness_mean staleness_p99 staleness_max steps_per_hour mb_per_step\n";
  for (const auto& s : main) {
    if (!s.policy.asynchronous()) continue;
    out << s.policy.staleness_bound << ' ' << s.policy.interval << ' ' << fixed(s.staleness_mean, 4)
        << ' ' << s.staleness_p99 << ' ' << s.staleness_max << ' ' << fixed(s.steps_per_hour, 4)
        << ' ' << fixed(s.mb_per_step, 4) << '\n';
  }
  return out.str();
}

// One block per policy (separated by two blank lines, gnuplot's `index`): staleness fraction,
// for the staleness values that occur (the plot's y axis is logarithmic).
std::string histogram_table(const std::vector<PolicySummary>& main) {
  std::ostringstream out;
  for (const auto& s : main) {
    std::int64_t total = 0;
    for (auto count : s.staleness_histogram) total += count;
    out << "# " << s.policy.label << ": staleness fraction_of_samples\n";
    bool any = false;
    for (std::size_t i = 0; i < s.staleness_histogram.size(); ++i) {
      if (s.staleness_histogram[i] == 0) continue;
      any = true;
      out << i << ' '
          << fixed(static_cast<double>(s.staleness_histogram[i]) / static_cast<double>(total), 6)
          << '\n';
    }
    if (!any) out << "0 1e-9\n";  // no sample trained on: a point below the plot's range
    out << "\n\n";
  }
  return out.str();
}

// A tic step from 1, 2, 5, 10, 20, 50, ... that puts at most five tics on [0, largest].
int tic_step(int largest) {
  for (int decade = 1;; decade *= 10) {
    for (int step : {decade, 2 * decade, 5 * decade}) {
      if (largest / step <= 4) return step;
    }
  }
}

// The largest staleness of a policy, at least 1 so a histogram has some width.
int largest_staleness(const PolicySummary& s) {
  return std::max(1, static_cast<int>(s.staleness_histogram.size()) - 1);
}

std::string fault_table(const ReportData& d) {
  std::ostringstream out;
  out << "# policy failed_sync_minutes_per_100_steps extra_minutes_per_100_steps "
         "failed_syncs_per_run\n";
  for (std::size_t i = 0; i < d.faulty.size(); ++i) {
    out << label_column(d.faulty[i].policy.label) << ' '
        << fixed(failed_minutes_per_100_steps(d.faulty[i], d.scenario.steps), 4) << ' '
        << fixed(extra_minutes_per_100_steps(d.faulty[i], d.clean[i], d.scenario.steps), 4) << ' '
        << fixed(d.faulty[i].failed_syncs, 2) << '\n';
  }
  return out.str();
}

// The async points sit just right of interval 1 (they sync every step), one per bound.
std::string async_points(const std::vector<PolicySummary>& main, int y_column,
                         const std::string& what) {
  std::string plots;
  int row = 0;
  const char* colors[] = {"#d62728", "#9467bd", "#8c564b", "#e377c2"};
  for (const auto& s : main) {
    if (!s.policy.asynchronous()) continue;
    const std::string x = "($2*" + fixed(1.07 + 0.07 * row, 2) + ")";
    const std::string color = colors[row % 4];
    plots += ", \\\n     'data/async.dat' every ::" + std::to_string(row) +
             "::" + std::to_string(row) + " using " + x + ":" + std::to_string(y_column) +
             " with points pt 7 ps 1.6 lc rgb '" + color + "' title " +
             quoted(s.policy.label + what);
    ++row;
  }
  return plots;
}

std::string plot_script(const ReportData& d) {
  const std::string name = d.scenario.name;
  const int budget = d.options.staleness_budget;
  std::ostringstream gp;
  gp << "# Draws the report's plots from data/*.dat; run from the report's folder: gnuplot "
        "data/plots.gp\n";
  gp << "set terminal pngcairo noenhanced size 800,500 font 'Sans,10'\n";
  gp << "set grid\nset key outside right top\n";
  gp << "set style line 1 lc rgb '#1f77b4' lw 2 pt 5 ps 1.2\n";
  gp << "set style line 2 lc rgb '#1f77b4' lw 2 dt 2 pt 4 ps 1.2\n";
  gp << "set style line 3 lc rgb '#2ca02c' lw 2 dt 2 pt 6 ps 1.2\n";
  gp << "set style line 4 lc rgb '#ff7f0e' lw 2 dt 4 pt 9 ps 1.4\n";
  gp << "set style line 5 lc rgb '#ff7f0e' lw 1 dt 4 pt 8 ps 1.4\n";
  gp << "set logscale x 2\nset xrange [0.8:20]\nset xtics (1, 2, 4, 8, 16)\n";
  gp << "set xlabel 'sync interval (training steps between syncs; async syncs every step)'\n";

  gp << "\nset output " << quoted(kStalenessPlot) << "\n";
  gp << "set title " << quoted(name + ": staleness of the samples trained on") << "\n";
  gp << "set ylabel 'staleness (policy versions behind the trainer)'\nset yrange [0:*]\n";
  gp << "plot 'data/sync.dat' using 1:2 with linespoints ls 1 title 'every N: mean', \\\n"
     << "     'data/sync.dat' using 1:3 with linespoints ls 2 title 'every N: p99 (worst seed)', "
        "\\\n"
     << "     'data/sync.dat' using 1:4 with linespoints ls 3 title 'every N: max', \\\n"
     << "     'data/refresh.dat' using 1:2 with linespoints ls 4 title 'sampler refresh: mean', "
        "\\\n"
     << "     'data/refresh.dat' using 1:3 with linespoints ls 5 title 'sampler refresh: p99', "
        "\\\n"
     << "     " << budget << " with lines lc rgb '#7f7f7f' dt 3 lw 2 title "
     << quoted("staleness budget (" + std::to_string(budget) + ")")
     << async_points(d.main, 3, ": mean") << "\n";

  gp << "\nset output " << quoted(kThroughputPlot) << "\n";
  gp << "set title " << quoted(name + ": training throughput") << "\n";
  gp << "set ylabel 'training steps per hour (mean over seeds)'\nset yrange [0:*]\n";
  gp << "plot 'data/sync.dat' using 1:5 with linespoints ls 1 title 'every N', \\\n"
     << "     'data/refresh.dat' using 1:5 with linespoints ls 4 title 'sampler refresh every N'"
     << async_points(d.main, 6, "") << "\n";

  gp << "\nset output " << quoted(kBytesPlot) << "\n";
  gp << "set title " << quoted(name + ": snapshot bytes per training step") << "\n";
  gp << "set ylabel 'snapshot MB per training step (1 MB = 1e6 B)'\nset yrange [0:*]\n";
  gp << "plot 'data/sync.dat' using 1:6 with linespoints ls 1 title 'every N', \\\n"
     << "     'data/refresh.dat' using 1:6 with linespoints ls 4 title 'sampler refresh every N'"
     << async_points(d.main, 7, "") << "\n";

  gp << "\nunset logscale x\nunset xtics\nset xtics autofreq\nset key off\n";
  gp << "set output " << quoted(kHistogramPlot) << "\n";
  gp << "set logscale y\nset yrange [1e-4:1.5]\nset ytics ('0.01%%' 1e-4, '0.1%%' 1e-3, '1%%' "
        "0.01, '10%%' 0.1, '100%%' 1)\n";
  gp << "set style fill solid 0.8 noborder\nset boxwidth 0.8\n";
  // Five panels a row, the picture as tall as its rows need.
  const std::size_t rows = (d.main.size() + 4) / 5;
  gp << "set terminal pngcairo noenhanced size 1000," << 100 + 230 * rows << " font 'Sans,10'\n";
  gp << "set multiplot layout " << rows << ",5 title "
     << quoted(name + ": staleness histogram per policy (share of the samples trained on)") << "\n";
  gp << "set xlabel 'staleness'\nset ylabel 'share of samples'\n";
  for (std::size_t i = 0; i < d.main.size(); ++i) {
    const int largest = largest_staleness(d.main[i]);
    gp << "set title " << quoted(d.main[i].policy.label) << "\n";
    gp << "set xrange [-0.5:" << largest << ".5]\nset xtics 0, " << tic_step(largest) << "\n";
    gp << "plot 'data/histogram.dat' index " << i << " using 1:2 with boxes lc rgb '#1f77b4'\n";
  }
  gp << "unset multiplot\n";

  gp << "\nreset\nset terminal pngcairo noenhanced size 800,500 font 'Sans,10'\n";
  gp << "set output " << quoted(kFaultPlot) << "\n";
  gp << "set title "
     << quoted(name + ": trainer time lost to faults (" +
               (d.reference_faults ? "reference fault plan" : "the scenario's faults") + ")")
     << "\n";
  gp << "set grid ytics\nset key top left\n";
  gp << "set ylabel 'trainer minutes per 100 training steps'\nset yrange [*:*]\n";
  gp << "set style data histograms\nset style histogram clustered gap 1\n";
  gp << "set style fill solid 0.8 border -1\nset boxwidth 0.9\n";
  gp << "set xtics nomirror rotate by -30\nset bmargin 5\n";
  gp << "plot 'data/faults.dat' using 2:xtic(1) lc rgb '#d62728' title 'inside failed syncs', \\\n"
     << "     '' using 3 lc rgb '#1f77b4' title 'total slowdown against the same seeds without "
        "faults'\n";
  return gp.str();
}

// Runs `gnuplot data/plots.gp` with the report's folder as working directory.
void run_gnuplot(const std::string& program, const fs::path& dir) {
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("report: fork failed: ") + strerror(errno));
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(126);
    execlp(program.c_str(), program.c_str(), "data/plots.gp", static_cast<char*>(nullptr));
    _exit(errno == ENOENT ? 127 : 126);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("report: waiting for gnuplot failed");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    throw std::runtime_error("report: '" + program +
                             "' not found; install gnuplot-nox (scripts/install-deps.sh)");
  }
  throw std::runtime_error("report: '" + program + " data/plots.gp' in '" + dir.string() +
                           "' failed (status " + std::to_string(status) +
                           "); the data and the script are in " + (dir / "data").string());
}

}  // namespace

void write_plots(const ReportData& d, const fs::path& out_dir) {
  const fs::path data = out_dir / "data";
  write_text(data / "sync.dat", sync_table(d.main, false));
  write_text(data / "refresh.dat", sync_table(d.main, true));
  write_text(data / "async.dat", async_table(d.main));
  write_text(data / "histogram.dat", histogram_table(d.main));
  write_text(data / "faults.dat", fault_table(d));
  write_text(data / "plots.gp", plot_script(d));
  run_gnuplot(d.options.gnuplot, out_dir);
}

}  // namespace weightsync::sim

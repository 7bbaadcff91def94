// Unit tests of the small foundations: ManualClock, the log sink and level, and ApiError.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "weightsync/clock.h"
#include "weightsync/errors.h"
#include "weightsync/log.h"
#include "weightsync/wire.h"

namespace weightsync {
namespace {

TEST(ManualClock, StartsAtTheGivenInstantAndMovesOnlyWhenAdvanced) {
  ManualClock clock(seconds(5));
  EXPECT_EQ(clock.now(), seconds(5));
  EXPECT_EQ(clock.now(), seconds(5));
  clock.advance(seconds(1.5));
  EXPECT_EQ(clock.now(), seconds(6.5));
}

TEST(ManualClock, SleepForAdvancesInstantlyAndIgnoresNonPositiveDurations) {
  ManualClock clock;
  clock.sleep_for(seconds(600));
  EXPECT_EQ(clock.now(), seconds(600));
  clock.sleep_for(Duration::zero());
  clock.sleep_for(seconds(-3));
  EXPECT_EQ(clock.now(), seconds(600));
}

TEST(Clock, SecondsConversionIsExactInNanoseconds) {
  EXPECT_EQ(seconds(0.5).count(), 500'000'000);
  EXPECT_DOUBLE_EQ(to_seconds(seconds(2.25)), 2.25);
}

TEST(SystemClock, NowIsMonotonicAndSleepWaitsAtLeastTheDuration) {
  Clock& clock = system_clock();
  const Duration before = clock.now();
  clock.sleep_for(std::chrono::milliseconds(2));
  const Duration after = clock.now();
  EXPECT_GE(after - before, std::chrono::milliseconds(2));
  EXPECT_EQ(&system_clock(), &clock);
}

// Captures what reaches the sink and restores the default sink and level afterwards.
class LogCapture : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_level_ = log_level();
    set_log_sink([this](LogLevel level, std::string_view message) {
      seen_.emplace_back(level, std::string(message));
    });
  }
  void TearDown() override {
    set_log_sink({});
    set_log_level(saved_level_);
  }
  std::vector<std::pair<LogLevel, std::string>> seen_;
  LogLevel saved_level_ = LogLevel::warning;
};

TEST_F(LogCapture, SinkReceivesLevelAndMessage) {
  set_log_level(LogLevel::debug);
  log(LogLevel::error, "bucket unreachable");
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].first, LogLevel::error);
  EXPECT_NE(seen_[0].second.find("bucket unreachable"), std::string::npos);
}

TEST_F(LogCapture, MessagesBelowTheLevelAreDropped) {
  set_log_level(LogLevel::warning);
  log(LogLevel::debug, "debug line");
  log(LogLevel::info, "info line");
  log(LogLevel::warning, "warning line");
  log(LogLevel::error, "error line");
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[0].first, LogLevel::warning);
  EXPECT_EQ(seen_[1].first, LogLevel::error);
  EXPECT_EQ(log_level(), LogLevel::warning);
}

TEST_F(LogCapture, LoweringTheLevelLetsInfoThrough) {
  set_log_level(LogLevel::info);
  log(LogLevel::debug, "debug line");
  log(LogLevel::info, "info line");
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].first, LogLevel::info);
}

TEST_F(LogCapture, MessageBelowTheLevelIsNeverBuilt) {
  set_log_level(LogLevel::warning);
  int built = 0;
  const auto make = [&] {
    ++built;
    return std::string("costly line");
  };
  log(LogLevel::debug, make);
  log(LogLevel::info, make);
  EXPECT_EQ(built, 0);
  EXPECT_TRUE(seen_.empty());
  log(LogLevel::warning, make);
  EXPECT_EQ(built, 1);
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].second, "costly line");
  EXPECT_FALSE(log_enabled(LogLevel::info));
  EXPECT_TRUE(log_enabled(LogLevel::error));
}

// Runs `body` on another thread and fails the whole program if it has not returned within
// 10 s: a deadlocked logger would otherwise hang the suite (and its TearDown) forever.
void within_ten_seconds(const std::function<void()>& body) {
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  std::thread worker([&] {
    body();
    done.set_value();
  });
  if (finished.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    std::fputs("log() deadlocked: the sink is called under a lock it takes again\n", stderr);
    std::_Exit(1);
  }
  worker.join();
}

TEST(Log, SinkThatLogsFromInsideItselfDoesNotDeadlock) {
  std::vector<std::string> seen;
  int depth = 0;
  set_log_sink([&](LogLevel, std::string_view message) {
    seen.emplace_back(message);
    if (++depth == 1) log(LogLevel::error, "logged by the sink");
    --depth;
  });
  within_ten_seconds([] { log(LogLevel::error, "first"); });
  set_log_sink({});
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], "first");
  EXPECT_EQ(seen[1], "logged by the sink");
}

TEST(Log, SinkMayReplaceItselfWhileRunning) {
  std::vector<std::string> seen;
  set_log_sink([&](LogLevel, std::string_view message) {
    seen.emplace_back(message);
    set_log_sink(
        [&](LogLevel, std::string_view m) { seen.emplace_back("second: " + std::string(m)); });
  });
  within_ten_seconds([] {
    log(LogLevel::error, "one");
    log(LogLevel::error, "two");
  });
  set_log_sink({});
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], "one");
  EXPECT_EQ(seen[1], "second: two");
}

TEST(Log, DefaultLevelIsWarningAndEmptySinkRestoresStderr) {
  EXPECT_EQ(log_level(), LogLevel::warning);
  set_log_sink({});
  ::testing::internal::CaptureStderr();
  log(LogLevel::error, "to stderr");
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("to stderr"), std::string::npos);
}

TEST(Log, LevelNamesAreReadable) {
  EXPECT_EQ(to_string(LogLevel::debug), "debug");
  EXPECT_EQ(to_string(LogLevel::info), "info");
  EXPECT_EQ(to_string(LogLevel::warning), "warning");
  EXPECT_EQ(to_string(LogLevel::error), "error");
}

TEST(ApiError, KeepsStatusBodyAndMessage) {
  const ApiError error(404, R"({"error":{"code":404}})", "deployment d1 not found");
  EXPECT_EQ(error.status(), 404);
  EXPECT_EQ(error.body(), R"({"error":{"code":404}})");
  EXPECT_NE(std::string(error.what()).find("deployment d1 not found"), std::string::npos);
}

TEST(ApiError, RetryableExactlyForRetryableStatuses) {
  for (int status : {408, 429, 500, 502, 503, 504}) {
    EXPECT_TRUE(is_retryable_status(status)) << status;
    EXPECT_TRUE(ApiError(status, "", "x").retryable()) << status;
    EXPECT_EQ(ApiError(status, "", "x").remedy(), Remedy::retry) << status;
  }
  for (int status : {0, 200, 400, 401, 403, 404, 409, 425, 501}) {
    EXPECT_FALSE(is_retryable_status(status)) << status;
    EXPECT_FALSE(ApiError(status, "", "x").retryable()) << status;
    EXPECT_EQ(ApiError(status, "", "x").remedy(), Remedy::stop) << status;
  }
}

TEST(Errors, TaxonomyLetsCallersCatchByIntent) {
  // A HotloadTimeout is a HotloadFailed (the chain is reset either way); a Timeout waiting for
  // something to come up is not; everything is an Error.
  EXPECT_THROW(throw HotloadTimeout("t"), HotloadFailed);
  EXPECT_THROW(
      {
        try {
          throw Timeout("t");
        } catch (const HotloadFailed&) {
          ADD_FAILURE() << "a Timeout is not a HotloadFailed";
        }
      },
      Timeout);
  EXPECT_THROW(throw HotloadFailed("h"), Error);
  EXPECT_THROW(throw WarmupFailed("w"), Error);
  EXPECT_THROW(throw TransportError("c"), Error);
  EXPECT_THROW(throw InvalidArgument("i"), Error);
  EXPECT_THROW(throw SaveFailed("s"), Error);
  EXPECT_THROW(throw ApiError(500, "", "a"), Error);
  EXPECT_THROW(throw CleanupFailed("c"), Error);
}

// Each type says what to do; docs/errors.md lists the same table.
TEST(Errors, EveryTypeNamesItsRemedy) {
  EXPECT_EQ(InvalidArgument("x").remedy(), Remedy::stop);
  EXPECT_EQ(SaveFailed("x").remedy(), Remedy::retry);
  EXPECT_EQ(HotloadFailed("x").remedy(), Remedy::reset_chain);
  EXPECT_EQ(HotloadTimeout("x").remedy(), Remedy::reset_chain);
  EXPECT_EQ(Timeout("x").remedy(), Remedy::retry);
  EXPECT_EQ(WarmupFailed("x").remedy(), Remedy::retry);
  EXPECT_EQ(TransportError("x").remedy(), Remedy::retry);
  EXPECT_EQ(WireError("x").remedy(), Remedy::stop);
  EXPECT_EQ(TrainerJobFailed("x").remedy(), Remedy::reset_chain);
  EXPECT_EQ(DeploymentFailed("x").remedy(), Remedy::stop);
  EXPECT_EQ(DeploymentShapeMismatch("x").remedy(), Remedy::stop);
  EXPECT_EQ(ReattachNotSettled("x").remedy(), Remedy::retry);
  EXPECT_EQ(SnapshotMismatch("x").remedy(), Remedy::retry);
  EXPECT_EQ(CleanupFailed("x").remedy(), Remedy::retry);
  EXPECT_TRUE(SaveFailed("x").retryable());
  EXPECT_FALSE(HotloadFailed("x").retryable());
  EXPECT_EQ(to_string(Remedy::retry), "retry");
  EXPECT_EQ(to_string(Remedy::reset_chain), "reset_chain");
  EXPECT_EQ(to_string(Remedy::stop), "stop");
}

}  // namespace
}  // namespace weightsync

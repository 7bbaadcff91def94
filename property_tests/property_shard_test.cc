// WS_PROPERTY_SHARD / WS_PROPERTY_SEED: which seed a job array task runs the properties from.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "property_runner.h"

namespace weightsync::props {
namespace {

// Sets the two variables for one test and restores their absence after it.
class PropertyShardEnv : public ::testing::Test {
 protected:
  void TearDown() override {
    unsetenv("WS_PROPERTY_SHARD");
    unsetenv("WS_PROPERTY_SEED");
  }
  static void set(const char* name, const std::string& value) { setenv(name, value.c_str(), 1); }
};

TEST_F(PropertyShardEnv, NoShardKeepsRapidChecksOwnSeed) {
  unsetenv("WS_PROPERTY_SHARD");
  EXPECT_EQ(shard_seed(), std::nullopt);
}

TEST_F(PropertyShardEnv, TasksOfOneArrayGetDisjointSeedsFromTheBase) {
  set("WS_PROPERTY_SEED", "1000");
  for (int k = 0; k < 4; ++k) {
    set("WS_PROPERTY_SHARD", std::to_string(k) + "/4");
    EXPECT_EQ(shard_seed(), std::optional<std::uint64_t>(1000 + k));
  }
  unsetenv("WS_PROPERTY_SEED");
  set("WS_PROPERTY_SHARD", "3/4");
  EXPECT_EQ(shard_seed(), std::optional<std::uint64_t>(4));
}

TEST_F(PropertyShardEnv, BadValuesAreRefusedWithWhatWasSeen) {
  set("WS_PROPERTY_SHARD", "4/4");
  try {
    shard_seed();
    FAIL() << "4/4 was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(),
                 "WS_PROPERTY_SHARD: expected K in 0..3 in K/N (tasks count from 0), got '4/4'");
  }
  set("WS_PROPERTY_SHARD", "1/4");
  set("WS_PROPERTY_SEED", "-3");
  try {
    shard_seed();
    FAIL() << "a negative seed was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "WS_PROPERTY_SEED: expected an unsigned 64-bit integer, got '-3'");
  }
}

}  // namespace
}  // namespace weightsync::props

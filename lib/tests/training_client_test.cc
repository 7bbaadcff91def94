// Unit tests of session-scoped snapshot names and their checks.
#include "weightsync/training_client.h"

#include <gtest/gtest.h>

#include <string>

#include "weightsync/errors.h"

namespace weightsync {
namespace {

TEST(SessionScopedName, AppendsTheSessionId) {
  EXPECT_EQ(session_scoped_name("step-7", "3fa09c1e"), "step-7-3fa09c1e");
  EXPECT_EQ(session_scoped_name("x", "00000000"), "x-00000000");
}

TEST(SessionScopedName, RejectsANameWithASlash) {
  try {
    session_scoped_name("runs/step-7", "3fa09c1e");
    FAIL() << "accepted a '/'";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("runs/step-7"), std::string::npos) << e.what();
  }
}

TEST(SessionScopedName, RejectsAnEmptyName) {
  EXPECT_THROW(session_scoped_name("", "3fa09c1e"), InvalidArgument);
}

TEST(SessionScopedName, RejectsInvalidSessionIds) {
  for (const char* bad : {"", "3fa09c1", "3fa09c1e0", "3FA09C1E", "3fa09c1g", "3fa-9c1e"}) {
    EXPECT_THROW(session_scoped_name("step-1", bad), InvalidArgument) << bad;
  }
}

TEST(IsValidSessionId, ExactlyEightLowercaseHexCharacters) {
  EXPECT_TRUE(is_valid_session_id("3fa09c1e"));
  EXPECT_TRUE(is_valid_session_id("0123abcd"));
  EXPECT_TRUE(is_valid_session_id("ffffffff"));
  EXPECT_FALSE(is_valid_session_id(""));
  EXPECT_FALSE(is_valid_session_id("3fa09c1"));
  EXPECT_FALSE(is_valid_session_id("3fa09c1e1"));
  EXPECT_FALSE(is_valid_session_id("3FA09C1E"));
  EXPECT_FALSE(is_valid_session_id("3fa09c1z"));
  EXPECT_FALSE(is_valid_session_id("3fa09c1 "));
}

TEST(CheckSnapshotName, AcceptsPlainNamesAndNamesTheArgumentWhenRejecting) {
  EXPECT_NO_THROW(check_snapshot_name("step-1-0123abcd", "snapshot_name"));
  try {
    check_snapshot_name("a/b", "snapshot_name");
    FAIL() << "accepted a '/'";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("snapshot_name"), std::string::npos) << e.what();
  }
  EXPECT_THROW(check_snapshot_name("", "name"), InvalidArgument);
}

}  // namespace
}  // namespace weightsync

// The invariant names a failing property prints are the ones docs/SPEC.md defines, so a number in
// a counterexample can always be looked up in the clone it came from.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "invariants.h"

namespace weightsync::props {
namespace {

std::string read_spec() {
  const std::string path = std::string(WEIGHTSYNC_DOCS_DIR) + "/SPEC.md";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(InvariantNames, EveryNumberAndNameIsDefinedInTheSpec) {
  const std::string spec = read_spec();
  for (std::size_t i = 0; i < kInvariantNames.size(); ++i) {
    const std::string entry =
        std::to_string(i + 1) + ". **" + std::string(kInvariantNames[i]) + "**";
    EXPECT_NE(spec.find(entry), std::string::npos)
        << "docs/SPEC.md section 7 should define '" << entry << "'";
  }
}

TEST(InvariantNames, LabelCarriesNumberAndName) {
  EXPECT_EQ(invariant(3), "invariant 3 (delta-names-its-parent)");
  EXPECT_EQ(invariant(9), "invariant 9 (saved-reads-back)");
}

TEST(InvariantNames, UndefinedNumberIsRefusedNamingTheRange) {
  EXPECT_THROW(invariant(0), std::out_of_range);
  try {
    invariant(10);
    FAIL() << "invariant 10 is not defined";
  } catch (const std::out_of_range& e) {
    EXPECT_NE(std::string(e.what()).find("invariants 1-9"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace weightsync::props

// The invariants of docs/SPEC.md section 7 by number and stable name, so that a failing property
// says in words which rule broke ("invariant 3 (delta-names-its-parent)"), not only a number.
#pragma once

#include <array>
#include <stdexcept>
#include <string>
#include <string_view>

namespace weightsync::props {

// Index n - 1 holds the name of invariant n, exactly as docs/SPEC.md spells it.
inline constexpr std::array<std::string_view, 9> kInvariantNames = {
    "served-is-saved",         // 1
    "synced-is-served",        // 2
    "delta-names-its-parent",  // 3
    "chain-starts-with-base",  // 4
    "promotable-rule",         // 5
    "unique-names",            // 6
    "no-silent-rollback",      // 7
    "recovers-after-faults",   // 8
    "saved-reads-back",        // 9
};

// "invariant N (name)". Throws std::out_of_range for a number the spec does not define.
inline std::string invariant(int number) {
  if (number < 1 || number > static_cast<int>(kInvariantNames.size())) {
    throw std::out_of_range("invariant " + std::to_string(number) +
                            ": docs/SPEC.md section 7 defines invariants 1-" +
                            std::to_string(kInvariantNames.size()));
  }
  return "invariant " + std::to_string(number) + " (" +
         std::string(kInvariantNames[static_cast<std::size_t>(number - 1)]) + ")";
}

}  // namespace weightsync::props

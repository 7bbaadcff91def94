// Session-scoped snapshot names: "{name}-{session_id}", never containing '/'.
#include "weightsync/training_client.h"

#include <algorithm>

namespace weightsync {

bool is_valid_session_id(std::string_view session_id) {
  return session_id.size() == 8 && std::all_of(session_id.begin(), session_id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

void check_snapshot_name(std::string_view name, std::string_view what) {
  if (name.empty()) {
    throw InvalidArgument(std::string(what) + ": expected a non-empty snapshot name, got ''");
  }
  if (name.find('/') != std::string_view::npos) {
    throw InvalidArgument(std::string(what) +
                          ": expected a snapshot name without '/' (serving code keeps only the "
                          "basename), got '" +
                          std::string(name) + "'");
  }
}

std::string session_scoped_name(std::string_view name, std::string_view session_id) {
  check_snapshot_name(name, "snapshot name");
  if (!is_valid_session_id(session_id)) {
    throw InvalidArgument("session id: expected 8 lowercase hex characters, got '" +
                          std::string(session_id) + "'");
  }
  return std::string(name) + "-" + std::string(session_id);
}

}  // namespace weightsync

// The remedies, the one list of retryable statuses, and ApiError.
#include "weightsync/errors.h"

namespace weightsync {

std::string_view to_string(Remedy remedy) {
  switch (remedy) {
    case Remedy::retry:
      return "retry";
    case Remedy::reset_chain:
      return "reset_chain";
    case Remedy::stop:
      return "stop";
  }
  return "unknown";
}

bool is_retryable_status(int status) {
  switch (status) {
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return true;
    default:
      return false;
  }
}

ApiError::ApiError(int status, std::string body, const std::string& message)
    : Error(message), status_(status), body_(std::move(body)) {}

Remedy ApiError::remedy() const {
  return is_retryable_status(status_) ? Remedy::retry : Remedy::stop;
}

}  // namespace weightsync

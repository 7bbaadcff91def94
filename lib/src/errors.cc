// ApiError: carries the HTTP status and body so callers can decide to retry or stop.
#include "weightsync/errors.h"

#include "weightsync/transport.h"

namespace weightsync {

ApiError::ApiError(int status, std::string body, const std::string& message)
    : Error(message), status_(status), body_(std::move(body)) {}

bool ApiError::retryable() const {
  return is_retryable_status(status_);
}

}  // namespace weightsync

// An HTTP error raised inside the fake's model and turned into a JSON error response by the
// router; nothing the request asked for has been changed when it is thrown.
#pragma once

#include <stdexcept>
#include <string>

namespace weightsync::fake {

class HttpError : public std::runtime_error {
 public:
  HttpError(int status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

}  // namespace weightsync::fake

// Header lookup and the retrying decorator shared by every Transport.
#include "weightsync/transport.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "weightsync/errors.h"
#include "weightsync/log.h"

namespace weightsync {

std::string header_value(const Headers& headers, std::string_view name) {
  auto same = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  };
  for (const auto& [key, value] : headers) {
    if (same(key, name)) return value;
  }
  return "";
}

RetryingTransport::RetryingTransport(Transport& inner, Clock& clock, RetryPolicy policy)
    : inner_(inner), clock_(clock), policy_(policy) {
  if (policy_.max_attempts < 1) {
    throw InvalidArgument("RetryPolicy.max_attempts must be at least 1, got " +
                          std::to_string(policy_.max_attempts));
  }
}

HttpResponse RetryingTransport::exchange(const HttpRequest& request) {
  Duration backoff = policy_.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    const bool last = attempt >= policy_.max_attempts;
    std::string why;
    try {
      HttpResponse response = inner_.exchange(request);
      if (last || !is_retryable_status(response.status)) return response;
      why = "HTTP " + std::to_string(response.status);
    } catch (const TransportError& e) {
      if (last) throw;
      why = e.what();
    }
    log(LogLevel::info, [&] {
      return request.method + " " + request.path + " attempt " + std::to_string(attempt) +
             " failed (" + why + "); retrying in " + std::to_string(to_seconds(backoff)) + " s";
    });
    clock_.sleep_for(backoff);
    backoff = std::min(backoff * 2, policy_.max_backoff);
  }
}

}  // namespace weightsync

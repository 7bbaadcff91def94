// The transport-fault headers and their in-process enactment.
#include "weightsync/fake/transport_faults.h"

#include <algorithm>
#include <string>

#include "weightsync/errors.h"

namespace weightsync::fake {
namespace {

bool is_header(const std::pair<std::string, std::string>& header, std::string_view name) {
  const auto& key = header.first;
  return key.size() == name.size() &&
         std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

}  // namespace

void mark_transport_fault(HttpResponse& response, const TransportFault& fault) {
  if (fault.delay > Duration::zero()) {
    response.headers.emplace_back(std::string(kFaultDelayHeader),
                                  std::to_string(fault.delay.count()));
  }
  if (fault.cut != TransportFault::Cut::none) {
    response.headers.emplace_back(std::string(kFaultCutHeader),
                                  fault.cut == TransportFault::Cut::reset ? "reset" : "truncate");
  }
}

TransportFault take_transport_fault(HttpResponse& response) {
  TransportFault fault;
  const std::string delay = header_value(response.headers, kFaultDelayHeader);
  const std::string cut = header_value(response.headers, kFaultCutHeader);
  if (!delay.empty()) fault.delay = Duration(std::stoll(delay));
  if (cut == "reset") fault.cut = TransportFault::Cut::reset;
  if (cut == "truncate") fault.cut = TransportFault::Cut::truncate;
  std::erase_if(response.headers, [](const auto& h) {
    return is_header(h, kFaultDelayHeader) || is_header(h, kFaultCutHeader);
  });
  return fault;
}

void act_out_in_process(const TransportFault& fault, Clock& clock, const HttpRequest& request,
                        const HttpResponse& response) {
  clock.sleep_for(fault.delay);
  const std::string what = request.method + " " + request.path;
  if (fault.cut == TransportFault::Cut::reset) {
    throw TransportError(what + ": connection reset before the response (injected fault)");
  }
  if (fault.cut == TransportFault::Cut::truncate) {
    throw TransportError(what + ": response body truncated after " +
                         std::to_string(response.body.size() / 2) + " of " +
                         std::to_string(response.body.size()) + " bytes (injected fault)");
  }
}

}  // namespace weightsync::fake

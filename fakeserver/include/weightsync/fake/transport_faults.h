// Transport-level faults (added latency, connection reset before the answer, truncated body)
// travel from the fault injector, which decides them under the cloud's lock, to whatever carries
// the answer — InProcessTransport or FakeServer — as two internal headers on the router's
// response. The carrier strips them and acts them out, outside the lock.
//
// Stateless functions; safe from any thread.
#pragma once

#include <string_view>

#include "weightsync/clock.h"
#include "weightsync/transport.h"

namespace weightsync::fake {

struct TransportFault {
  enum class Cut { none, reset, truncate };
  Duration delay{};  // before the answer (or the cut)
  Cut cut = Cut::none;
  bool any() const { return delay > Duration::zero() || cut != Cut::none; }
};

inline constexpr std::string_view kFaultDelayHeader = "x-weightsync-fake-delay-ns";
inline constexpr std::string_view kFaultCutHeader = "x-weightsync-fake-cut";

// Adds the headers for `fault` (nothing if it is none).
void mark_transport_fault(HttpResponse& response, const TransportFault& fault);
// Removes the headers and returns the fault they carried.
TransportFault take_transport_fault(HttpResponse& response);
// In-process carrier: sleeps the delay on `clock`, then throws TransportError for a cut.
void act_out_in_process(const TransportFault& fault, Clock& clock, const HttpRequest& request,
                        const HttpResponse& response);

}  // namespace weightsync::fake

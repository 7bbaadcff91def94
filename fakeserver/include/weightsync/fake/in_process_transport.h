// InProcessTransport: the library's Transport handing each request straight to a FakeCloud's
// router, with no socket: the same code path as over HTTP, minus the network. Transport faults
// of a fault plan (latency, reset, truncated body) are acted out here: the delay is slept on
// the cloud's clock and a cut connection throws TransportError, as HttpTransport would.
//
// Thread-safety: as FakeCloud (any thread).
#pragma once

#include "weightsync/fake/fake_cloud.h"
#include "weightsync/fake/transport_faults.h"
#include "weightsync/transport.h"

namespace weightsync::fake {

class InProcessTransport final : public Transport {
 public:
  explicit InProcessTransport(FakeCloud& cloud) : cloud_(cloud) {}
  HttpResponse exchange(const HttpRequest& request) override {
    HttpResponse response = cloud_.handle(request);
    const TransportFault fault = take_transport_fault(response);
    if (fault.any()) act_out_in_process(fault, cloud_.clock(), request, response);
    return response;
  }

 private:
  FakeCloud& cloud_;
};

}  // namespace weightsync::fake

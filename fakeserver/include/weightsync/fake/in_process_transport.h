// InProcessTransport: the library's Transport handing each request straight to a FakeCloud's
// router, with no socket: the same code path as over HTTP, minus the network.
//
// Thread-safety: as FakeCloud (any thread).
#pragma once

#include "weightsync/fake/fake_cloud.h"
#include "weightsync/transport.h"

namespace weightsync::fake {

class InProcessTransport final : public Transport {
 public:
  explicit InProcessTransport(FakeCloud& cloud) : cloud_(cloud) {}
  HttpResponse exchange(const HttpRequest& request) override { return cloud_.handle(request); }

 private:
  FakeCloud& cloud_;
};

}  // namespace weightsync::fake

// The one place that parses and answers the deployment HTTP API (docs/SPEC.md section 5): wire in,
// CloudModel operations, wire out. Every error is a JSON body {"error":{"code","message"}}, and
// a rejected request changes nothing.
//
// Thread-safety: none; FakeCloud calls it under its lock.
#pragma once

#include "weightsync/fake/cloud_model.h"
#include "weightsync/transport.h"

namespace weightsync::fake {

class Router {
 public:
  explicit Router(CloudModel& model) : model_(model) {}
  HttpResponse handle(const HttpRequest& request);

 private:
  CloudModel& model_;
};

}  // namespace weightsync::fake

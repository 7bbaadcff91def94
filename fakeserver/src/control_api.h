// The fake's own control API (/_fake/v1/...) and GET /metrics, for clients outside C++: drive
// trainers, inspect replicas, install fault plans, read the fault log. Part of the router; the
// caller is already authenticated, and the model is under FakeCloud's lock.
#pragma once

#include <string>

#include "http_support.h"
#include "weightsync/fake/cloud_model.h"

namespace weightsync::fake {

bool is_control_path(const std::string& path);
// Answers one control request; throws HttpError / InvalidArgument for bad input (before any
// change). `route` receives the route's metrics label.
HttpResponse answer_control(CloudModel& model, const HttpRequest& request,
                            const std::string& caller, const detail::Target& target,
                            std::string& route);

}  // namespace weightsync::fake

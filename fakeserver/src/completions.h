// The completions route: POST /inference/v1/completions, streamed or whole. Internal to
// fakeserver/src; the router calls it under the cloud's lock.
#pragma once

#include <string>

#include "weightsync/fake/cloud_model.h"
#include "weightsync/transport.h"

namespace weightsync::fake {

// Routes the request to a ready replica and answers it. A whole answer carries its JSON body;
// a streamed one (`"stream": true`) carries only the head, and the stream is left in
// model.sampling().opened for the carrier to run outside the lock. Throws HttpError or
// InvalidArgument for bad requests, before anything changes.
HttpResponse answer_completion(CloudModel& model, const std::string& caller,
                               const HttpRequest& request);

}  // namespace weightsync::fake

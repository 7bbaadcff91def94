// The library's exceptions. Each type says what a training loop should do when it sees it:
// retry, reset the delta chain, or stop and fix something.
//
// Every message states what was expected, what was seen, and what to do next.
#pragma once

#include <stdexcept>
#include <string>

namespace weightsync {

// Base of every exception the library throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A caller passed a value the library cannot use (unknown checkpoint type, negative timeout,
// a snapshot name containing '/'). STOP: fix the call; retrying the same call fails the same
// way. Nothing was changed.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// The trainer could not save sampler weights. RETRY the save; the chain state is unchanged,
// so the retried save gets the same checkpoint kind.
class SaveFailed : public Error {
 public:
  using Error::Error;
};

// A hotload was rejected or ended in `error` on some replica. The WeightSyncer has already
// RESET THE CHAIN, so the next save is a full base; a loop may simply continue with its next
// save_and_hotload. Replicas keep serving what they served before.
class HotloadFailed : public Error {
 public:
  using Error::Error;
};

// A hotload (or waiting for the hotload manager, or for a deployment) did not finish in time.
// As HotloadFailed: the chain is reset and the next save is a base. If it repeats, raise the
// timeout or check the deployment's bandwidth; the message names the served snapshot and stage.
class Timeout : public HotloadFailed {
 public:
  using HotloadFailed::HotloadFailed;
};

// The weights were loaded and the chain advanced, but the post-sync warmup request never got a
// 200. The sampler may answer slowly at first. CONTINUE (the sync itself succeeded) or retry
// warmup; do not resave.
class WarmupFailed : public Error {
 public:
  using Error::Error;
};

// The deployment's HTTP API answered with an unexpected status, or a body the library could
// not parse. 4xx (except 408/429): STOP, the request or the credentials are wrong. 5xx: RETRY
// with backoff (the transport already retried a few times before this surfaced). A body that
// does not match the API's shape means client and server disagree on the protocol: STOP.
class ApiError : public Error {
 public:
  ApiError(int status, std::string body, const std::string& message);
  int status() const { return status_; }
  const std::string& body() const { return body_; }
  bool retryable() const;

 private:
  int status_;
  std::string body_;
};

// No HTTP answer at all: connection refused or reset, read timeout. RETRY with backoff; the
// transport already did so a few times. For a hotload POST this is safe: the deployment treats
// a resubmitted identity as the same load.
class TransportError : public Error {
 public:
  using Error::Error;
};

}  // namespace weightsync

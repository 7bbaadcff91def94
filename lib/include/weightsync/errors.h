// The library's exceptions. Each type means one thing, and its remedy() says what a training
// loop should do about it: retry, reset the delta chain, or stop and fix something
// (docs/errors.md has the whole table). Every message states what was expected, what was seen,
// and what to do next.
//
// Whatever escapes a hotload of the WeightSyncer or the ServiceClient, the chain behind it has
// already been reset (the next save is a full base); the remedy says what to do beyond that.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace weightsync {

// What the caller should do about an Error.
enum class Remedy {
  // The same call may succeed later: call it again, with backoff.
  retry,
  // The deployment does not serve what the delta chain assumed: the next save must be a full
  // base. The WeightSyncer and the ServiceClient have already reset their chain, so a loop
  // carries on; a caller driving DeploymentManager by hand starts its chain over.
  reset_chain,
  // Calling again cannot help: fix the call, the configuration or the deployment first.
  stop,
};

// "retry", "reset_chain", "stop".
std::string_view to_string(Remedy remedy);

// The one definition of a status that says "try again later": 408, 429, 500, 502, 503, 504.
// The RetryingTransport retries exactly these, and an ApiError with one of them is retryable.
bool is_retryable_status(int status);

// Base of every exception the library throws on purpose. Abstract: a thrown error always has
// one of the types below, never this one.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  virtual Remedy remedy() const = 0;
  // The one definition of "retryable": the remedy is to retry.
  bool retryable() const { return remedy() == Remedy::retry; }
};

// A caller passed a value the library cannot use (a checkpoint kind outside the enum, a
// negative timeout, a snapshot name containing '/'). STOP: fix the call; retrying it fails the
// same way. Nothing was changed.
class InvalidArgument : public Error {
 public:
  using Error::Error;
  Remedy remedy() const override { return Remedy::stop; }
};

// The trainer could not save sampler weights. RETRY the save: the chain is unchanged, so the
// retried save gets the same checkpoint kind.
class SaveFailed : public Error {
 public:
  using Error::Error;
  Remedy remedy() const override { return Remedy::retry; }
};

// A hotload did not take: a replica ended the load in stage `error`, or a delta's parent is no
// longer served, so it was not sent. RESET THE CHAIN: the next save is a full base (the
// WeightSyncer and ServiceClient already did this; a loop simply continues with its next
// save). Replicas keep serving what they served before.
class HotloadFailed : public Error {
 public:
  using Error::Error;
  Remedy remedy() const override { return Remedy::reset_chain; }
};

// A hotload was accepted but not served by every replica within the hotload timeout. As
// HotloadFailed, RESET THE CHAIN (already done by the syncers). If it repeats, raise
// hotload_timeout or check the deployment's bandwidth; the message names the expected and the
// served snapshot, and each replica's stage.
class HotloadTimeout : public HotloadFailed {
 public:
  using HotloadFailed::HotloadFailed;
};

// Waiting for something to come up did not end in time: a deployment to become READY, its
// hotload manager to report replicas, a trainer job to run, a sampler load to end. The wait
// changed nothing. RETRY (the next call waits again) or raise the timeout the message names.
// A hotload that is slow to be served is a HotloadTimeout, not this.
class Timeout : public Error {
 public:
  using Error::Error;
  Remedy remedy() const override { return Remedy::retry; }
};

// The weights were loaded and the chain advanced, but the warmup request after the sync never
// got a 200: the sampler may answer slowly at first. RETRY the warmup
// (DeploymentManager::warmup) or carry on with the next save; do not resave this one.
class WarmupFailed : public Error {
 public:
  using Error::Error;
  Remedy remedy() const override { return Remedy::retry; }
};

// The deployment's HTTP API answered, and the answer cannot be used: a status the call does not
// accept, or a body not in the API's shape. RETRY when the status is retryable (see
// is_retryable_status; the transport already retried a few times before this surfaced),
// otherwise STOP: the request, the credentials or the protocol version is wrong.
class ApiError : public Error {
 public:
  ApiError(int status, std::string body, const std::string& message);
  int status() const { return status_; }
  const std::string& body() const { return body_; }
  Remedy remedy() const override;

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
  Remedy remedy() const override { return Remedy::retry; }
};

// ---- the ServiceClient's provisioning (service_client.h) ------------------------------------

// A trainer job the ServiceClient waits for ended FAILED, CANCELLED or DELETED instead of
// RUNNING. RESET THE CHAIN: resume the job (a ServiceClient given its id resumes a failed one)
// or start a new one; either way the next sampler refresh is a full base. The message names the
// job, the state seen and the job's own status message.
class TrainerJobFailed : public Error {
 public:
  using Error::Error;
  Remedy remedy() const override { return Remedy::reset_chain; }
};

// A deployment that was waited for or re-attached is FAILED, or is being deleted. STOP: it will
// not serve again; read its status message (in this message), delete it and create another.
class DeploymentFailed : public Error {
 public:
  using Error::Error;
  Remedy remedy() const override { return Remedy::stop; }
};

// An existing deployment has another shape than the config asks for. STOP: nothing was changed
// (the check runs before any PATCH); fix deployment_shape or pick another deployment_id.
class DeploymentShapeMismatch : public Error {
 public:
  using Error::Error;
  Remedy remedy() const override { return Remedy::stop; }
};

// A deployment re-attached to the trainer did not come back (READY, its replicas restarted and
// reporting) within reattach_settle_timeout. RETRY: the ServiceClient provisions again on its
// next call and waits once more; the message names what it expected and what it last saw.
class ReattachNotSettled : public Error {
 public:
  using Error::Error;
  Remedy remedy() const override { return Remedy::retry; }
};

// A completion was generated by another snapshot than the one its SamplingClient is bound to
// (or, with reject_other_snapshots, the deployment did not say which). RETRY the request, or
// refresh with create_sampling_client; the message names the expected and the reported
// snapshot.
class SnapshotMismatch : public Error {
 public:
  using Error::Error;
  Remedy remedy() const override { return Remedy::retry; }
};

// ServiceClient::close could not release some of what it created (the message names each
// failed step; the other steps ran). RETRY close: it redoes only the failed steps.
class CleanupFailed : public Error {
 public:
  using Error::Error;
  Remedy remedy() const override { return Remedy::retry; }
};

}  // namespace weightsync

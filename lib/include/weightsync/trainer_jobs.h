// TrainerJobs: the trainer-job REST API the ServiceClient provisions with (create with a chosen
// id, get, resume, delete, the trainer's health check), docs/SPEC.md section 5.
//
// Thread-safety: as its Transport; it keeps no state beyond its options.
#pragma once

#include <string>
#include <string_view>

#include "weightsync/transport.h"

namespace weightsync {

// Job states as the API spells them.
inline constexpr std::string_view kJobStateCreating = "JOB_STATE_CREATING";
inline constexpr std::string_view kJobStatePending = "JOB_STATE_PENDING";
inline constexpr std::string_view kJobStateRunning = "JOB_STATE_RUNNING";
inline constexpr std::string_view kJobStatePaused = "JOB_STATE_PAUSED";
inline constexpr std::string_view kJobStateFailed = "JOB_STATE_FAILED";
inline constexpr std::string_view kJobStateCancelled = "JOB_STATE_CANCELLED";
inline constexpr std::string_view kJobStateDeleted = "JOB_STATE_DELETED";

struct TrainerJob {
  std::string name;  // accounts/{a}/rlorTrainerJobs/{id}
  std::string state;
  std::string status_message;  // why it failed, when it did
};

// Reads a job body; a missing name or state is a WireError.
TrainerJob decode_trainer_job(std::string_view body);

class TrainerJobs {
 public:
  TrainerJobs(Transport& transport, std::string api_key, std::string account_id);

  // POST with ?rlorTrainerJobId=id: the same id on a retry finds the job made by the first try
  // (a 409 is answered with the existing job). Non-2xx otherwise -> ApiError.
  TrainerJob create(const std::string& id, const std::string& base_model, int lora_rank);
  TrainerJob get(const std::string& id);
  TrainerJob resume(const std::string& id);
  void remove(const std::string& id);
  // True when the trainer's own API answers its health check with 200.
  bool healthy(const std::string& id);
  std::string job_name(const std::string& id) const;

 private:
  HttpResponse send(const std::string& method, const std::string& path, std::string body);
  TrainerJob expect_job(const std::string& what, const HttpResponse& response);

  Transport& transport_;
  std::string api_key_;
  std::string account_id_;
};

}  // namespace weightsync

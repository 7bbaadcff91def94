// The JSON of the trainer-job REST API (POST/GET /v1/accounts/{a}/rlorTrainerJobs...), as the
// reference client's TrainerJobManager sends and reads it. Internal to fakeserver/src.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "weightsync/fake/cloud_model.h"

namespace weightsync::fake::detail {

// What a create request asks for, checked strictly: unknown fields and wrong types are
// InvalidArgument naming the field.
struct TrainerJobRequest {
  TrainerOptions options;                              // loraRank; the fake's model size
  std::optional<std::string> hot_load_deployment_id;  // the deprecated per-deployment bucket
  TrainerJob job;                                      // display name, trainingConfig
};

TrainerJobRequest decode_trainer_job_request(std::string_view body);

// {"name","displayName","state","status":{"code","message"},"serviceMode","trainingConfig"}
std::string encode_trainer_job(const TrainerEntry& entry, Duration now);

}  // namespace weightsync::fake::detail

// The trainer-job REST calls, over a Transport.
#include "weightsync/trainer_jobs.h"

#include <nlohmann/json.hpp>

#include "weightsync/errors.h"
#include "weightsync/internal/wire_json.h"
#include "weightsync/log.h"
#include "weightsync/wire.h"

namespace weightsync {
namespace {

using nlohmann::json;

}  // namespace

TrainerJob decode_trainer_job(std::string_view body) {
  const json o = internal::parse_body(body, "trainer job");
  internal::WireFields f(o, "trainer job");
  TrainerJob job;
  job.name = f.required_text("name", true);
  job.state = f.required_text("state", true);
  if (const json* status = f.child("status")) {
    internal::WireFields s(*status, f.at("status"));
    job.status_message = s.text("message", true).value_or("");
  }
  return job;
}

TrainerJobs::TrainerJobs(Transport& transport, std::string api_key, std::string account_id)
    : transport_(transport), api_key_(std::move(api_key)), account_id_(std::move(account_id)) {}

std::string TrainerJobs::job_name(const std::string& id) const {
  return "accounts/" + account_id_ + "/rlorTrainerJobs/" + id;
}

HttpResponse TrainerJobs::send(const std::string& method, const std::string& path,
                               std::string body) {
  HttpRequest request{method, path, {}, std::move(body)};
  request.headers.emplace_back("Content-Type", "application/json");
  request.headers.emplace_back("X-Api-Key", api_key_);
  log(LogLevel::debug, [&] { return method + " " + path; });
  return transport_.exchange(request);
}

TrainerJob TrainerJobs::expect_job(const std::string& what, const HttpResponse& response) {
  if (response.status < 200 || response.status >= 300) {
    throw ApiError(response.status, response.body,
                   what + ": expected HTTP 2xx, got " + std::to_string(response.status) + " (" +
                       error_message(response.body) + ")");
  }
  try {
    return decode_trainer_job(response.body);
  } catch (const WireError& e) {
    throw ApiError(response.status, response.body,
                   what + ": the answer does not have the API's shape (" + e.what() + ")");
  }
}

TrainerJob TrainerJobs::create(const std::string& id, const std::string& base_model,
                               int lora_rank) {
  const json body = {{"serviceMode", true},
                     {"trainingConfig", {{"baseModel", base_model}, {"loraRank", lora_rank}}}};
  const std::string path =
      std::string(kAccountsPath) + "/" + account_id_ + "/rlorTrainerJobs?rlorTrainerJobId=" + id;
  HttpResponse r = send("POST", path, body.dump());
  if (r.status == 409) {
    log(LogLevel::info, [&] { return "trainer job '" + job_name(id) + "' exists; using it"; });
    return get(id);
  }
  return expect_job("create trainer job '" + job_name(id) + "'", r);
}

TrainerJob TrainerJobs::get(const std::string& id) {
  return expect_job("get trainer job '" + job_name(id) + "'",
                    send("GET", "/v1/" + job_name(id), ""));
}

TrainerJob TrainerJobs::resume(const std::string& id) {
  return expect_job("resume trainer job '" + job_name(id) + "'",
                    send("POST", "/v1/" + job_name(id) + ":resume", "{}"));
}

void TrainerJobs::remove(const std::string& id) {
  HttpResponse r = send("DELETE", "/v1/" + job_name(id), "");
  if (r.status < 200 || r.status >= 300) {
    throw ApiError(r.status, r.body,
                   "delete trainer job '" + job_name(id) + "': expected HTTP 2xx, got " +
                       std::to_string(r.status) + " (" + error_message(r.body) + ")");
  }
}

bool TrainerJobs::healthy(const std::string& id) {
  return send("GET", "/training/v1/rlorTrainerJobs/" + account_id_ + "/" + id + "/api/v1/healthz",
              "")
             .status == 200;
}

}  // namespace weightsync

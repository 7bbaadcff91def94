// The deployment API's server side: decoding the requests a client sends and encoding the
// answers it reads (docs/SPEC.md section 5). Only the fake server answers these requests, so
// this half is internal (built into the fake, never installed); the shapes themselves and the
// client's half are in weightsync/wire.h.
//
// decode_* are strict, as the real server: a wrong type, a missing field or an unknown field is
// a WireError naming the field's path, what was expected and what was seen (the wording of
// weightsync/internal/json_fields.h). Stateless functions; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weightsync/wire.h"

namespace weightsync {

// An unknown field is refused with "extra inputs are not permitted" and the field's name, the
// real server's words, which the reference client looks for.
HotloadRequest decode_hotload_request(std::string_view body);
std::string encode(const HotloadStatus& status);

DeploymentConfig decode_deployment_config(std::string_view body);

// With a mask (snake_case or camelCase names), reads only the fields it names; a masked field
// missing from the body, or an unknown name in the mask, is a WireError. Without a mask, every
// field present in the body is set. A body field that is not updatable is a WireError either
// way.
DeploymentUpdate decode_deployment_update(std::string_view body,
                                          std::optional<std::string_view> mask);

// GET /v1/accounts?pageSize=2 -> {"accounts":[{"name":"accounts/<id>"}]}
std::string encode_account_list(const std::vector<std::string>& account_ids);

CompletionRequest decode_completion_request(std::string_view body);

// {"error":{"code":status,"message":message}}
std::string encode_error(int status, std::string_view message);

}  // namespace weightsync

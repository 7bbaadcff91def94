// The SSE writer of the completions stream (the reader is the library's sse_decoder.h).
#include "weightsync/fake/sse.h"

namespace weightsync::fake {

std::string sse_event(const nlohmann::json& value) {
  return "data: " + value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

}  // namespace weightsync::fake

// Server-Sent Events as the completions endpoint speaks them: each event is one `data:` line of
// compact JSON followed by a blank line, and the stream ends with `data: [DONE]`. The decoder,
// the client's half, is the library's (weightsync/sse_decoder.h).
//
// Thread-safety: the functions are stateless; an SseDecoder belongs to one reader.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "weightsync/sse_decoder.h"

namespace weightsync::fake {

inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";
inline constexpr std::string_view kSseContentType = "text/event-stream";

// One event: `data: <value as compact JSON>\n\n`. Bytes that are not valid UTF-8 are replaced
// (U+FFFD), so the line is always one line of valid JSON.
std::string sse_event(const nlohmann::json& value);

// The reader lives in the library (weightsync/sse_decoder.h), shared with the SamplingClient.
using weightsync::decode_sse;
using weightsync::SseDecoder;
using weightsync::SseEvent;

}  // namespace weightsync::fake

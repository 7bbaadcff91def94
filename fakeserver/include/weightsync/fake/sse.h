// Server-Sent Events as the completions endpoint speaks them: each event is one `data:` line of
// compact JSON followed by a blank line, and the stream ends with `data: [DONE]`. The decoder is
// the client's half (data and event fields, comment lines, any of the three line endings), for
// tests, the fuzz target and C++ clients that read a stream.
//
// Thread-safety: the functions are stateless; an SseDecoder belongs to one reader.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace weightsync::fake {

inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";
inline constexpr std::string_view kSseContentType = "text/event-stream";

// One event: `data: <value as compact JSON>\n\n`. Bytes that are not valid UTF-8 are replaced
// (U+FFFD), so the line is always one line of valid JSON.
std::string sse_event(const nlohmann::json& value);

struct SseEvent {
  std::string event;  // the `event:` field, "" if none
  std::string data;   // the `data:` lines joined by '\n'
};

class SseDecoder {
 public:
  // Adds bytes as they arrive (any split) and returns the events they complete.
  std::vector<SseEvent> feed(std::string_view bytes);
  // True if bytes of an unfinished event (or line) are held back.
  bool pending() const { return !line_.empty() || !data_.empty() || has_event_; }

 private:
  void take_line(std::vector<SseEvent>& out);

  std::string line_;
  bool after_cr_ = false;  // the last byte was '\r': a following '\n' ends no second line
  std::vector<std::string> data_;
  std::string event_;
  bool has_event_ = false;
};

// Every event of a whole body; a trailing event without its blank line is not returned.
std::vector<SseEvent> decode_sse(std::string_view body);

}  // namespace weightsync::fake

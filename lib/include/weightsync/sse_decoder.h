// Reading Server-Sent Events, the body of a streamed completion: events end at a blank line,
// their `data:` lines are joined with '\n', comment lines are skipped, and any of the three
// line endings is accepted. The SamplingClient, the fake's tests and its fuzz target read
// streams with it (the fake's writer is in fakeserver's sse.h).
//
// Thread-safety: decode_sse is stateless; an SseDecoder belongs to one reader.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace weightsync {

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

}  // namespace weightsync

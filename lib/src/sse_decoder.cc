// The SSE reader of the completions stream.
#include "weightsync/sse_decoder.h"

namespace weightsync {

std::vector<SseEvent> SseDecoder::feed(std::string_view bytes) {
  std::vector<SseEvent> out;
  for (const char c : bytes) {
    if (c == '\n' && after_cr_) {
      after_cr_ = false;
      continue;
    }
    after_cr_ = c == '\r';
    if (c == '\n' || c == '\r') {
      take_line(out);
    } else {
      line_.push_back(c);
    }
  }
  return out;
}

void SseDecoder::take_line(std::vector<SseEvent>& out) {
  const std::string line = line_;
  line_.clear();
  if (line.empty()) {
    if (data_.empty() && !has_event_) return;
    SseEvent event{std::move(event_), ""};
    for (std::size_t i = 0; i < data_.size(); ++i) event.data += (i ? "\n" : "") + data_[i];
    out.push_back(std::move(event));
    data_.clear();
    event_.clear();
    has_event_ = false;
    return;
  }
  if (line[0] == ':') return;  // a comment
  const auto colon = line.find(':');
  const std::string field = line.substr(0, colon);
  std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.erase(0, 1);
  if (field == "data") {
    data_.push_back(std::move(value));
  } else if (field == "event") {
    event_ = std::move(value);
    has_event_ = true;
  }
}

std::vector<SseEvent> decode_sse(std::string_view body) {
  SseDecoder decoder;
  return decoder.feed(body);
}

}  // namespace weightsync

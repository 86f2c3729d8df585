// libFuzzer target: the frame decoder and channel multiplexer (src/proto/mux)
// take any byte stream without crashing, without buffering a channel beyond
// its window, and without queuing output they were not asked for.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "proto/mux.h"

using ctk::proto::Mux;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Mux mux;
  // Channels 1-3 open, as after a create; the rest are dropped frames.
  for (uint32_t ch = 1; ch <= 3; ++ch) mux.open(ch);
  // The first byte picks how the stream is cut into reads, so frames split
  // across feeds are covered, and whether the reads go through feed or
  // straight into feed_space (the agent's way).
  size_t chunk = size ? (data[0] % 64) + 1 : 1;
  bool in_place = size && (data[0] & 64);
  size_t off = size ? 1 : 0;
  std::string text;
  while (off < size) {
    size_t n = std::min(chunk, size - off);
    if (in_place) {
      std::memcpy(mux.feed_space(n), data + off, n);
      mux.fed(n);
    } else {
      mux.feed(data + off, n);
    }
    off += n;
    for (;;) {
      Mux::Input in = mux.next(&text);
      if (in == Mux::Input::kNone) break;
      if (in == Mux::Input::kFatal) return 0;
      if (in == Mux::Input::kMessage && text.size() > ctk::proto::kMaxMessage) std::abort();
    }
    for (uint32_t ch = 1; ch <= 3; ++ch) {
      if (mux.received(ch).size() > ctk::proto::kInitialWindow) std::abort();
      // Consume half, so credit goes back and buffers move.
      mux.consume(ch, mux.received(ch).size() / 2);
      if (mux.peer_eof(ch) && mux.received(ch).empty()) mux.release(ch);
    }
    mux.wrote(mux.output().size());
  }
  return 0;
}

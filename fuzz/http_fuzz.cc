// libFuzzer target: the HTTP server's request parsing (src/http) takes any
// byte stream without crashing: heads parsed whole, bodies decoded with
// either framing, pipelined requests split anywhere, and a head or body
// beyond its limit refused rather than buffered.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>

#include "http/connection.h"
#include "http/request.h"

using ctk::http::ChunkedDecoder;
using ctk::http::Connection;
using ctk::http::Request;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The head parser alone.
  Request r;
  std::string err;
  if (ctk::http::parse_head(in, &r, &err) && r.target.empty()) std::abort();
  // The chunked decoder, fed in pieces whose size the first byte picks.
  {
    ChunkedDecoder d;
    std::string body;
    size_t step = size ? (data[0] % 16) + 1 : 1, at = 0;
    while (at < size && !d.done()) {
      size_t used = 0;
      if (!d.feed(in.data() + at, std::min(step, size - at), &body, &used, &err)) break;
      if (used == 0 && !d.done()) std::abort();  // no progress on input it was given
      at += used;
    }
    if (body.size() > size) std::abort();
  }
  // A whole connection: the bytes as a client's stream, requests read and
  // their bodies drained until the stream ends or is refused.
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 0;
  std::thread writer([&] {
    (void)!::send(sv[0], data, size, MSG_NOSIGNAL);
    ::shutdown(sv[0], SHUT_WR);
  });
  {
    Connection conn(ctk::http::socket_stream(sv[1]));
    for (int i = 0; i < 64; ++i) {
      Request req;
      if (!conn.read_request(&req, &err)) break;
      std::string body;
      bool too_large;
      if (!conn.read_whole_body(&body, 1 << 16, &too_large, &err)) break;
      if (body.size() > (1 << 16)) std::abort();
      conn.respond(200, {}, "");
    }
  }
  writer.join();
  ::close(sv[0]);
  return 0;
}

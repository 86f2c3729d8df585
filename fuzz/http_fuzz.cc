// libFuzzer target: the HTTP server's request parsing (src/http) takes any
// byte stream without crashing: heads parsed whole, bodies decoded with
// either framing, pipelined requests split anywhere, and a head or body
// beyond its limit refused rather than buffered; and the WebSocket decoder
// takes any frames.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>

#include "http/connection.h"
#include "http/request.h"
#include "http/websocket.h"

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
  // The WebSocket decoder (the web UI's terminal), fed in the same pieces:
  // a message never exceeds its limit, and a failed decoder stays failed.
  {
    ctk::http::WsDecoder d(4096);
    size_t step = size ? (data[0] % 16) + 1 : 1;
    bool failed = false;
    for (size_t at = 0; at < size; at += step) {
      d.feed(in.substr(at, step));
      ctk::http::WsMessage m;
      uint16_t code = 0;
      ctk::http::WsDecoder::Result res;
      while ((res = d.next(&m, &code, &err)) == ctk::http::WsDecoder::Result::kMessage) {
        if (failed || m.data.size() > 4096) std::abort();
      }
      if (res == ctk::http::WsDecoder::Result::kError) {
        if (code < 1000) std::abort();
        failed = true;
      }
    }
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

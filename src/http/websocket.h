// WebSocket (RFC 6455), the server's side: the opening handshake's checks
// and answer, a decoder of a client's frames and the server's frames. The
// web UI's terminal carries a process's pty over one (docs/UI.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/request.h"

namespace ctk::http {

// Whether req opens a WebSocket: GET, Upgrade: websocket, Connection
// naming upgrade, Sec-WebSocket-Version 13 and a key of 16 bytes in base64.
// false with why.
bool is_websocket_request(const Request& req, std::string* err);

// The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key.
std::string websocket_accept(std::string_view key);

enum class WsOpcode : uint8_t { kContinuation = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10 };

struct WsMessage {
  WsOpcode opcode = WsOpcode::kBinary;  // text, binary, close, ping or pong
  std::string data;                     // a close's: its code (2 bytes) and reason
};

// A client's frames, as they arrive, into whole messages: clients must mask
// every frame; control frames (close, ping, pong) are at most 125 bytes,
// never fragmented, and may come between a message's fragments; a text
// message must be UTF-8. Nothing is buffered beyond one frame of at most
// max_message bytes.
class WsDecoder {
 public:
  explicit WsDecoder(size_t max_message = 1 << 20) : max_message_(max_message) {}

  void feed(std::string_view data) { buf_.append(data); }

  enum class Result { kNeedMore, kMessage, kError };
  // The next message. kError: the client broke the protocol; *close_code is
  // the code to close with (1002 protocol error, 1007 bad UTF-8, 1009 too
  // big) and *err says why. After an error, the decoder stays failed.
  Result next(WsMessage* out, uint16_t* close_code, std::string* err);

 private:
  Result fail(uint16_t code, const std::string& why, uint16_t* close_code, std::string* err);

  size_t max_message_;
  std::string buf_;
  std::string partial_;  // a fragmented message's data so far
  WsOpcode partial_opcode_ = WsOpcode::kContinuation;  // kContinuation: none under way
  uint16_t failed_ = 0;  // the close code once failed
};

// A server frame (unmasked, final).
std::string ws_frame(WsOpcode opcode, std::string_view payload);
// A close frame with a status code and a reason (cut to fit 125 bytes).
std::string ws_close_frame(uint16_t code, std::string_view reason);

}  // namespace ctk::http

#include "api/stdio_stream.h"

#include <cerrno>
#include <cstring>

namespace ctk::api {

std::string frame(int stream, std::string_view data) {
  std::string out(8, '\0');
  out[0] = char(stream);
  uint32_t n = uint32_t(data.size());
  out[4] = char(n >> 24), out[5] = char(n >> 16), out[6] = char(n >> 8), out[7] = char(n);
  out.append(data);
  return out;
}

ssize_t HijackedEnds::read_input(char* buf, size_t size) {
  if (!buffered_.empty()) {
    size_t n = std::min(size, buffered_.size());
    std::memcpy(buf, buffered_.data(), n);
    buffered_.erase(0, n);
    return ssize_t(n);
  }
  return conn_.stream().read(buf, size);
}

bool HijackedEnds::write_output(int stream, std::string_view data) {
  if (stream == 1 ? !stdout_ : !stderr_) return true;  // not asked for: dropped
  return conn_.stream().write_all(tty_ ? std::string(data) : frame(stream, data));
}

bool WebSocketEnds::take_messages() {
  char buf[64 * 1024];
  ssize_t n = conn_.stream().read(buf, sizeof buf);
  if (n <= 0) return false;
  decoder_.feed({buf, size_t(n)});
  http::WsMessage m;
  uint16_t code = 0;
  std::string why;
  for (;;) {
    switch (decoder_.next(&m, &code, &why)) {
      case http::WsDecoder::Result::kNeedMore:
        return true;
      case http::WsDecoder::Result::kError:
        if (!closed_) conn_.stream().write_all(http::ws_close_frame(code, why));
        closed_ = true;
        return false;
      case http::WsDecoder::Result::kMessage:
        break;
    }
    switch (m.opcode) {
      case http::WsOpcode::kClose:
        if (!closed_) conn_.stream().write_all(http::ws_close_frame(1000, ""));
        closed_ = true;
        return false;
      case http::WsOpcode::kPing:
        conn_.stream().write_all(http::ws_frame(http::WsOpcode::kPong, m.data));
        break;
      case http::WsOpcode::kPong:
        break;
      default:
        input_ += m.data;
    }
  }
}

ssize_t WebSocketEnds::read_input(char* buf, size_t size) {
  if (input_.empty()) {
    bool open = !closed_ && take_messages();
    if (input_.empty() && !open) return 0;  // stdin ends
    if (input_.empty()) {
      // Only control frames, or part of a frame: nothing for stdin yet.
      errno = EINTR;
      return -1;
    }
  }
  size_t n = std::min(size, input_.size());
  std::memcpy(buf, input_.data(), n);
  input_.erase(0, n);
  return ssize_t(n);
}

bool WebSocketEnds::write_output(int, std::string_view data) {
  return !closed_ && conn_.stream().write_all(http::ws_frame(http::WsOpcode::kBinary, data));
}

void WebSocketEnds::close(int exit_code) {
  if (closed_) return;
  closed_ = true;
  conn_.stream().write_all(http::ws_close_frame(1000, "exit " + std::to_string(exit_code)));
}

}  // namespace ctk::api

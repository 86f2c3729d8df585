#include "api/stdio_stream.h"

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

}  // namespace ctk::api

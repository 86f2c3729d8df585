// libFuzzer target: the agent's control message handling (JSON parsing, ids,
// argument types, dispatch) never crashes and always answers. Each input is
// the text of channel 0 after a hello, served by a real Agent over a
// socketpair until the fuzzer's side hangs up.
//
// The agent acts as root: requests that touch the system (files, mounts, the
// network, containers that would run programs) are not passed on, so what is
// fuzzed is parsing and dispatch, plus the replies for absent containers.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "init/agent.h"
#include "proto/frame.h"

namespace {

bool harmless(std::string_view text) {
  static const char* const kUnsafe[] = {"create", "mount", "umount", "mkdir", "network",
                                        "write_file", "copy_in", "copy_out", "connect"};
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? text.npos : nl - start);
    auto req = nlohmann::json::parse(line, nullptr, false);
    if (req.is_object() && req.contains("op") && req["op"].is_string())
      for (const char* op : kUnsafe)
        if (req["op"] == op) return false;
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (!harmless(text)) return 0;
  std::string stream;
  std::string hello = "{\"id\":0,\"op\":\"hello\",\"version\":1}\n";
  ctk::proto::append_frame(&stream, ctk::proto::FrameType::kData, 0, hello.data(), hello.size());
  for (size_t off = 0; off < size; off += ctk::proto::kMaxPayload)
    ctk::proto::append_frame(&stream, ctk::proto::FrameType::kData, 0, data + off,
                             std::min(ctk::proto::kMaxPayload, size - off));
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds)) std::abort();
  // Fits the socket buffer: inputs are capped by -max_len (see docs/FUZZING.md).
  int buf = 4 << 20;
  ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  ::setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  if (::write(fds[0], stream.data(), stream.size()) != ssize_t(stream.size())) std::abort();
  ::shutdown(fds[0], SHUT_WR);
  {
    ctk::init::Agent agent;
    std::string err;
    if (!agent.listen("fd:" + std::to_string(fds[1]), &err) || !agent.run(&err)) std::abort();
  }
  // Every reply is a frame on channel 0: at least the hello's came back.
  char reply[64];
  if (::read(fds[0], reply, sizeof reply) < ssize_t(ctk::proto::kHeaderSize)) std::abort();
  ::close(fds[0]);
  return 0;
}

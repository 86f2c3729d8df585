#include "proto/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "base/error.h"

namespace ctk::proto {

using nlohmann::json;

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

bool Client::connect_unix(const std::string& path, std::string* err) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) {
    *err = "socket path '" + path + "' is too long";
    return false;
  }
  std::memcpy(sa.sun_path, path.data(), path.size());
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa)) {
    *err = sys_error(path);
    return false;
  }
  return true;
}

bool Client::flush(std::string* err) {
  while (!mux_.output().empty()) {
    std::string_view out = mux_.output();
    ssize_t n = ::send(fd_, out.data(), out.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *err = sys_error("write to the agent");
      return false;
    }
    mux_.wrote(size_t(n));
  }
  return true;
}

bool Client::pump(int timeout_ms, std::string* err) {
  if (!flush(err)) {
    // An agent that hung up after its last words (an EOF, a reply) makes
    // sending fail; what it sent is still to be read, and read first.
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    timeout_ms = 0;
  }
  pollfd p{fd_, POLLIN, 0};
  int r = ::poll(&p, 1, timeout_ms);
  if (r < 0 && errno != EINTR) {
    *err = sys_error("poll");
    return false;
  }
  if (r <= 0) return true;
  char buf[256 * 1024];
  ssize_t n = ::read(fd_, buf, sizeof buf);
  if (n <= 0) {
    *err = n == 0 ? "the agent closed the connection" : sys_error("read from the agent");
    return false;
  }
  mux_.feed(buf, size_t(n));
  std::string text;
  for (;;) {
    switch (mux_.next(&text)) {
      case Mux::Input::kNone: {
        // Window updates from consume() calls. What just arrived counts
        // first: a failed send shows on the next pump, if nothing is left to read.
        std::string ignored;
        flush(&ignored);
        return true;
      }
      case Mux::Input::kMessage: {
        json msg = json::parse(text, nullptr, false);
        // Replies without an id report protocol errors this side made: surfaced at once.
        if (msg.is_discarded() || !msg.contains("id") || !msg["id"].is_number_integer()) {
          *err = "agent: " + (msg.is_discarded() ? text : msg.dump());
          return false;
        }
        int64_t id = msg["id"].get<int64_t>();
        replies_[id] = std::move(msg);
        break;
      }
      case Mux::Input::kError:
      case Mux::Input::kFatal:
        *err = "agent protocol: " + text;
        return false;
    }
  }
}

int64_t Client::request(const std::string& op, json args) {
  int64_t id = next_id_++;
  args["id"] = id;
  args["op"] = op;
  mux_.send_message(args.dump(-1, ' ', false, json::error_handler_t::replace));
  return id;
}

bool Client::take_reply(int64_t id, json* reply) {
  auto it = replies_.find(id);
  if (it == replies_.end()) return false;
  *reply = std::move(it->second);
  replies_.erase(it);
  return true;
}

namespace {

// Waits for the reply to id; false (with err) only when the stream fails.
bool wait_reply(Client& c, int64_t id, json* reply, std::string* err) {
  while (!c.take_reply(id, reply))
    if (!c.pump(-1, err)) return false;
  return true;
}

// A reply's result, or false with its error's message (and code).
bool reply_result(const json& reply, json* result, std::string* err, std::string* code) {
  if (reply.contains("error")) {
    *err = reply["error"].value("message", "");
    if (code) *code = reply["error"].value("code", "");
    return false;
  }
  if (result) *result = reply.value("result", json::object());
  return true;
}

}  // namespace

bool Client::call(const std::string& op, json args, json* result, std::string* err,
                  std::string* code) {
  json reply;
  return wait_reply(*this, request(op, std::move(args)), &reply, err) &&
         reply_result(reply, result, err, code);
}

bool Client::call_all(const std::vector<Call>& calls, std::string* err, std::string* code,
                      size_t* failed) {
  return await_all(request_all(calls), err, code, failed);
}

std::vector<int64_t> Client::request_all(const std::vector<Call>& calls) {
  std::vector<int64_t> ids;
  for (const Call& c : calls) ids.push_back(request(c.op, c.args));
  return ids;
}

bool Client::await_all(const std::vector<int64_t>& ids, std::string* err, std::string* code, size_t* failed) {
  bool ok = true;
  // Every reply is collected, so none is left behind for a later take_reply.
  for (size_t i = 0; i < ids.size(); ++i) {
    json reply;
    if (!wait_reply(*this, ids[i], &reply, err)) return false;
    if (ok && !reply_result(reply, nullptr, err, code)) {
      ok = false;
      if (failed) *failed = i;
    }
  }
  return ok;
}

bool Client::hello(json* info, std::string* err) {
  return call("hello", {{"version", kVersion}}, info, err);
}

uint32_t Client::open_channel() {
  while (!mux_.open(next_channel_)) ++next_channel_;
  return next_channel_++;
}

bool Client::write(uint32_t ch, const void* data, size_t len, std::string* err) {
  const char* p = static_cast<const char*>(data);
  while (len) {
    if (mux_.peer_closed(ch)) {
      *err = "channel " + std::to_string(ch) + " was closed by the agent";
      return false;
    }
    size_t n = mux_.send(ch, p, len);
    p += n;
    len -= n;
    if (!(n ? flush(err) : pump(-1, err))) return false;
  }
  return true;
}

bool Client::send_eof(uint32_t ch, std::string* err) {
  mux_.send_eof(ch);
  return flush(err);
}

bool Client::read(uint32_t ch, void* buf, size_t len, size_t* got, std::string* err) {
  while (mux_.received(ch).empty() && !mux_.peer_eof(ch))
    if (!pump(-1, err)) return false;
  std::string_view data = mux_.received(ch);
  *got = std::min(len, data.size());
  std::memcpy(buf, data.data(), *got);
  // The credit goes out with the next pump: the peer may have hung up by now.
  mux_.consume(ch, *got);
  return true;
}

}  // namespace ctk::proto

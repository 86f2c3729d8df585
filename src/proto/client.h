// The host side of the agent protocol: one connection to a guest agent, with
// blocking calls for applets (`ctk run`, `ctk exec`). While a call waits for
// its reply, data arriving on channels is buffered (at most one window per
// channel) for read(); a caller driving several channels at once polls fd()
// and uses pump().
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "proto/mux.h"

namespace ctk::proto {

class Client {
 public:
  Client() = default;
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connect_unix(const std::string& path, std::string* err);
  // Takes over a connected stream (a virtio-serial port, a socketpair).
  void adopt(int fd) { fd_ = fd; }
  int fd() const { return fd_; }

  // The handshake; fills the agent's hello result.
  bool hello(nlohmann::json* info, std::string* err);

  // Sends {"op": op, ...args} and waits for its reply. On an error reply
  // returns false with err "message" and code the protocol's error code.
  bool call(const std::string& op, nlohmann::json args, nlohmann::json* result, std::string* err,
            std::string* code = nullptr);

  // Sends every request at once, then waits for the replies: one round trip
  // instead of one per call (the agent handles requests in order, so later
  // ones see what earlier ones did). The first error reply is the result,
  // with the index of its call in *failed; requests after it have run too.
  struct Call {
    std::string op;
    nlohmann::json args;
  };
  bool call_all(const std::vector<Call>& calls, std::string* err, std::string* code = nullptr,
                size_t* failed = nullptr);
  // call_all in two steps, so that a request whose reply comes later (wait)
  // can follow the batch on the wire without waiting for it.
  std::vector<int64_t> request_all(const std::vector<Call>& calls);
  bool await_all(const std::vector<int64_t>& ids, std::string* err, std::string* code = nullptr,
                 size_t* failed = nullptr);

  // Sends a request without waiting; pump() collects the reply for take_reply().
  int64_t request(const std::string& op, nlohmann::json args);
  // The reply to request id, once it has arrived.
  bool take_reply(int64_t id, nlohmann::json* reply);
  // The channels themselves, for callers that drive several at once with pump().
  Mux& mux() { return mux_; }

  // A fresh data channel id, open on this side, to name in a request.
  uint32_t open_channel();
  // Sends all of data, waiting for credit as needed.
  bool write(uint32_t ch, const void* data, size_t len, std::string* err);
  bool send_eof(uint32_t ch, std::string* err);
  // Waits for data on ch and moves up to len bytes into buf; 0 at EOF.
  bool read(uint32_t ch, void* buf, size_t len, size_t* got, std::string* err);

  // Flushes queued output and handles what has arrived, waiting at most
  // timeout_ms for the stream (-1: until something arrives).
  bool pump(int timeout_ms, std::string* err);
  // Writes everything queued (requests, data, window updates).
  bool flush(std::string* err);

 private:

  int fd_ = -1;
  Mux mux_;
  int64_t next_id_ = 1;
  uint32_t next_channel_ = 1;
  std::map<int64_t, nlohmann::json> replies_;
};

}  // namespace ctk::proto

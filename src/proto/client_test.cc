#include "proto/client.h"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <thread>

using namespace ctk::proto;
using nlohmann::json;

// A stand-in agent on a socketpair: answers hello, echoes a channel back in
// upper case on the next channel, and fails "boom".
TEST_CASE("client calls, streams and errors") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  std::thread agent([fd = sv[1]] {
    Mux mux;
    std::string in_text;
    char buf[65536];
    uint32_t in = 0;
    bool done = false;
    while (!done) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      mux.feed(buf, size_t(n));
      std::string text;
      for (Mux::Input k; (k = mux.next(&text)) != Mux::Input::kNone;) {
        if (k != Mux::Input::kMessage) continue;
        json req = json::parse(text);
        if (req["op"] == "hello") {
          mux.send_message(json{{"id", req["id"]}, {"result", {{"version", 1}}}}.dump());
        } else if (req["op"] == "upper") {
          in = req["channel"];
          mux.open(in);
          mux.open(in + 1);
          mux.send_message(json{{"id", req["id"]}, {"result", json::object()}}.dump());
        } else {
          mux.send_message(json{{"id", req["id"]},
                                {"error", {{"code", "not_found"}, {"message", "no boom"}}}}.dump());
        }
      }
      if (in) {
        // Input is taken only as far as output credit allows, as the agent does.
        std::string data(mux.received(in).substr(0, mux.send_window(in + 1)));
        mux.consume(in, data.size());
        for (char& c : data) c = char(std::toupper(c));
        REQUIRE(mux.send(in + 1, data.data(), data.size()) == data.size());
        if (mux.peer_eof(in) && mux.received(in).empty()) {
          mux.send_eof(in + 1);
          done = true;
        }
      }
      std::string_view out = mux.output();
      REQUIRE(::write(fd, out.data(), out.size()) == ssize_t(out.size()));
      mux.wrote(out.size());
    }
    ::close(fd);
  });

  Client client;
  client.adopt(sv[0]);
  std::string err, code;
  json info;
  REQUIRE(client.hello(&info, &err));
  CHECK(info["version"] == 1);
  CHECK_FALSE(client.call("boom", json::object(), &info, &err, &code));
  CHECK(code == "not_found");
  CHECK(err == "no boom");
  // Pipelined: the first error wins, and every reply is consumed.
  code.clear();
  CHECK(client.call_all({{"hello", {{"version", 1}}}, {"hello", {{"version", 1}}}}, &err, &code));
  CHECK(code.empty());
  size_t failed = 9;
  CHECK_FALSE(client.call_all({{"hello", {{"version", 1}}}, {"boom", json::object()}, {"hello", {{"version", 1}}}},
                              &err, &code, &failed));
  CHECK(code == "not_found");
  CHECK(failed == 1);
  uint32_t in = client.open_channel(), out = client.open_channel();
  REQUIRE(out == in + 1);
  REQUIRE(client.call("upper", {{"channel", in}}, &info, &err));
  // More than one window (but less than the two windows in flight, since
  // nothing reads the output meanwhile): write() has to wait for credit.
  std::string text(400 * 1000, 'a');
  REQUIRE(client.write(in, text.data(), text.size(), &err));
  REQUIRE(client.send_eof(in, &err));
  std::string result;
  char buf[4096];
  for (size_t got = 1; got;) {
    REQUIRE(client.read(out, buf, sizeof buf, &got, &err));
    result.append(buf, got);
  }
  CHECK(result == std::string(text.size(), 'A'));
  agent.join();
}

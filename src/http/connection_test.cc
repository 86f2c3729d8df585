#include "http/connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace ctk::http {

namespace {

// A connection over one end of a socketpair; the test writes the client's
// bytes to the other end and reads what the server answered.
struct Pair {
  int client = -1;
  std::unique_ptr<Connection> conn;
  Pair() {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    client = sv[0];
    conn = std::make_unique<Connection>(socket_stream(sv[1]));
  }
  ~Pair() { ::close(client); }
  void send(const std::string& s) { REQUIRE(::write(client, s.data(), s.size()) == ssize_t(s.size())); }
  std::string receive_all() {
    conn.reset();  // closes the server's end
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(client, buf, sizeof buf)) > 0) out.append(buf, size_t(n));
    return out;
  }
};

}  // namespace

TEST_CASE("Connection: pipelined requests, bodies of both framings") {
  Pair p;
  p.send("POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
         "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
         "GET /c HTTP/1.1\r\n\r\n");
  ::shutdown(p.client, SHUT_WR);
  Request r;
  std::string err, body;
  bool too_large;
  REQUIRE(p.conn->read_request(&r, &err));
  CHECK(r.path == "/a");
  REQUIRE(p.conn->read_whole_body(&body, 100, &too_large, &err));
  CHECK(body == "abc");
  REQUIRE(p.conn->respond(200, {}, "one"));
  REQUIRE(p.conn->read_request(&r, &err));
  CHECK(r.path == "/b");
  REQUIRE(p.conn->read_whole_body(&body, 100, &too_large, &err));
  CHECK(body == "xy");
  REQUIRE(p.conn->begin_stream(200, {{"Content-Type", "text/plain"}}));
  REQUIRE(p.conn->write_chunk("hello"));
  REQUIRE(p.conn->end_stream());
  REQUIRE(p.conn->read_request(&r, &err));
  CHECK(r.path == "/c");
  CHECK(p.conn->body_complete());
  CHECK_FALSE(p.conn->read_request(&r, &err));
  CHECK(err.empty());  // a clean end between requests
  std::string out = p.receive_all();
  CHECK(out.find("HTTP/1.1 200 OK\r\n") == 0);
  CHECK(out.find("Content-Length: 3\r\n\r\none") != std::string::npos);
  CHECK(out.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(out.find("\r\n\r\n5\r\nhello\r\n0\r\n\r\n") != std::string::npos);
}

TEST_CASE("Connection: an oversized body is refused, a broken one is an error") {
  Pair p;
  p.send("POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789");
  Request r;
  std::string err, body;
  bool too_large;
  REQUIRE(p.conn->read_request(&r, &err));
  CHECK_FALSE(p.conn->read_whole_body(&body, 5, &too_large, &err));
  CHECK(too_large);
  CHECK_FALSE(p.conn->keep_alive());

  Pair q;
  q.send("POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123");
  ::shutdown(q.client, SHUT_WR);
  REQUIRE(q.conn->read_request(&r, &err));
  CHECK_FALSE(q.conn->read_whole_body(&body, 100, &too_large, &err));
  CHECK_FALSE(too_large);
}

TEST_CASE("Connection: hijack answers 101, returns once the client read it, hands over the bytes past the head") {
  Pair p;
  p.send("POST /containers/x/attach HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nstdin-bytes");
  Request r;
  std::string err;
  REQUIRE(p.conn->read_request(&r, &err));
  // The client reads the head a moment later: the stream must not have
  // begun by then (a buffered reader would swallow it with the head).
  std::atomic<bool> read{false};
  std::string head(4096, '\0');
  std::thread client([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    read = true;
    head.resize(size_t(std::max<ssize_t>(0, ::read(p.client, head.data(), head.size()))));
  });
  REQUIRE(p.conn->hijack({{"Content-Type", "application/vnd.docker.raw-stream"}}));
  CHECK(read);
  client.join();
  CHECK(p.conn->take_buffered() == "stdin-bytes");
  CHECK_FALSE(p.conn->keep_alive());
  CHECK(head.find("HTTP/1.1 101 UPGRADED\r\n") == 0);
  CHECK(head.find("Upgrade: tcp\r\n") != std::string::npos);
  CHECK(head.find("Content-Length") == std::string::npos);
}

TEST_CASE("Connection: a head beyond 64 KiB is refused") {
  Pair p;
  std::thread writer([&] {
    std::string big = "GET / HTTP/1.1\r\nX: " + std::string(70000, 'a');
    (void)!::write(p.client, big.data(), big.size());
  });
  Request r;
  std::string err;
  CHECK_FALSE(p.conn->read_request(&r, &err));
  CHECK(err.find("64 KiB") != std::string::npos);
  writer.join();
}

}  // namespace ctk::http

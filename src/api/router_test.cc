#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "api/api.h"
#include "api/server_state.h"

namespace ctk::api {

namespace {

// Dispatches one raw request and returns the raw response.
std::string answer(const std::string& wire) {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  REQUIRE(::write(sv[0], wire.data(), wire.size()) == ssize_t(wire.size()));
  ::shutdown(sv[0], SHUT_WR);
  {
    http::Connection conn(http::socket_stream(sv[1]));
    http::Request req;
    std::string err;
    REQUIRE(conn.read_request(&req, &err));
    ServerState state("/nonexistent-ctk-root");
    dispatch(conn, req, state);
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(sv[0], buf, sizeof buf)) > 0) out.append(buf, size_t(n));
  ::close(sv[0]);
  return out;
}

}  // namespace

TEST_CASE("compare_versions") {
  CHECK(compare_versions("1.44", "1.44") == 0);
  CHECK(compare_versions("1.9", "1.24") < 0);
  CHECK(compare_versions("1.45", "1.44") > 0);
  CHECK(compare_versions("2", "1.99") > 0);
}

TEST_CASE("dispatch: version prefixes, unknown routes and methods") {
  CHECK(answer("GET /_ping HTTP/1.1\r\n\r\n").find("200 OK") != std::string::npos);
  CHECK(answer("HEAD /_ping HTTP/1.1\r\n\r\n").find("Api-Version: 1.44") != std::string::npos);
  CHECK(answer("GET /v1.24/version HTTP/1.1\r\n\r\n").find("200 OK") != std::string::npos);
  std::string newer = answer("GET /v1.45/version HTTP/1.1\r\n\r\n");
  CHECK(newer.find("400 Bad Request") != std::string::npos);
  CHECK(newer.find("Maximum supported API version is 1.44") != std::string::npos);
  CHECK(answer("GET /v1.12/version HTTP/1.1\r\n\r\n").find("400 Bad Request") != std::string::npos);
  CHECK(answer("GET /nothing/here HTTP/1.1\r\n\r\n").find("404 Not Found") != std::string::npos);
  CHECK(answer("DELETE /version HTTP/1.1\r\n\r\n").find("405") != std::string::npos);
  std::string build = answer("POST /v1.44/build HTTP/1.1\r\n\r\n");
  CHECK(build.find("501") != std::string::npos);
  CHECK(build.find("does not build images") != std::string::npos);
  // Not in a swarm: docker's 503, which clients leaving with force take as done.
  std::string leave = answer("POST /v1.41/swarm/leave?force=True HTTP/1.1\r\n\r\n");
  CHECK(leave.find("503") != std::string::npos);
  CHECK(leave.find("This node is not part of a swarm") != std::string::npos);
}

}  // namespace ctk::api

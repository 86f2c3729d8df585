#include "http/request.h"

#include <doctest/doctest.h>

#include <cstring>

namespace ctk::http {

TEST_CASE("parse_head: request line, query and headers") {
  Request r;
  std::string err;
  REQUIRE(parse_head("POST /v1.44/containers/create?name=web%201&x=a+b&all HTTP/1.1\r\n"
                     "Host: docker\r\nContent-Type:  application/json \r\nContent-Length: 12\r\n",
                     &r, &err));
  CHECK(r.method == "POST");
  CHECK(r.path == "/v1.44/containers/create");
  CHECK(r.param("name") == "web 1");
  CHECK(r.param("x") == "a b");
  CHECK(r.has_param("all"));
  CHECK(r.param("missing", "d") == "d");
  CHECK(r.header("content-type") == "application/json");
  uint64_t n;
  REQUIRE(content_length(r, &n, &err));
  CHECK(n == 12);
  CHECK(r.keep_alive());
}

TEST_CASE("parse_head: malformed heads are errors") {
  Request r;
  std::string err;
  for (const char* bad : {"GET\r\n", "GET / HTTP/2.0\r\n", "GET nopath HTTP/1.1\r\n", "GET / HTTP/1.1 extra\r\n",
                          "GET /%zz HTTP/1.1\r\n", "GET /?a=%4 HTTP/1.1\r\n", "GET / HTTP/1.1\r\nNoColon\r\n",
                          "GET / HTTP/1.1\r\n folded\r\n", "G(T / HTTP/1.1\r\n",
                          "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n",
                          "GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n", "GET /a%00b HTTP/1.1\r\n"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_head(bad, &r, &err));
    CHECK_FALSE(err.empty());
  }
  REQUIRE(parse_head("GET / HTTP/1.1\r\nContent-Length: 1x\r\n", &r, &err));
  uint64_t n;
  CHECK_FALSE(content_length(r, &n, &err));
  REQUIRE(parse_head("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n", &r, &err));
  CHECK_FALSE(content_length(r, &n, &err));
}

TEST_CASE("keep-alive follows the version and Connection") {
  Request r;
  std::string err;
  REQUIRE(parse_head("GET / HTTP/1.0\r\n", &r, &err));
  CHECK_FALSE(r.keep_alive());
  REQUIRE(parse_head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n", &r, &err));
  CHECK(r.keep_alive());
  REQUIRE(parse_head("GET / HTTP/1.1\r\nConnection: close\r\n", &r, &err));
  CHECK_FALSE(r.keep_alive());
}

TEST_CASE("ChunkedDecoder: any split of the input gives the same body") {
  std::string wire = "5;ext=1\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: x\r\n\r\nNEXT";
  for (size_t step = 1; step <= wire.size(); ++step) {
    ChunkedDecoder d;
    std::string body, err;
    size_t at = 0;
    while (at < wire.size() && !d.done()) {
      size_t used;
      REQUIRE(d.feed(wire.data() + at, std::min(step, wire.size() - at), &body, &used, &err));
      at += used;
    }
    CHECK(d.done());
    CHECK(body == "helloabcdefghijklmnopqrstuvwxyz");
    CHECK(wire.substr(at) == "NEXT");
  }
}

TEST_CASE("ChunkedDecoder: malformed framing is an error") {
  for (const char* bad : {"x\r\n", "5\r\nhelloX\r\n", "ffffffffffffffffff\r\n", "5\rX"}) {
    ChunkedDecoder d;
    std::string body, err;
    size_t used;
    CAPTURE(bad);
    CHECK_FALSE(d.feed(bad, std::strlen(bad), &body, &used, &err));
  }
}

}  // namespace ctk::http

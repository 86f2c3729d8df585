#include "oci/http.h"

#include <doctest/doctest.h>

using namespace ctk::oci::http;

TEST_CASE("http: URLs and redirects") {
  Url u;
  std::string err;
  REQUIRE(parse_url("https://registry-1.docker.io/v2/", &u, &err));
  CHECK(u.host == "registry-1.docker.io");
  CHECK(u.port == "443");
  CHECK(u.origin() == "https://registry-1.docker.io");
  REQUIRE(parse_url("http://127.0.0.1:5000", &u, &err));
  CHECK(u.target == "/");
  CHECK(u.origin() == "http://127.0.0.1:5000");
  REQUIRE(parse_url("http://[::1]:5000/v2/?a=b", &u, &err));
  CHECK(u.host == "::1");
  CHECK(u.origin() == "http://[::1]:5000");
  CHECK(u.target == "/v2/?a=b");
  CHECK_FALSE(parse_url("ftp://x/", &u, &err));
  CHECK_FALSE(parse_url("nohost", &u, &err));

  Url base, next;
  REQUIRE(parse_url("https://reg.io/v2/a/blobs/sha256:1", &base, &err));
  REQUIRE(resolve_location(base, "https://cdn.example/blob?sig=1", &next, &err));
  CHECK(next.origin() == "https://cdn.example");
  REQUIRE(resolve_location(base, "/other", &next, &err));
  CHECK(next.str() == "https://reg.io/other");
  REQUIRE(resolve_location(base, "x", &next, &err));
  CHECK(next.str() == "https://reg.io/v2/a/blobs/x");
  REQUIRE(resolve_location(base, "//cdn.io/y", &next, &err));
  CHECK(next.str() == "https://cdn.io/y");
  CHECK(url_encode("repository:a/b:pull") == "repository%3Aa%2Fb%3Apull");
}

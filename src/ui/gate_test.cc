#include "ui/gate.h"

#include <doctest/doctest.h>

namespace ctk::ui {

namespace {

http::Request request(const std::string& head) {
  http::Request r;
  std::string err;
  REQUIRE_MESSAGE(http::parse_head(head + "\r\n", &r, &err), err);
  return r;
}

std::string session_of(const std::string& set_cookie) { return set_cookie.substr(0, set_cookie.find(';')); }

}  // namespace

TEST_CASE("ui gate: host, origin and session") {
  Gate gate;
  std::string err;
  REQUIRE(Gate::make("127.0.0.1", 8421, false, &gate, &err));
  std::string url = gate.url();
  REQUIRE(url.starts_with("http://127.0.0.1:8421/?token="));
  std::string token = url.substr(url.find('=') + 1);
  CHECK(token.size() == 64);
  CHECK(gate.token_matches(token));
  CHECK_FALSE(gate.token_matches(token.substr(1)));
  CHECK_FALSE(gate.token_matches(""));
  std::string cookie = gate.session_cookie();
  CHECK(cookie.find("; HttpOnly") != std::string::npos);
  CHECK(cookie.find("; SameSite=Strict") != std::string::npos);
  CHECK(cookie.find("Secure") == std::string::npos);
  std::string with_session = "Cookie: other=1; " + session_of(cookie) + "\r\n";

  using V = Gate::Verdict;
  CHECK(gate.check(request("GET / HTTP/1.1\r\nHost: 127.0.0.1:8421\r\n" + with_session)) == V::kAllowed);
  CHECK(gate.check(request("GET / HTTP/1.1\r\nHost: localhost:8421\r\n" + with_session)) == V::kAllowed);
  // DNS rebinding: another name, or the right name on another port.
  CHECK(gate.check(request("GET / HTTP/1.1\r\nHost: evil.example:8421\r\n" + with_session)) == V::kForeignHost);
  CHECK(gate.check(request("GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n" + with_session)) == V::kForeignHost);
  CHECK(gate.check(request("GET / HTTP/1.1\r\n" + with_session)) == V::kForeignHost);
  CHECK(gate.check(request("POST /x HTTP/1.1\r\nHost: 127.0.0.1:8421\r\nOrigin: http://127.0.0.1:8421\r\n" +
                           with_session)) == V::kAllowed);
  CHECK(gate.check(request("POST /x HTTP/1.1\r\nHost: 127.0.0.1:8421\r\nOrigin: http://evil.example\r\n" +
                           with_session)) == V::kForeignOrigin);
  CHECK(gate.check(request("POST /x HTTP/1.1\r\nHost: 127.0.0.1:8421\r\nOrigin: https://127.0.0.1:8421\r\n" +
                           with_session)) == V::kForeignOrigin);
  CHECK(gate.check(request("POST /x HTTP/1.1\r\nHost: 127.0.0.1:8421\r\nOrigin: null\r\n" + with_session)) ==
        V::kForeignOrigin);
  // No cookie, a wrong one, or one of a near name.
  CHECK(gate.check(request("GET / HTTP/1.1\r\nHost: 127.0.0.1:8421")) == V::kNoSession);
  CHECK(gate.check(request("GET / HTTP/1.1\r\nHost: 127.0.0.1:8421\r\nCookie: ctk_ui=00")) == V::kNoSession);
  CHECK(gate.check(request("GET / HTTP/1.1\r\nHost: 127.0.0.1:8421\r\nCookie: x" + session_of(cookie))) ==
        V::kNoSession);
  CHECK(gate.check(request("GET /?token=x HTTP/1.1\r\nHost: 127.0.0.1:8421"), false) == V::kAllowed);

  Gate other;
  REQUIRE(Gate::make("127.0.0.1", 8421, false, &other, &err));
  CHECK_FALSE(other.token_matches(token));  // a fresh secret at each start
  CHECK(other.check(request("GET / HTTP/1.1\r\nHost: 127.0.0.1:8421\r\n" + with_session)) == V::kNoSession);

  Gate tls;
  REQUIRE(Gate::make("ctk.example", 9443, true, &tls, &err));
  CHECK(tls.url().starts_with("https://ctk.example:9443/?token="));
  CHECK(tls.session_cookie().ends_with("; Secure"));
  CHECK(tls.check(request("GET / HTTP/1.1\r\nHost: localhost:9443"), false) == V::kForeignHost);
}

}  // namespace ctk::ui

// Who may use the web UI: the browser that opened the URL `ctk serve --ui`
// printed, and no one else. That URL carries a token made at each start;
// the page exchanges it for an HttpOnly, SameSite=Strict session cookie,
// which every later request must carry. A request naming another Host
// (DNS rebinding: a foreign site's name pointed at 127.0.0.1) or coming from
// another Origin (a cross-site request, which carries no SameSite=Strict
// cookie anyway) is refused before anything else. There is no CORS.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"

namespace ctk::ui {

class Gate {
 public:
  // A gate for the UI at host:port (an address or a name, as the browser is
  // to use it); on loopback, localhost and 127.0.0.1 name it too. The token
  // and the session are fresh random values. false when the system gives
  // no randomness.
  static bool make(const std::string& host, int port, bool tls, Gate* out, std::string* err);

  // The URL to print: scheme, host, port and the token.
  std::string url() const;

  enum class Verdict { kAllowed, kForeignHost, kForeignOrigin, kNoSession };
  // The Host and Origin headers, then (unless not needed: the token's
  // exchange) the session cookie.
  Verdict check(const http::Request& req, bool session_needed = true) const;
  bool token_matches(std::string_view given) const;
  // The Set-Cookie value that starts the session.
  std::string session_cookie() const;

 private:
  bool has_session(const http::Request& req) const;

  std::vector<std::string> authorities_;  // "127.0.0.1:8421", "localhost:8421" ...
  std::string scheme_, token_, session_;
};

}  // namespace ctk::ui

#include "ui/handler.h"

#include "api/api.h"
#include "ui/assets.h"

namespace ctk::ui {

namespace {

// The page makes no request but to its own origin, and no one frames it.
// Its index.html states the same policy (xterm.js sets inline styles);
// frame-ancestors works only in a header.
constexpr std::string_view kPolicy =
    "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

void refuse(http::Connection& conn, int status, std::string_view message) {
  conn.respond(status, {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}},
               "{\"message\":\"" + std::string(message) + "\"}\n");
}

bool accepts_gzip(const http::Request& req) {
  for (const auto& [name, value] : req.headers)
    if (name == "accept-encoding" && value.find("gzip") != std::string::npos) return true;
  return false;
}

void serve_asset(http::Connection& conn, const http::Request& req, const Asset& a) {
  http::Headers headers = {{"Content-Type", std::string(a.content_type)},
                           {"ETag", std::string(a.etag)},
                           {"Cache-Control", "no-cache"},
                           {"X-Content-Type-Options", "nosniff"},
                           {"Referrer-Policy", "no-referrer"},
                           {"Content-Security-Policy", std::string(kPolicy)}};
  if (req.header("if-none-match") == a.etag) return (void)conn.respond(304, headers, "");
  // Every browser takes gzip; the page is kept only so.
  if (!accepts_gzip(req)) return refuse(conn, 406, "the page is served gzip-compressed (Accept-Encoding: gzip)");
  headers.push_back({"Content-Encoding", "gzip"});
  headers.push_back({"Vary", "Accept-Encoding"});
  conn.respond(200, headers, req.method == "HEAD" ? std::string_view() : a.gzip);
}

}  // namespace

const Asset* find_asset(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (const Asset& a : assets())
    if (a.path == path) return &a;
  return nullptr;
}

void dispatch(http::Connection& conn, const http::Request& req, const Gate& gate, api::ServerState& state) {
  bool exchange = req.path == "/" && req.has_param("token");
  switch (gate.check(req, !exchange)) {
    case Gate::Verdict::kForeignHost: return refuse(conn, 403, "this UI answers only to its own host name");
    case Gate::Verdict::kForeignOrigin: return refuse(conn, 403, "cross-origin requests are refused");
    case Gate::Verdict::kNoSession:
      return refuse(conn, 401, "no session: open the URL that ctk serve --ui printed");
    case Gate::Verdict::kAllowed: break;
  }
  if (exchange) {
    if (!gate.token_matches(req.param("token"))) return refuse(conn, 401, "wrong token: open the URL that ctk serve --ui printed");
    // The token leaves the address bar: the page is loaded again without it.
    conn.respond(303, {{"Location", "/"}, {"Set-Cookie", gate.session_cookie()}, {"Cache-Control", "no-store"}}, "");
    return;
  }
  if (req.method == "GET" || req.method == "HEAD")
    if (const Asset* a = find_asset(req.path)) return serve_asset(conn, req, *a);
  api::dispatch(conn, req, state);
}

}  // namespace ctk::ui

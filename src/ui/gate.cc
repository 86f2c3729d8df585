#include "ui/gate.h"

#include <sys/random.h>

#include "base/sha256.h"

namespace ctk::ui {

namespace {

constexpr std::string_view kCookieName = "ctk_ui";

// 32 random bytes as hex.
bool random_hex(std::string* out, std::string* err) {
  uint8_t bytes[32];
  if (::getrandom(bytes, sizeof bytes, 0) != ssize_t(sizeof bytes)) return *err = "getrandom failed", false;
  *out = to_hex({bytes, sizeof bytes});
  return true;
}

// Compares without leaking where the first difference is.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool is_loopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1"; }

std::string authority(const std::string& host, int port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

bool Gate::make(const std::string& host, int port, bool tls, Gate* out, std::string* err) {
  *out = Gate();
  out->scheme_ = tls ? "https" : "http";
  out->authorities_.push_back(authority(host, port));
  if (is_loopback(host))
    for (const char* alias : {"127.0.0.1", "localhost", "::1"})
      if (alias != host) out->authorities_.push_back(authority(alias, port));
  return random_hex(&out->token_, err) && random_hex(&out->session_, err);
}

std::string Gate::url() const { return scheme_ + "://" + authorities_.front() + "/?token=" + token_; }

Gate::Verdict Gate::check(const http::Request& req, bool session_needed) const {
  auto ours = [this](std::string_view a) {
    for (const std::string& mine : authorities_)
      if (a == mine) return true;
    return false;
  };
  if (!ours(req.header("host"))) return Verdict::kForeignHost;
  // Browsers send Origin with every cross-origin request and with same-origin
  // ones other than GET and HEAD; a request without one is not cross-site.
  if (req.has_header("origin")) {
    std::string_view origin = req.header("origin");
    std::string prefix = scheme_ + "://";
    if (!origin.starts_with(prefix) || !ours(origin.substr(prefix.size()))) return Verdict::kForeignOrigin;
  }
  if (session_needed && !has_session(req)) return Verdict::kNoSession;
  return Verdict::kAllowed;
}

bool Gate::token_matches(std::string_view given) const { return same_secret(given, token_); }

std::string Gate::session_cookie() const {
  return std::string(kCookieName) + "=" + session_ + "; Path=/; HttpOnly; SameSite=Strict" +
         (scheme_ == "https" ? "; Secure" : "");
}

bool Gate::has_session(const http::Request& req) const {
  // Cookie: a=b; ctk_ui=VALUE; c=d (every Cookie header).
  for (const auto& [name, value] : req.headers) {
    if (name != "cookie") continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      size_t end = rest.find(';');
      std::string_view pair = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
      while (pair.starts_with(' ')) pair.remove_prefix(1);
      size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == kCookieName && same_secret(pair.substr(eq + 1), session_))
        return true;
    }
  }
  return false;
}

}  // namespace ctk::ui

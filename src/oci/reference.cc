#include "oci/reference.h"

namespace ctk::oci {

namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// One path component: runs of lowercase alphanumerics joined by one
// separator each: ".", "_", "__" or any number of "-" (the distribution
// spec's grammar).
bool valid_component(std::string_view c) {
  size_t i = 0;
  while (true) {
    size_t run = i;
    while (i < c.size() && is_lower_alnum(c[i])) ++i;
    if (i == run) return false;  // empty, or a separator at the start or doubled
    if (i == c.size()) return true;
    if (c[i] == '.') ++i;
    else if (c[i] == '_') i += c.substr(i, 2) == "__" ? 2 : 1;
    else if (c[i] == '-') while (i < c.size() && c[i] == '-') ++i;
    else return false;
  }
}

bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!word && (i == 0 || (c != '.' && c != '-'))) return false;
  }
  return true;
}

bool valid_registry(std::string_view r) {
  if (r.empty()) return false;
  std::string_view host = r;
  if (host.front() == '[') {  // [::1]:5000
    size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && (rest[0] != ':' || rest.size() == 1)) return false;
    return close > 1;
  }
  size_t colon = host.rfind(':');
  if (colon != std::string_view::npos) {
    std::string_view port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5) return false;
    for (char c : port)
      if (c < '0' || c > '9') return false;
    host = host.substr(0, colon);
  }
  if (host.empty()) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-';
    if (!ok) return false;
  }
  return host.front() != '.' && host.front() != '-' && host.back() != '.';
}

}  // namespace

bool is_digest(std::string_view s) {
  if (s.size() != 71 || s.substr(0, 7) != "sha256:") return false;
  for (char c : s.substr(7))
    if (!is_hex(c)) return false;
  return true;
}

std::string Reference::api_host() const {
  return registry == kDockerHub ? "registry-1.docker.io" : registry;
}

std::string Reference::str() const {
  std::string s = name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

bool parse_reference(std::string_view text, Reference* out, std::string* err) {
  auto bad = [&](std::string_view why) {
    *err = "invalid image reference '" + std::string(text) + "': " + std::string(why);
    return false;
  };
  if (text.empty()) return bad("empty");
  if (text.size() > 4096) return bad("too long");
  Reference ref;
  std::string_view rest = text;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    std::string_view digest = rest.substr(at + 1);
    if (!is_digest(digest)) return bad("digest must be sha256: and 64 lowercase hex digits");
    ref.digest = digest;
    rest = rest.substr(0, at);
  }
  // A tag follows the last colon unless a slash comes after it (host:port/name).
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find('/', colon) == std::string_view::npos) {
    std::string_view tag = rest.substr(colon + 1);
    if (!valid_tag(tag)) return bad("tag must be 1-128 of [A-Za-z0-9_.-], not starting with . or -");
    ref.tag = tag;
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad("no repository name");
  size_t slash = rest.find('/');
  std::string_view first = rest.substr(0, slash);
  bool has_registry = slash != std::string_view::npos &&
                      (first.find_first_of(".:[") != std::string_view::npos || first == "localhost");
  std::string_view path = rest;
  if (has_registry) {
    if (!valid_registry(first)) return bad("registry '" + std::string(first) + "' is not host[:port]");
    ref.registry = first;
    path = rest.substr(slash + 1);
  } else {
    ref.registry = kDockerHub;
  }
  if (ref.registry == "index.docker.io" || ref.registry == "registry-1.docker.io")
    ref.registry = kDockerHub;
  if (path.empty()) return bad("no repository name");
  for (size_t start = 0;;) {
    size_t end = path.find('/', start);
    std::string_view c = path.substr(start, end == std::string_view::npos ? end : end - start);
    if (!valid_component(c))
      return bad(c.empty() ? std::string("empty path component")
                           : "repository component '" + std::string(c) +
                                 "' must be lowercase letters, digits and single . _ __ or - separators");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  ref.repository = path;
  if (ref.registry == kDockerHub && path.find('/') == std::string_view::npos)
    ref.repository = "library/" + ref.repository;
  if (ref.registry.size() + 1 + ref.repository.size() > 255) return bad("name longer than 255 characters");
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  *out = std::move(ref);
  return true;
}

bool parse_registry(std::string_view text, std::string* out, std::string* err) {
  std::string_view rest = text;
  for (std::string_view scheme : {"https://", "http://"})
    if (rest.starts_with(scheme)) rest.remove_prefix(scheme.size());
  rest = rest.substr(0, rest.find('/'));
  if (rest.empty()) {
    *err = "invalid registry '" + std::string(text) + "'";
    return false;
  }
  // As the first component of a reference it is a registry, when it is one.
  Reference ref;
  if (!parse_reference(std::string(rest) + "/x", &ref, err)) return false;
  *out = ref.registry;
  return true;
}

}  // namespace ctk::oci

#include "http/request.h"

#include <algorithm>
#include <cctype>

namespace ctk::http {

namespace {

bool is_token_char(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(char(c)) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether a comma-separated header value lists `token` (case-insensitive).
bool lists_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = trim(value.substr(0, comma));
    if (lower(item) == token) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_query(std::string_view q, Request* out) {
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string key, value;
    if (!percent_decode(item.substr(0, eq), true, &key)) return false;
    if (eq != std::string_view::npos && !percent_decode(item.substr(eq + 1), true, &value)) return false;
    out->query.emplace_back(std::move(key), std::move(value));
  }
  return true;
}

}  // namespace

bool percent_decode(std::string_view in, bool plus_as_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(char(hi * 16 + lo));
      i += 2;
    } else {
      out->push_back(plus_as_space && c == '+' ? ' ' : c);
    }
  }
  return true;
}

std::string_view Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

bool Request::has_header(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return h.first == name; });
}

std::string Request::param(std::string_view name, std::string_view fallback) const {
  for (const auto& [k, v] : query)
    if (k == name) return v;
  return std::string(fallback);
}

bool Request::has_param(std::string_view name) const {
  return std::any_of(query.begin(), query.end(), [&](const auto& q) { return q.first == name; });
}

std::vector<std::string> Request::params(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : query)
    if (k == name) out.push_back(v);
  return out;
}

bool Request::header_lists(std::string_view name, std::string_view token) const {
  for (const auto& [k, v] : headers)
    if (k == name && lists_token(v, token)) return true;
  return false;
}

bool Request::chunked() const { return header_lists("transfer-encoding", "chunked"); }

bool Request::keep_alive() const {
  for (const auto& [k, v] : headers) {
    if (k != "connection") continue;
    if (lists_token(v, "close")) return false;
    if (minor_version == 0 && lists_token(v, "keep-alive")) return true;
  }
  return minor_version >= 1;
}

bool parse_head(std::string_view head, Request* out, std::string* err) {
  *out = Request();
  if (head.size() > kMaxHead) return *err = "request head larger than 64 KiB", false;
  auto next_line = [&head]() {
    size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head = nl == std::string_view::npos ? std::string_view() : head.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  };
  std::string_view line = next_line();
  // Robustness (RFC 9112 2.2): empty lines before the request line are ignored.
  while (line.empty() && !head.empty()) line = next_line();
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return *err = "malformed request line", false;
  std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                   version = line.substr(sp2 + 1);
  if (method.empty() || !std::all_of(method.begin(), method.end(), [](char c) { return is_token_char(c); }))
    return *err = "malformed method", false;
  if (version == "HTTP/1.1") out->minor_version = 1;
  else if (version == "HTTP/1.0") out->minor_version = 0;
  else return *err = "unsupported HTTP version '" + std::string(version.substr(0, 16)) + "'", false;
  if (target.empty() || target[0] != '/') return *err = "request target must be an absolute path", false;
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return *err = "control character in request target", false;
  out->method = std::string(method);
  out->target = std::string(target);
  size_t qmark = target.find('?');
  if (!percent_decode(target.substr(0, qmark), false, &out->path)) return *err = "bad escape in request path", false;
  if (out->path.find('\0') != std::string::npos) return *err = "NUL in request path", false;
  if (qmark != std::string_view::npos && !parse_query(target.substr(qmark + 1), out))
    return *err = "bad escape in query string", false;
  while (!head.empty()) {
    line = next_line();
    if (line.empty()) continue;
    if (line[0] == ' ' || line[0] == '\t') return *err = "obsolete header line folding", false;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return *err = "malformed header line", false;
    std::string_view name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), [](char c) { return is_token_char(c); }))
      return *err = "malformed header name", false;
    std::string_view value = trim(line.substr(colon + 1));
    for (char c : value)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) return *err = "control character in header", false;
    if (out->headers.size() >= kMaxHeaders) return *err = "more than 100 headers", false;
    out->headers.emplace_back(lower(name), std::string(value));
  }
  if (out->chunked() && out->has_header("content-length"))
    return *err = "both Content-Length and chunked Transfer-Encoding", false;
  for (const auto& [k, v] : out->headers)
    if (k == "transfer-encoding" && !out->chunked()) return *err = "unsupported Transfer-Encoding '" + v + "'", false;
  return true;
}

bool content_length(const Request& r, uint64_t* out, std::string* err) {
  *out = 0;
  bool seen = false;
  for (const auto& [k, v] : r.headers) {
    if (k != "content-length") continue;
    if (v.empty() || v.size() > 19 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return *err = "malformed Content-Length '" + v.substr(0, 24) + "'", false;
    uint64_t n = std::stoull(v);
    if (seen && n != *out) return *err = "conflicting Content-Length headers", false;
    *out = n;
    seen = true;
  }
  return true;
}

bool ChunkedDecoder::feed(const char* data, size_t size, std::string* out, size_t* used, std::string* err) {
  size_t i = 0;
  while (i < size && state_ != State::kDone) {
    char c = data[i];
    switch (state_) {
      case State::kSize: {
        int h = hex_value(c);
        if (h >= 0) {
          if (++size_digits_ > 15) return *err = "chunk size too large", false;
          remaining_ = remaining_ * 16 + uint64_t(h);
        } else if (size_digits_ == 0) {
          return *err = "malformed chunk size", false;
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::kSizeExt;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (c == '\n') {
          state_ = remaining_ ? State::kData : State::kTrailer;
        } else {
          return *err = "malformed chunk size", false;
        }
        ++i;
        break;
      }
      case State::kSizeExt:
        // Extensions are ignored, but bounded like a trailer.
        if (++trailer_bytes_ > 4096) return *err = "chunk extension too long", false;
        if (c == '\r') state_ = State::kSizeLf;
        else if (c == '\n') state_ = remaining_ ? State::kData : State::kTrailer;
        ++i;
        break;
      case State::kSizeLf:
        if (c != '\n') return *err = "malformed chunk size line", false;
        state_ = remaining_ ? State::kData : State::kTrailer;
        trailer_line_empty_ = true;
        ++i;
        break;
      case State::kData: {
        size_t n = size_t(std::min<uint64_t>(remaining_, size - i));
        out->append(data + i, n);
        remaining_ -= n;
        i += n;
        if (remaining_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
        if (c == '\r') state_ = State::kDataLf;
        else if (c == '\n') state_ = State::kSize, size_digits_ = 0, trailer_bytes_ = 0;
        else return *err = "chunk data longer than its size", false;
        ++i;
        break;
      case State::kDataLf:
        if (c != '\n') return *err = "chunk data longer than its size", false;
        state_ = State::kSize;
        size_digits_ = 0;
        trailer_bytes_ = 0;
        ++i;
        break;
      case State::kTrailer:
        // Trailer fields are read and dropped; an empty line ends the body.
        if (++trailer_bytes_ > 8192) return *err = "chunked trailer too long", false;
        if (c == '\r') {
          state_ = State::kTrailerLf;
        } else if (c == '\n') {
          if (trailer_line_empty_) state_ = State::kDone;
          trailer_line_empty_ = true;
        } else {
          trailer_line_empty_ = false;
        }
        ++i;
        break;
      case State::kTrailerLf:
        if (c != '\n') return *err = "malformed chunked trailer", false;
        if (trailer_line_empty_) state_ = State::kDone;
        else state_ = State::kTrailer, trailer_line_empty_ = true;
        ++i;
        break;
      case State::kDone:
        break;
    }
  }
  *used = i;
  return true;
}

const char* status_text(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "UPGRADED";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

}  // namespace ctk::http

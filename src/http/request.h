// HTTP/1.1 requests as a server reads them: the head parsed in one go once
// its blank line has arrived, the query split and percent-decoded, and a
// chunked body decoded incrementally. All of it is untrusted input: every
// length is bounded and every malformed byte is an error, never an abort.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ctk::http {

// The most a request head (request line and headers) may take.
inline constexpr size_t kMaxHead = 64 * 1024;
inline constexpr size_t kMaxHeaders = 100;

struct Request {
  std::string method;   // "GET", as sent (methods are case-sensitive)
  std::string target;   // "/v1.44/containers/json?all=1"
  std::string path;     // "/v1.44/containers/json", percent-decoded
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  int minor_version = 1;  // HTTP/1.x

  // The first header of that (lowercase) name, or "".
  std::string_view header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  // The first query parameter of that name, or fallback.
  std::string param(std::string_view name, std::string_view fallback = "") const;
  bool has_param(std::string_view name) const;
  // Every value of a repeated parameter.
  std::vector<std::string> params(std::string_view name) const;

  // Whether a header of that (lowercase) name lists token in its
  // comma-separated value, compared without case ("Connection: keep-alive, Upgrade").
  bool header_lists(std::string_view name, std::string_view token) const;
  bool chunked() const;       // Transfer-Encoding: chunked
  bool keep_alive() const;    // HTTP/1.1 without "Connection: close", or 1.0 with keep-alive
};

// Parses a head (everything before the blank line, CRLF or LF line ends).
// Fails on a malformed request line, header or target, an unsupported
// HTTP version, or both Content-Length and chunked.
bool parse_head(std::string_view head, Request* out, std::string* err);

// The Content-Length (0 when absent); false when it is malformed or repeated
// with different values.
bool content_length(const Request& r, uint64_t* out, std::string* err);

// "a%20b+c" -> "a b c" (plus as space: query strings); false on a bad escape.
bool percent_decode(std::string_view in, bool plus_as_space, std::string* out);

// A chunked body, decoded as its bytes arrive in pieces of any size.
class ChunkedDecoder {
 public:
  // Consumes up to `size` bytes of `data`, appending decoded body bytes to
  // *out; *used says how many were taken (the rest belongs to the next
  // request once done()). false with err on malformed framing.
  bool feed(const char* data, size_t size, std::string* out, size_t* used, std::string* err);
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kSize, kSizeExt, kSizeLf, kData, kDataCr, kDataLf, kTrailer, kTrailerLf, kDone };
  State state_ = State::kSize;
  uint64_t remaining_ = 0;
  int size_digits_ = 0;
  size_t trailer_bytes_ = 0;
  bool trailer_line_empty_ = true;
};

// The reason phrase of a status code ("Not Found").
const char* status_text(int status);

}  // namespace ctk::http

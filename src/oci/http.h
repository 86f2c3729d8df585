// A small HTTP/1.1 client (sockets + OpenSSL) for the registry client: GET and
// HEAD (and a POST with a small body) with keep-alive, chunked and length-delimited bodies streamed to a
// sink, TLS verified against the system store or given CA files. It is ctk's
// own because Debian's cpp-httplib ships only a shared library (its header is
// the split, declarations-only form), which a static ctk cannot link.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ctk::oci::http {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6
  std::string port;
  std::string target;  // path and query, starting with '/'
  std::string origin() const;  // "https://host:port"
  std::string str() const { return origin() + target; }
};

bool parse_url(std::string_view text, Url* out, std::string* err);
// A Location header (absolute, or relative to `base`) as a URL.
bool resolve_location(const Url& base, std::string_view location, Url* out, std::string* err);
std::string url_encode(std::string_view s);

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Response {
  int status = 0;
  Headers headers;  // names lowercased
  std::string body;  // the body when no sink took it (capped for error bodies)
  std::string header(std::string_view name) const;
};

// Receives a 2xx body as it streams in; returning false aborts the transfer.
using Sink = std::function<bool(const char* data, size_t size, std::string* err)>;

struct TlsOptions {
  bool verify = true;
  std::vector<std::string> ca_files;  // added to the system store
};

// One TLS configuration shared by all the connections to a registry: a
// single SSL_CTX (safe to share once set up). The system's CA certificates
// are loaded at the first certificate check, not before: a plain-HTTP
// registry tried with TLS first, as localhost ones are, never pays for them.
class TlsContext {
 public:
  explicit TlsContext(TlsOptions options) : options_(std::move(options)) {}
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  // The SSL_CTX*, made on first use; null with err set.
  void* get(std::string* err);

 private:
  static int verify_certificate(void* store_ctx, void* self);
  TlsOptions options_;
  std::mutex mu_;
  void* ctx_ = nullptr;
  std::once_flag system_cas_;
};

// Why a request failed before a complete response arrived.
enum class Failure { kNone, kConnect, kNotTls, kTls, kIo, kSink };

class Client {
 public:
  explicit Client(std::shared_ptr<TlsContext> tls);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request with `body` (a POST's form; empty for GET). A 2xx
  // response body goes to `sink` when given, anything else to resp->body.
  // Returns false on a transport error (err says which host and what;
  // failure() classifies it), true for any HTTP status.
  bool request(std::string_view method, const Url& url, const Headers& headers, std::string_view body,
               const Sink* sink, Response* resp, std::string* err);
  Failure failure() const { return failure_; }

 private:
  struct Conn;
  bool connect(const Url& url, std::unique_ptr<Conn>* out, std::string* err);
  bool exchange(Conn& c, std::string_view method, const Url& url, const Headers& headers, std::string_view body,
                const Sink* sink, Response* resp, bool* sent_nothing, std::string* err);

  std::shared_ptr<TlsContext> tls_;
  std::map<std::string, std::unique_ptr<Conn>> idle_;  // by origin
  Failure failure_ = Failure::kNone;
};

}  // namespace ctk::oci::http

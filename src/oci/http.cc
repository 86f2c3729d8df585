#include "oci/http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>

#include "base/error.h"

namespace ctk::oci::http {

namespace {

constexpr size_t kMaxHeaderBytes = 64 << 10;
constexpr size_t kMaxErrorBody = 64 << 10;
constexpr int kIoTimeoutSeconds = 60;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// The last OpenSSL error as text, or `fallback`.
std::string ssl_error(std::string_view fallback) {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return std::string(fallback);
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// The system's CA certificates. A directory of hash-named links (c_rehash,
// as Debian and Alpine keep /etc/ssl/certs) is read lazily, one certificate
// per lookup; a bundle file is parsed whole, ~140 certificates and ~80 ms
// before the first handshake, so it is loaded only where no such directory
// exists (Fedora's /etc/pki). A static binary's compiled-in OpenSSL paths
// may not be this system's, hence the usual locations as well. SSL_CERT_DIR
// and SSL_CERT_FILE apply as in any OpenSSL program.
void load_system_cas(SSL_CTX* ctx) {
  auto hashed = [](const char* dir) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      std::string name = e.path().filename().string();
      if (name.size() == 10 && name.ends_with(".0") &&
          name.find_first_not_of("0123456789abcdef") == 8)
        return true;
    }
    return false;
  };
  // Not SSL_CTX_set_default_verify_paths: on Debian its default file is a
  // link to the bundle, parsed whole.
  const char* env_file = std::getenv(X509_get_default_cert_file_env());  // SSL_CERT_FILE
  const char* env_dir = std::getenv(X509_get_default_cert_dir_env());    // SSL_CERT_DIR
  if (env_file) SSL_CTX_load_verify_file(ctx, env_file);
  for (const char* dir : {env_dir ? env_dir : X509_get_default_cert_dir(), "/etc/ssl/certs"})
    if (hashed(dir) && SSL_CTX_load_verify_dir(ctx, dir) == 1) return;
  if (env_file) return;
  for (const char* bundle : {X509_get_default_cert_file(), "/etc/ssl/certs/ca-certificates.crt",
                             "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"})
    if (access(bundle, R_OK) == 0 && SSL_CTX_load_verify_locations(ctx, bundle, nullptr) == 1) return;
}

}  // namespace

std::string Url::origin() const {
  bool default_port = (scheme == "https" && port == "443") || (scheme == "http" && port == "80");
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return scheme + "://" + h + (default_port ? "" : ":" + port);
}

bool parse_url(std::string_view text, Url* out, std::string* err) {
  Url u;
  size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    *err = "invalid URL '" + std::string(text) + "'";
    return false;
  }
  u.scheme = lower(text.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https") {
    *err = "unsupported URL scheme in '" + std::string(text) + "'";
    return false;
  }
  std::string_view rest = text.substr(sep + 3);
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (u.target[0] == '?') u.target = "/" + u.target;
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      *err = "invalid URL '" + std::string(text) + "'";
      return false;
    }
    u.host = authority.substr(1, close - 1);
    authority = authority.substr(close + 1);
    if (!authority.empty() && authority[0] == ':') u.port = authority.substr(1);
  } else if (size_t colon = authority.find(':'); colon != std::string_view::npos) {
    u.host = authority.substr(0, colon);
    u.port = authority.substr(colon + 1);
  } else {
    u.host = authority;
  }
  if (u.host.empty()) {
    *err = "invalid URL '" + std::string(text) + "': no host";
    return false;
  }
  if (u.port.empty()) u.port = u.scheme == "https" ? "443" : "80";
  *out = std::move(u);
  return true;
}

bool resolve_location(const Url& base, std::string_view location, Url* out, std::string* err) {
  if (location.find("://") != std::string_view::npos) return parse_url(location, out, err);
  Url u = base;
  if (location.substr(0, 2) == "//") return parse_url(base.scheme + ":" + std::string(location), out, err);
  if (!location.empty() && location[0] == '/') {
    u.target = location;
  } else {
    std::string dir = base.target.substr(0, base.target.find('?'));
    u.target = dir.substr(0, dir.rfind('/') + 1) + std::string(location);
  }
  *out = std::move(u);
  return true;
}

std::string url_encode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += char(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string Response::header(std::string_view name) const {
  std::string key = lower(name);
  for (const auto& [k, v] : headers)
    if (k == key) return v;
  return {};
}

// One connection, plain or TLS, with a read buffer.
struct Client::Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  std::string host;  // for messages
  // Received bytes not yet consumed are buf[pos, end). The socket is read
  // straight into it: blob bodies are copied once, into the sink.
  static constexpr size_t kBufSize = 256 << 10;
  std::unique_ptr<char[]> buf{new char[kBufSize]};
  size_t pos = 0, end = 0;
  bool reusable = true;

  ~Conn() {
    if (ssl) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
    if (fd >= 0) ::close(fd);
  }

  // Reads some bytes into buf; 0 at end of stream, -1 on error.
  ssize_t fill(std::string* err) {
    if (pos == end) {
      pos = end = 0;
    } else if (end == kBufSize) {  // a line that started near the end: make room
      std::memmove(buf.get(), buf.get() + pos, end - pos);
      end -= pos;
      pos = 0;
    }
    char* into = buf.get() + end;
    size_t room = kBufSize - end;
    ssize_t n;
    if (ssl) {
      errno = 0;
      n = SSL_read(ssl, into, int(room));
      if (n <= 0) {
        int e = SSL_get_error(ssl, int(n));
        if (e == SSL_ERROR_ZERO_RETURN) return 0;
        // A peer that closes without close_notify: treat as end of stream; a
        // short body is caught by its length.
        if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0) return 0;
        *err = host + ": " + ssl_error(e == SSL_ERROR_SYSCALL ? std::strerror(errno) : "TLS read failed");
        return -1;
      }
    } else {
      do n = ::read(fd, into, room);
      while (n < 0 && errno == EINTR);
      if (n < 0) {
        *err = sys_error(host);
        return -1;
      }
    }
    end += size_t(n);
    return n;
  }

  bool write_all(std::string_view data, std::string* err) {
    while (!data.empty()) {
      ssize_t n;
      if (ssl) {
        n = SSL_write(ssl, data.data(), int(data.size()));
        if (n <= 0) {
          *err = host + ": " + ssl_error("TLS write failed");
          return false;
        }
      } else {
        n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          *err = sys_error(host);
          return false;
        }
      }
      data.remove_prefix(size_t(n));
    }
    return true;
  }

  // One CRLF-terminated line without the CRLF.
  bool read_line(std::string* line, std::string* err) {
    while (true) {
      const char* start = buf.get() + pos;
      if (const void* nl = std::memchr(start, '\n', end - pos)) {
        size_t len = size_t(static_cast<const char*>(nl) - start);
        line->assign(start, len > 0 && start[len - 1] == '\r' ? len - 1 : len);
        pos += len + 1;
        return true;
      }
      if (end - pos > kMaxHeaderBytes) {
        *err = host + ": response header too long";
        return false;
      }
      ssize_t n = fill(err);
      if (n < 0) return false;
      if (n == 0) {
        *err = host + ": connection closed";
        return false;
      }
    }
  }
};

TlsContext::~TlsContext() {
  if (ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

int TlsContext::verify_certificate(void* store_ctx, void* self) {
  auto* tls = static_cast<TlsContext*>(self);
  // The store's lookups are consulted as the chain is built, so what is
  // added here is seen by this very check.
  if (tls->options_.verify)
    std::call_once(tls->system_cas_, [tls] { load_system_cas(static_cast<SSL_CTX*>(tls->ctx_)); });
  return X509_verify_cert(static_cast<X509_STORE_CTX*>(store_ctx));
}

void* TlsContext::get(std::string* err) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ctx_) return ctx_;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) {
    *err = ssl_error("cannot create a TLS context");
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  for (const std::string& ca : options_.ca_files) {
    if (SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) != 1) {
      *err = "cannot load CA certificate " + ca + ": " + ssl_error("invalid");
      SSL_CTX_free(ctx);
      return nullptr;
    }
  }
  SSL_CTX_set_verify(ctx, options_.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_cert_verify_callback(
      ctx, [](X509_STORE_CTX* store_ctx, void* self) { return verify_certificate(store_ctx, self); }, this);
  ERR_clear_error();
  return ctx_ = ctx;
}

Client::Client(std::shared_ptr<TlsContext> tls) : tls_(std::move(tls)) {}

Client::~Client() = default;

bool Client::connect(const Url& url, std::unique_ptr<Conn>* out, std::string* err) {
  auto c = std::make_unique<Conn>();
  c->host = url.host + ":" + url.port;
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(url.host.c_str(), url.port.c_str(), &hints, &res); rc != 0) {
    *err = "cannot resolve " + url.host + ": " + gai_strerror(rc);
    failure_ = Failure::kConnect;
    return false;
  }
  int saved = 0;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    timeval tv = {kIoTimeoutSeconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      c->fd = fd;
      break;
    }
    saved = errno;
    ::close(fd);
  }
  freeaddrinfo(res);
  if (c->fd < 0) {
    *err = sys_error("connect to " + c->host, saved);
    failure_ = Failure::kConnect;
    return false;
  }
  if (url.scheme == "https") {
    auto* ctx = static_cast<SSL_CTX*>(tls_->get(err));
    if (!ctx) {
      failure_ = Failure::kTls;
      return false;
    }
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    if (is_ip_literal(url.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), url.host.c_str());
    } else {
      SSL_set_tlsext_host_name(c->ssl, url.host.c_str());
      SSL_set1_host(c->ssl, url.host.c_str());
    }
    errno = 0;
    if (SSL_connect(c->ssl) != 1) {
      unsigned long e = ERR_peek_error();
      long verify = SSL_get_verify_result(c->ssl);
      if (verify != X509_V_OK) {
        *err = "TLS certificate of " + c->host + " not trusted: " + X509_verify_cert_error_string(verify) +
               " (see --cert-dir and --tls-verify)";
        failure_ = Failure::kTls;
      } else if (ERR_GET_LIB(e) == ERR_LIB_SSL && (ERR_GET_REASON(e) == SSL_R_WRONG_VERSION_NUMBER ||
                                                   ERR_GET_REASON(e) == SSL_R_PACKET_LENGTH_TOO_LONG)) {
        *err = c->host + " does not speak TLS";
        failure_ = Failure::kNotTls;
      } else {
        *err = "TLS handshake with " + c->host + " failed: " + ssl_error(errno ? std::strerror(errno) : "closed");
        failure_ = Failure::kTls;
      }
      ERR_clear_error();
      return false;
    }
  }
  *out = std::move(c);
  return true;
}

bool Client::request(std::string_view method, const Url& url, const Headers& headers, std::string_view body,
                     const Sink* sink, Response* resp, std::string* err) {
  failure_ = Failure::kNone;
  std::string origin = url.origin();
  // A pooled connection may have been closed by the server while idle; a
  // request on it that got no answer at all is sent once more on a new one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Conn> c;
    bool pooled = false;
    if (auto it = idle_.find(origin); it != idle_.end()) {
      c = std::move(it->second);
      idle_.erase(it);
      pooled = true;
    } else if (!connect(url, &c, err)) {
      return false;
    }
    bool sent_nothing = false;
    *resp = Response();
    if (exchange(*c, method, url, headers, body, sink, resp, &sent_nothing, err)) {
      if (c->reusable) idle_[origin] = std::move(c);
      failure_ = Failure::kNone;
      return true;
    }
    if (failure_ == Failure::kSink || !(pooled && sent_nothing)) return false;
  }
  return false;
}

bool Client::exchange(Conn& c, std::string_view method, const Url& url, const Headers& headers,
                      std::string_view body, const Sink* sink, Response* resp, bool* sent_nothing,
                      std::string* err) {
  failure_ = Failure::kIo;
  std::string host = url.origin().substr(url.scheme.size() + 3);
  std::string req = std::string(method) + " " + url.target + " HTTP/1.1\r\nHost: " + host +
                    "\r\nUser-Agent: ctk/" CTK_VERSION "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n";
  req += body;
  *sent_nothing = true;
  if (!c.write_all(req, err)) return false;
  std::string line;
  if (!c.read_line(&line, err)) return false;
  *sent_nothing = false;
  // "HTTP/1.1 200 OK"
  if (line.size() < 12 || line.compare(0, 5, "HTTP/") != 0) {
    *err = c.host + ": not an HTTP response";
    return false;
  }
  resp->status = std::atoi(line.c_str() + 9);
  if (line.compare(0, 8, "HTTP/1.0") == 0) c.reusable = false;
  size_t header_bytes = 0;
  while (true) {
    if (!c.read_line(&line, err)) return false;
    if (line.empty()) break;
    header_bytes += line.size();
    if (header_bytes > kMaxHeaderBytes) {
      *err = c.host + ": response headers too long";
      return false;
    }
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    resp->headers.emplace_back(lower(line.substr(0, colon)), trim(line.substr(colon + 1)));
  }
  if (lower(resp->header("connection")) == "close") c.reusable = false;

  bool no_body = method == "HEAD" || resp->status / 100 == 1 || resp->status == 204 || resp->status == 304;
  if (no_body) return true;
  bool to_sink = sink && resp->status / 100 == 2;
  auto deliver = [&](const char* data, size_t n) {
    if (to_sink) {
      if (!(*sink)(data, n, err)) {
        failure_ = Failure::kSink;
        c.reusable = false;
        return false;
      }
    } else if (resp->body.size() < kMaxErrorBody || !sink) {
      resp->body.append(data, n);
    }
    return true;
  };
  // Passes up to `want` buffered-or-read bytes on; false at end of stream.
  auto pump = [&](uint64_t want, uint64_t* got) {
    if (c.pos == c.end) {
      ssize_t n = c.fill(err);
      if (n < 0) return false;
      if (n == 0) {
        *got = 0;
        return true;
      }
    }
    size_t n = size_t(std::min<uint64_t>(want, c.end - c.pos));
    if (!deliver(c.buf.get() + c.pos, n)) return false;
    c.pos += n;
    *got = n;
    return true;
  };

  if (lower(resp->header("transfer-encoding")).find("chunked") != std::string::npos) {
    while (true) {
      if (!c.read_line(&line, err)) return false;
      uint64_t size = std::strtoull(line.c_str(), nullptr, 16);
      if (size == 0) {
        do {
          if (!c.read_line(&line, err)) return false;
        } while (!line.empty());
        break;
      }
      while (size > 0) {
        uint64_t got;
        if (!pump(size, &got)) return false;
        if (got == 0) {
          *err = c.host + ": connection closed in a chunked body";
          return false;
        }
        size -= got;
      }
      if (!c.read_line(&line, err)) return false;
    }
  } else if (std::string len = resp->header("content-length"); !len.empty()) {
    uint64_t total = std::strtoull(len.c_str(), nullptr, 10), left = total;
    while (left > 0) {
      uint64_t got;
      if (!pump(left, &got)) return false;
      if (got == 0) {
        *err = c.host + ": connection closed after " + std::to_string(total - left) + " of " +
               std::to_string(total) + " bytes";
        return false;
      }
      left -= got;
    }
  } else {
    c.reusable = false;
    while (true) {
      uint64_t got;
      if (!pump(UINT64_MAX, &got)) return false;
      if (got == 0) break;
    }
  }
  return true;
}

}  // namespace ctk::oci::http

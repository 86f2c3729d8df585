#include "http/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <thread>

#include "base/dirs.h"
#include "base/error.h"
#include "base/sockets.h"
#include "oci/fsutil.h"

namespace ctk::http {

namespace {

// A client that sends nothing for this long between requests, or stalls
// this long inside one, is dropped (slowloris); streams it reads (attach,
// logs -f) are not bounded, as their clients may rightly be idle.
constexpr int kIdleSeconds = 300;
// Most connections served at once; more wait in the listen queue.
constexpr int kMaxConnections = 512;

std::string ssl_error_text() {
  unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return e ? buf : "unknown TLS error";
}

class TlsStream : public Stream {
 public:
  TlsStream(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~TlsStream() override {
    SSL_free(ssl_);
    ::close(fd_);
  }
  ssize_t read(char* buf, size_t size) override {
    int n = SSL_read(ssl_, buf, int(std::min<size_t>(size, 1 << 30)));
    if (n > 0) return n;
    int e = SSL_get_error(ssl_, n);
    ERR_clear_error();
    return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
  }
  bool write_all(std::string_view data) override {
    while (!data.empty()) {
      int n = SSL_write(ssl_, data.data(), int(std::min<size_t>(data.size(), 1 << 30)));
      if (n <= 0) return ERR_clear_error(), false;
      data.remove_prefix(size_t(n));
    }
    return true;
  }
  bool pending() const override { return SSL_pending(ssl_) > 0; }
  void shutdown_write() override { SSL_shutdown(ssl_); }
  int fd() const override { return fd_; }

 private:
  int fd_;
  SSL* ssl_;
};

bool tls_context(const TlsFiles& files, void** out, std::string* err) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return *err = "cannot create a TLS context: " + ssl_error_text(), false;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  auto fail = [&](const std::string& what) {
    *err = what + ": " + ssl_error_text();
    SSL_CTX_free(ctx);
    return false;
  };
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1) return fail("cannot load " + files.cert);
  if (SSL_CTX_use_PrivateKey_file(ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1) return fail("cannot load " + files.key);
  if (SSL_CTX_check_private_key(ctx) != 1) return fail(files.key + " does not match " + files.cert);
  if (!files.ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, files.ca.c_str(), nullptr) != 1) return fail("cannot load " + files.ca);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  *out = ctx;
  return true;
}

bool is_loopback(const sockaddr* sa) {
  if (sa->sa_family == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr) >> 24) == 127;
  if (sa->sa_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&a);
  }
  return false;
}

bool listen_tcp(const std::string& address, const std::string& hostport, const TlsFiles& tls, Listener* out,
                std::string* err) {
  size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) return *err = address + ": want tcp://HOST:PORT", false;
  std::string host = hostport.substr(0, colon), port = hostport.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return *err = address + ": " + gai_strerror(rc), false;
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> hold(res, ::freeaddrinfo);
  if (!is_loopback(res->ai_addr) && !tls.enabled())
    return *err = address + ": not a loopback address; serving beyond this host needs --tls-cert, --tls-key and --tls-ca",
           false;
  if (!is_loopback(res->ai_addr) && tls.ca.empty())
    return *err = address + ": not a loopback address; --tls-ca is needed to check clients' certificates", false;
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
    *err = sys_error(address);
    if (fd >= 0) ::close(fd);
    return false;
  }
  out->fd = fd;
  return true;
}

bool listen_unix_path(const std::string& address, const std::string& path, bool owner_only, Listener* out,
                      std::string* err) {
  if (path.empty() || path[0] != '/') return *err = address + ": want unix:///ABSOLUTE/PATH", false;
  size_t slash = path.rfind('/');
  std::string dir = slash == 0 ? "/" : path.substr(0, slash), name = path.substr(slash + 1);
  if (!oci::make_dirs(dir, 0755, err)) return false;
  // A socket file nobody listens on is left from a server that died: it goes.
  std::string why;
  int probe = connect_unix(dir, name, &why);
  if (probe >= 0) {
    ::close(probe);
    return *err = address + ": another server is listening there", false;
  }
  if (errno == ECONNREFUSED) ::unlink(path.c_str());
  int fd = listen_unix(dir, name, err);
  if (fd < 0) return false;
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  if (::chmod(path.c_str(), owner_only ? 0600 : 0660) != 0) {
    *err = sys_error(path);
    ::close(fd);
    return false;
  }
  out->fd = fd;
  return true;
}

}  // namespace

bool listen_on(const std::string& address, bool owner_only, const TlsFiles& tls, Listener* out, std::string* err) {
  *out = Listener();
  out->address = address;
  bool ok;
  if (address.rfind("unix://", 0) == 0) {
    ok = listen_unix_path(address, address.substr(7), owner_only, out, err);
  } else if (address.rfind("tcp://", 0) == 0) {
    ok = listen_tcp(address, address.substr(6), tls, out, err);
  } else if (address.rfind("fd://", 0) == 0) {
    char* end;
    long fd = std::strtol(address.c_str() + 5, &end, 10);
    int type = 0;
    socklen_t len = sizeof type;
    if (*end || address.size() == 5 || fd < 0 || ::getsockopt(int(fd), SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
        type != SOCK_STREAM)
      return *err = address + ": not a stream socket", false;
    out->fd = int(fd);
    ::fcntl(out->fd, F_SETFD, FD_CLOEXEC);
    ok = true;
  } else {
    return *err = address + ": want unix:///PATH, tcp://HOST:PORT or fd://N", false;
  }
  if (ok && tls.enabled() && address.rfind("unix://", 0) != 0 && !tls_context(tls, &out->tls_ctx, err)) {
    ::close(out->fd);
    return false;
  }
  return ok;
}

std::vector<int> activation_fds() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  std::vector<int> out;
  if (!pid || !fds || std::strtol(pid, nullptr, 10) != ::getpid()) return out;
  long n = std::strtol(fds, nullptr, 10);
  for (long i = 0; i < n && i < 64; ++i) out.push_back(3 + int(i));
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  return out;
}

bool Server::serve(const std::vector<Listener>& listeners, std::string* err) {
  if (::pipe2(wake_, O_CLOEXEC) != 0) return *err = sys_error("pipe"), false;
  std::vector<pollfd> fds;
  for (const Listener& l : listeners) fds.push_back({l.fd, POLLIN, 0});
  fds.push_back({wake_[0], POLLIN, 0});
  for (;;) {
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return *err = sys_error("poll"), false;
    }
    if (fds.back().revents) return true;
    for (size_t i = 0; i < listeners.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      int fd = ::accept4(listeners[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;  // the client left already, or fds ran out: the next poll retries
      if (active_.load() >= kMaxConnections) {
        ::close(fd);
        continue;
      }
      timeval tv{kIdleSeconds, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      void* tls = listeners[i].tls_ctx;
      ++active_;
      std::thread([this, fd, tls] {
        std::unique_ptr<Stream> stream;
        if (tls) {
          // The handshake runs here, not in the accept loop: a client that
          // stalls it holds only its own thread.
          timeval hs{30, 0};
          ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &hs, sizeof hs);
          SSL* ssl = SSL_new(static_cast<SSL_CTX*>(tls));
          SSL_set_fd(ssl, fd);
          if (SSL_accept(ssl) != 1) {
            ERR_clear_error();
            SSL_free(ssl);
            ::close(fd);
            --active_;
            return;
          }
          timeval none{0, 0};
          ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
          stream = std::make_unique<TlsStream>(fd, ssl);
        } else {
          stream = socket_stream(fd);
        }
        serve_connection(std::move(stream));
        --active_;
      }).detach();
    }
  }
}

void Server::stop() {
  if (wake_[1] >= 0) (void)!::write(wake_[1], "x", 1);
}

// Closing with a request's body unread resets the connection, and a client
// still sending it (a refused 17 MiB body) may lose the answer before it
// reads it: the write side is shut first, and what the client sends is read
// and dropped for a moment (nginx's lingering close).
void Server::linger(Connection& conn) {
  Stream& s = conn.stream();
  s.shutdown_write();
  char buf[64 * 1024];
  size_t dropped = 0;
  for (;;) {
    pollfd p{s.fd(), POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0 || s.read(buf, sizeof buf) <= 0 || (dropped += sizeof buf) > (64u << 20)) return;
  }
}

void Server::serve_connection(std::unique_ptr<Stream> stream) {
  Connection conn(std::move(stream));
  for (;;) {
    // Between requests a client may idle, but not forever.
    pollfd p{conn.stream().fd(), POLLIN, 0};
    if (!conn.has_buffered() && !conn.stream().pending() && ::poll(&p, 1, kIdleSeconds * 1000) <= 0) return;
    Request req;
    std::string err;
    if (!conn.read_request(&req, &err)) {
      if (!err.empty() && !conn.responded())
        conn.respond(400, {{"Content-Type", "application/json"}},
                     "{\"message\":\"" + std::string(err.find('"') == std::string::npos ? err : "bad request") + "\"}\n");
      return;
    }
    handler_(conn, req);
    if (!conn.responded())
      conn.respond(500, {{"Content-Type", "application/json"}}, "{\"message\":\"the request got no response\"}\n");
    // A body the handler left unread is read past, when small, so the
    // connection can carry the next request.
    if (conn.hijacked()) return;
    if (!conn.keep_alive() || !conn.discard_body(1 << 20)) return linger(conn);
  }
}

}  // namespace ctk::http

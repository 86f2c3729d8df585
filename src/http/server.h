// An HTTP/1.1 server: listeners on unix sockets, TCP (plain or mutual TLS)
// or inherited fds (systemd's LISTEN_FDS), one thread per connection, so a
// slow or streaming client (logs -f, attach, events) holds only its own.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/connection.h"

namespace ctk::http {

struct TlsFiles {
  std::string cert, key, ca;  // all three: mutual TLS (clients need a certificate signed by ca)
  bool enabled() const { return !cert.empty(); }
};

struct Listener {
  int fd = -1;
  std::string address;   // as given: "unix:///run/ctk/docker.sock", "tcp://127.0.0.1:2375"
  void* tls_ctx = nullptr;  // SSL_CTX* for a TLS listener
};

// Opens a listener for "unix:///path" (mode 0660, or 0600 for owner_only),
// "tcp://HOST:PORT" or "fd://N". A TCP address not on loopback is refused
// without TLS files. false with err naming the address.
bool listen_on(const std::string& address, bool owner_only, const TlsFiles& tls, Listener* out, std::string* err);

// systemd socket activation: the fds passed with LISTEN_PID/LISTEN_FDS
// (from 3), none when they are not for this process.
std::vector<int> activation_fds();

// Serves one request on an open connection. The handler answers with
// Connection::respond / begin_stream / hijack; one that answers nothing
// gets a 500.
using Handler = std::function<void(Connection& conn, const Request& req)>;

class Server {
 public:
  explicit Server(Handler handler) : handler_(std::move(handler)) {}
  // Accepts on every listener until stop() (from a signal handler's thread
  // or another thread); connections still open run to their end detached.
  bool serve(const std::vector<Listener>& listeners, std::string* err);
  void stop();
  // Connections being served now.
  int active() const { return active_.load(); }

 private:
  void serve_connection(std::unique_ptr<Stream> stream);
  static void linger(Connection& conn);

  Handler handler_;
  std::atomic<int> active_{0};
  int wake_[2] = {-1, -1};
};

}  // namespace ctk::http

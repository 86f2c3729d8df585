// ctk serve: the Docker Engine API (docker CLI, docker-compose, SDKs) over
// ctk's containers, images, volumes and networks.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "api/api.h"
#include "api/server_state.h"
#include "applets/applet.h"
#include "applets/image_common.h"
#include "base/dirs.h"
#include "container/lifecycle.h"
#include "http/server.h"
#include "oci/pull.h"
#include "oci/store.h"
#include "ui/assets.h"
#include "ui/handler.h"

namespace ctk {

extern const Applet kServeApplet;

namespace {

const Option kOptions[] = {
    {"host", 'H', "ADDRESS", "Listen on unix:///PATH, tcp://HOST:PORT or fd:// (systemd sockets); repeatable "
                             "(default: unix:///run/ctk/docker.sock for root, else in the runtime dir)", true},
    {"tls-cert", 0, "FILE", "TLS certificate (PEM) for tcp:// addresses"},
    {"tls-key", 0, "FILE", "Its private key"},
    {"tls-ca", 0, "FILE", "CA whose certificates clients must present (mutual TLS, docker's --tlsverify)"},
    {"registry-mirror", 0, "URL", "Pull Docker Hub's images from [http[s]://]HOST[:PORT] first (dockerd's flag)"},
    {"ui", 0, "", "Also serve the web UI; prints its URL (with a token for this start)"},
    {"ui-address", 0, "ADDRESS", "Where the web UI listens: tcp://HOST:PORT (default tcp://127.0.0.1:0, a free "
                                 "port; another host than loopback needs --tls-cert and --tls-key)"},
    kRootOption,
};

http::Server* running_server = nullptr;
http::Server* running_ui_server = nullptr;

// The web UI's listener and its gate; false with err.
bool listen_for_ui(const std::string& address, const http::TlsFiles& tls, http::Listener* out, ui::Gate* gate,
                   std::string* err) {
  if (ui::assets().empty()) return *err = "this ctk was built without the web UI (no npm, or -Dui=disabled)", false;
  if (!address.starts_with("tcp://")) return *err = "--ui-address: want tcp://HOST:PORT, not " + address, false;
  if (!http::listen_on(address, false, tls, out, err)) return false;
  // The port bound (0 asks for a free one) and the host as given.
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  if (::getsockname(out->fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return *err = sys_error("getsockname"), false;
  int port = ntohs(sa.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&sa)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&sa)->sin_port);
  std::string host = address.substr(6, address.rfind(':') - 6);
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  return ui::Gate::make(host, port, tls.enabled(), gate, err);
}

std::string default_address() {
  return ::geteuid() == 0 && !std::getenv("XDG_RUNTIME_DIR") ? "unix:///run/ctk/docker.sock"
                                                             : "unix://" + runtime_root() + "/docker.sock";
}

int serve_main(const Flags& flags) {
  const Applet& self = kServeApplet;
  if (!flags.positional().empty()) return fail(self, "takes no arguments"), kExitUsage;
  http::TlsFiles tls{flags.get("tls-cert"), flags.get("tls-key"), flags.get("tls-ca")};
  if (tls.cert.empty() != tls.key.empty()) return fail(self, "--tls-cert and --tls-key go together"), kExitUsage;
  if (!tls.ca.empty() && tls.cert.empty()) return fail(self, "--tls-ca needs --tls-cert and --tls-key"), kExitUsage;
  std::string mirror_host, why;
  bool mirror_plain;
  if (flags.has("registry-mirror") && !oci::parse_mirror(flags.get("registry-mirror"), &mirror_host, &mirror_plain, &why))
    return fail(self, why), kExitUsage;
  std::vector<std::string> addresses = flags.all("host");
  if (addresses.empty()) addresses.push_back(default_address());
  std::vector<http::Listener> listeners;
  bool owner_only = ::geteuid() != 0;
  for (const std::string& a : addresses) {
    if (a == "fd://") {
      for (int fd : http::activation_fds()) listeners.push_back({fd, "fd://" + std::to_string(fd), nullptr});
      continue;
    }
    http::Listener l;
    std::string err;
    if (!http::listen_on(a, owner_only, tls, &l, &err)) return fail(self, err);
    listeners.push_back(l);
  }
  if (listeners.empty()) return fail(self, "no socket to listen on (fd:// without LISTEN_FDS)");
  bool with_ui = flags.has("ui") || flags.has("ui-address");
  http::Listener ui_listener;
  ui::Gate gate;
  if (with_ui) {
    std::string err;
    if (!listen_for_ui(flags.get("ui-address", "tcp://127.0.0.1:0"), tls, &ui_listener, &gate, &err))
      return fail(self, err);
  }
  std::string root = flags.has("root") ? flags.get("root") : oci::Store::default_root();
  // Never destroyed: connection threads are detached, and one streaming
  // events may still use it while the process exits.
  api::ServerState& state = *new api::ServerState(root);
  state.set_hub_mirror(flags.get("registry-mirror"));
  http::Server server([&state](http::Connection& conn, const http::Request& req) { api::dispatch(conn, req, state); });
  http::Server ui_server([&state, &gate](http::Connection& conn, const http::Request& req) {
    ui::dispatch(conn, req, gate, state);
  });
  running_server = &server;
  running_ui_server = &ui_server;
  ::signal(SIGPIPE, SIG_IGN);
  // SIGINT/SIGTERM end the accept loop from a thread of their own, so the
  // handler needs nothing but sigwait.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // After the mask: its threads inherit it, so the signals reach sigwait.
  state.start_events();
  std::thread([set] {
    int sig;
    ::sigwait(&set, &sig);
    running_server->stop();
    running_ui_server->stop();
  }).detach();
  for (const http::Listener& l : listeners) std::fprintf(stderr, "ctk serve: listening on %s\n", l.address.c_str());
  std::string ui_err;
  std::thread ui_thread;
  if (with_ui) {
    std::fprintf(stderr, "ctk serve: web UI at %s\n", gate.url().c_str());
    ui_thread = std::thread([&] {
      if (!ui_server.serve({ui_listener}, &ui_err)) running_server->stop();
    });
  }
  // Containers whose restart policy says so and whose supervisor is gone
  // (the host rebooted) start again, while requests are already served.
  std::thread([root] {
    container::Containers all;
    Error err;
    std::vector<std::string> started, failures;
    if (all.open(root, &err)) container::restore(all, &started, &failures);
    for (const std::string& name : started) std::fprintf(stderr, "ctk serve: restarted %s (restart policy)\n", name.c_str());
    for (const std::string& f : failures) std::fprintf(stderr, "ctk serve: could not restart %s\n", f.c_str());
  }).detach();
  std::string err;
  bool served = server.serve(listeners, &err);
  if (ui_thread.joinable()) {
    ui_server.stop();
    ui_thread.join();
  }
  if (!served) return fail(self, err);
  if (!ui_err.empty()) return fail(self, "web UI: " + ui_err);
  for (const http::Listener& l : listeners)
    if (l.address.rfind("unix://", 0) == 0) ::unlink(l.address.c_str() + 7);
  return 0;
}

}  // namespace

extern const Applet kServeApplet = {
    .name = "serve",
    .synopsis = "[-H ADDRESS]... [--tls-cert FILE --tls-key FILE --tls-ca FILE] [--registry-mirror URL] "
                "[--ui [--ui-address tcp://HOST:PORT]]",
    .summary = "Serve the Docker Engine API (docker, docker-compose, SDKs)",
    .description = "Point DOCKER_HOST at the socket and use docker, docker-compose or any Docker\n"
                   "SDK: each container runs in its own VM, and the server shares all state with\n"
                   "the ctk CLI (containers made by either are seen by both). The server keeps no\n"
                   "container state: stopping it leaves containers running, and a new one sees\n"
                   "them all. A TCP address other than loopback needs mutual TLS. Image builds,\n"
                   "swarm and plugins are not supported (501). With --ui, a web UI for the same\n"
                   "containers, images, volumes and networks: open the URL it prints (its token\n"
                   "is good for this start only; only that browser gets in).",
    .options = kOptions,
    .run = serve_main,
};

}  // namespace ctk

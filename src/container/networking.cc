#include "container/networking.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "base/dirs.h"
#include "net/switch.h"
#include "network/networks.h"

namespace ctk::container {

using nlohmann::json;

namespace {

std::string cidr(const Attachment& a) { return network::format_ipv4(a.ipv4) + "/" + std::to_string(a.prefix_len); }

// True when a switch holds its lock (a switch runs).
bool switch_running(const std::string& dir) {
  int fd = ::open((dir + "/switch.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
  ::close(fd);
  return held;
}

// True when a switch receives on the socket: a connect to a path nobody is
// bound to (a dead switch's file) is refused.
bool switch_listening(const std::string& dir) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = dir + "/switch.sock";
  if (path.size() >= sizeof addr.sun_path) return ::close(fd), false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// `ctk network-switch --root R` in a session of its own, not a child of this
// process: it serves every VM of the data root and must outlive this one.
bool spawn_switch(const std::string& data_root, const std::string& dir, Error* err) {
  std::string exe = self_exe(), log = dir + "/switch.log";
  pid_t pid = ::fork();
  if (pid < 0) return err->fail_errno("fork");
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    int null = ::open("/dev/null", O_RDWR);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(null, 0);
    ::dup2(out >= 0 ? out : null, 1);
    ::dup2(out >= 0 ? out : null, 2);
    ::close_range(3, ~0u, 0);
    const char* argv[] = {exe.c_str(), "network-switch", "--root", data_root.c_str(), nullptr};
    ::execv(exe.c_str(), const_cast<char* const*>(argv));
    ::_exit(127);
  }
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return true;
}

}  // namespace

Networking plan_networking(const Spec& spec, const net::Topology& topology) {
  Networking n;
  n.nat = spec.network == "nat";
  for (const net::Network& network : topology.networks) {
    for (const net::Endpoint& e : network.endpoints) {
      if (e.container_id != spec.id) continue;
      n.attachments.push_back({network.name, e.ipv4, network.prefix_len, network.gateway, network.internal});
      if (n.mac.empty()) n.mac = network::format_mac(e.mac);
      n.nat |= !network.internal;
    }
  }
  return n;
}

void add_nics(const Networking& n, const std::string& switch_dir, const std::string& container_id,
              vz::VmConfig* vm) {
  vm->network = n.nat ? vz::Network::nat : vz::Network::none;
  if (n.attachments.empty()) return;
  vm->nics.push_back({switch_dir + "/ports/" + net::port_name(container_id), switch_dir + "/switch.sock", n.mac});
}

std::vector<proto::Client::Call> network_calls(const Spec& spec, const Networking& n, const std::string& root) {
  std::vector<proto::Client::Call> calls;
  json dns = {{"root", root}, {"hosts", json::array()}};
  if (!spec.hostname.empty()) dns["hostname"] = spec.hostname;
  if (n.nat) {
    // QEMU's user networking: the guest is 10.0.2.15, the host's loopback
    // is reachable as the gateway 10.0.2.2, its DNS forwarder is 10.0.2.3.
    calls.push_back({"network", {{"mac", vz::kNatMac}, {"address", "10.0.2.15/24"}, {"gateway", "10.0.2.2"}}});
    dns["nameservers"] = {"10.0.2.3"};
  }
  if (!n.attachments.empty()) {
    json addresses = json::array();
    for (const Attachment& a : n.attachments) addresses.push_back(cidr(a));
    calls.push_back({"network", {{"mac", n.mac}, {"addresses", addresses}, {"mtu", net::kMtu}}});
    // The switch answers names at each gateway, and forwards the rest.
    // ndots:0 as docker's: a dotted name is tried as is first.
    dns["nameservers"] = {network::format_ipv4(n.attachments.front().gateway)};
    dns["options"] = {"ndots:0"};
    if (!spec.hostname.empty())
      dns["hosts"].push_back({{"address", network::format_ipv4(n.attachments.front().ipv4)}, {"names", {spec.hostname}}});
  }
  calls.push_back({"dns", dns});
  return calls;
}

bool change_call(const Networking& before, const Networking& after, proto::Client::Call* call, Error* err) {
  if (before.mac.empty())
    return err->fail(ErrorCode::invalid,
                     "it was started without a network device: stop it, connect it, and start it again");
  auto has = [](const Networking& n, const Attachment& a) {
    for (const Attachment& b : n.attachments)
      if (b.ipv4 == a.ipv4 && b.prefix_len == a.prefix_len) return true;
    return false;
  };
  json add = json::array(), remove = json::array();
  for (const Attachment& a : after.attachments)
    if (!has(before, a)) add.push_back(cidr(a));
  for (const Attachment& a : before.attachments)
    if (!has(after, a)) remove.push_back(cidr(a));
  *call = {"network", {{"mac", before.mac}, {"addresses", add}, {"remove", remove}}};
  return true;
}

bool ensure_switch(const std::string& data_root, Error* err) {
  std::string dir = net::switch_dir(data_root);
  std::error_code ec;
  std::filesystem::create_directories(dir + "/ports", ec);
  if (ec) return err->fail(ErrorCode::failure, dir + ": " + ec.message());
  if (switch_running(dir) && switch_listening(dir)) return true;
  if (!switch_running(dir) && !spawn_switch(data_root, dir, err)) return false;
  // Its lock first, then its socket.
  for (int i = 0; i < 400; ++i) {
    if (switch_running(dir) && switch_listening(dir)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return err->fail(ErrorCode::failure, "the network switch did not start (" + dir + "/switch.log)");
}

bool SwitchKeeper::start(const std::string& data_root, Error* err) {
  data_root_ = data_root;
  if (!ensure_switch(data_root, err)) return false;
  thread_ = std::thread([this] { watch(); });
  return true;
}

void SwitchKeeper::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SwitchKeeper::watch() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; })) {
    lock.unlock();
    Error err;
    // A switch that died is started again: the VMs send to its path, so
    // their links come back as they were.
    if (!ensure_switch(data_root_, &err)) std::fprintf(stderr, "ctk supervise: %s\n", err.message.c_str());
    lock.lock();
  }
}

}  // namespace ctk::container

// Requests that act on the guest itself rather than a container: mounting the
// disks a container's root is made of, unmounting, making directories.
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "base/error.h"
#include "init/agent.h"

namespace ctk::init {

namespace {

bool make_dirs(const std::string& path, std::string* code, std::string* err) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    *code = "internal";
    *err = "mkdir " + path + ": " + ec.message();
    return false;
  }
  return true;
}

sockaddr ipv4(in_addr a) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr = a;
  sockaddr out;
  std::memcpy(&out, &sin, sizeof sin);
  return out;
}

}  // namespace

// {"op":"network", "interface":"eth0", "address":"10.0.2.15/24", "gateway":"10.0.2.2"}
// Brings the link up with the address and, when given, a default route.
bool Agent::op_network(const json& req, std::string* code, std::string* err) {
  std::string ifname = req.at("interface").get<std::string>();
  std::string cidr = req.at("address").get<std::string>();
  size_t slash = cidr.find('/');
  int prefix = slash == std::string::npos ? 32 : std::atoi(cidr.c_str() + slash + 1);
  in_addr addr{}, gateway{};
  if (ifname.empty() || ifname.size() >= IFNAMSIZ || prefix < 0 || prefix > 32 ||
      ::inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &addr) != 1 ||
      (req.contains("gateway") && ::inet_pton(AF_INET, req["gateway"].get<std::string>().c_str(), &gateway) != 1)) {
    *err = "bad interface, address or gateway";
    return false;
  }
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    *code = "internal";
    *err = sys_error("socket");
    return false;
  }
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  auto fail_with = [&](const std::string& what) {
    *code = errno == ENODEV ? "not_found" : "internal";
    *err = sys_error(what + " " + ifname);
    ::close(s);
    return false;
  };
  ifr.ifr_addr = ipv4(addr);
  if (::ioctl(s, SIOCSIFADDR, &ifr) != 0) return fail_with("address of");
  in_addr mask{htonl(prefix ? ~0u << (32 - prefix) : 0)};
  ifr.ifr_netmask = ipv4(mask);
  if (::ioctl(s, SIOCSIFNETMASK, &ifr) != 0) return fail_with("netmask of");
  if (::ioctl(s, SIOCGIFFLAGS, &ifr) != 0) return fail_with("flags of");
  ifr.ifr_flags = short(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) return fail_with("bringing up");
  if (req.contains("gateway")) {
    rtentry route{};
    route.rt_dst = ipv4(in_addr{});
    route.rt_genmask = ipv4(in_addr{});
    route.rt_gateway = ipv4(gateway);
    route.rt_flags = RTF_UP | RTF_GATEWAY;
    route.rt_dev = ifr.ifr_name;
    if (::ioctl(s, SIOCADDRT, &route) != 0 && errno != EEXIST) return fail_with("default route via");
  }
  ::close(s);
  return true;
}

// {"op":"write_file", "path":"/abs", "data":"...", "mode":420}: small files
// (resolv.conf, hosts), written whole and replaced atomically.
bool Agent::op_write_file(const json& req, std::string* code, std::string* err) {
  std::string path = req.at("path").get<std::string>();
  std::string data = req.at("data").get<std::string>();
  mode_t mode = req.value("mode", 0644);
  if (path.empty() || path[0] != '/') {
    *err = "path '" + path + "' is not absolute";
    return false;
  }
  std::string temp = path + ".ctk-new";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  bool ok = fd >= 0 && ::write(fd, data.data(), data.size()) == ssize_t(data.size());
  if (fd >= 0) ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    *code = errno == ENOENT ? "not_found" : "internal";
    *err = sys_error(path);
    ::unlink(temp.c_str());
    return false;
  }
  return true;
}

// {"op":"mount", "destination":"/abs", "type":"ext4", "source":"/dev/vda", "options":["ro"]}
// The target directory is created. Same mount object as in config.json.
bool Agent::op_mount(const json& req, std::string* code, std::string* err) {
  MountSpec m;
  if (!parse_mount(req, &m, err)) return false;
  if (!make_dirs(m.destination, code, err)) return false;
  unsigned long flags = m.flags | (m.bind ? MS_BIND : 0);
  if (::mount(m.source.c_str(), m.destination.c_str(), m.bind ? nullptr : m.type.c_str(), flags,
              m.data.empty() ? nullptr : m.data.c_str()) != 0) {
    *code = errno == ENOENT ? "not_found" : "internal";
    *err = sys_error("mount " + m.source + " on " + m.destination);
    return false;
  }
  if (m.propagation && ::mount(nullptr, m.destination.c_str(), nullptr, m.propagation, nullptr) != 0) {
    *code = "internal";
    *err = sys_error("propagation of " + m.destination);
    return false;
  }
  return true;
}

// {"op":"umount", "destination":"/abs", "detach":false}
bool Agent::op_umount(const json& req, std::string* code, std::string* err) {
  std::string target = req.at("destination").get<std::string>();
  if (::umount2(target.c_str(), req.value("detach", false) ? MNT_DETACH : 0) != 0) {
    *code = errno == EINVAL || errno == ENOENT ? "not_found" : "internal";
    *err = sys_error("umount " + target);
    return false;
  }
  return true;
}

// {"op":"mkdir", "path":"/abs"}: with parents, like mkdir -p.
bool Agent::op_mkdir(const json& req, std::string* code, std::string* err) {
  std::string path = req.at("path").get<std::string>();
  if (path.empty() || path[0] != '/') {
    *err = "path '" + path + "' is not absolute";
    return false;
  }
  return make_dirs(path, code, err);
}

}  // namespace ctk::init

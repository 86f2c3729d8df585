// The guest's network and names: interfaces configured over rtnetlink, the
// resolver's files (resolv.conf, hosts) and the hostname.
#include <net/if.h>
#include <strings.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "init/agent_state.h"
#include "init/guest_files.h"
#include "init/netlink.h"

namespace ctk::init {

namespace {

// RFC 1123 names (letters, digits, '-', dot-separated; '_' as docker allows),
// at most HOST_NAME_MAX bytes.
bool valid_hostname(const std::string& name) {
  return !name.empty() && name.size() <= 64 && name.front() != '.' && name.front() != '-' &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") ==
             std::string::npos;
}

// One word of resolv.conf or hosts: a comment or a blank inside would change its meaning.
bool one_word(const std::string& w) {
  return !w.empty() && w.size() <= 255 && w.find_first_of(" \t\r\n#;") == std::string::npos;
}

bool words(const nlohmann::json& req, const char* key, std::vector<std::string>* out, std::string* err) {
  if (!req.contains(key)) return true;
  *out = req[key].get<std::vector<std::string>>();
  for (const std::string& w : *out) {
    if (!one_word(w)) {
      *err = std::string(key) + ": '" + w + "' is not one word";
      return false;
    }
  }
  return true;
}

bool address(const std::string& text, const char* what, std::string* err) {
  IpAddress a;
  if (parse_ip(text, false, &a)) return true;
  *err = std::string(what) + " '" + text + "' is not an IPv4 or IPv6 address";
  return false;
}

// The interface whose hardware address is `mac` (any case): NICs are told
// apart by the MACs the host gave them, not by the order the kernel probed them.
bool interface_by_mac(const std::string& mac, std::string* ifname, std::string* code, std::string* err) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/class/net", ec)) {
    std::string address;
    std::ifstream(e.path() / "address") >> address;
    if (strcasecmp(address.c_str(), mac.c_str()) == 0) {
      *ifname = e.path().filename();
      return true;
    }
  }
  *code = "not_found";
  *err = "no interface with MAC " + mac;
  return false;
}

bool parse_cidrs(const nlohmann::json& req, const char* key, std::vector<IpAddress>* out, std::string* err) {
  for (const std::string& t : req.value(key, std::vector<std::string>{})) {
    IpAddress a;
    if (!parse_ip(t, true, &a)) {
      *err = "address '" + t + "' is not ADDRESS/PREFIX";
      return false;
    }
    out->push_back(a);
  }
  return true;
}

}  // namespace

// {"op":"network", "interface":"eth0" | "mac":"02:42:ac:12:00:02",
//  "address":"10.0.2.15/24", "addresses":["fd00::2/64"], "remove":["172.19.0.2/16"],
//  "gateway":"10.0.2.2", "mtu":65520}: brings the link up (with that MTU), adds the addresses, removes
// those in "remove" (gone already is fine) and, with a gateway, makes it the
// default route. Repeating a request changes nothing (NLM_F_REPLACE).
bool Agent::op_network(Conn*, const json& req, json*, std::string* code, std::string* err) {
  std::string ifname = req.value("interface", "");
  if (req.contains("mac") && !interface_by_mac(req["mac"].get<std::string>(), &ifname, code, err)) return false;
  std::vector<IpAddress> addresses, removed;
  if (req.contains("address")) {
    nlohmann::json one = {{"addresses", {req["address"]}}};
    if (!parse_cidrs(one, "addresses", &addresses, err)) return false;
  }
  if (!parse_cidrs(req, "addresses", &addresses, err) || !parse_cidrs(req, "remove", &removed, err)) return false;
  IpAddress gateway;
  bool has_gateway = req.contains("gateway");
  if (has_gateway && !parse_ip(req["gateway"].get<std::string>(), false, &gateway)) {
    *err = "gateway '" + req["gateway"].get<std::string>() + "' is not an IPv4 or IPv6 address";
    return false;
  }
  if (ifname.empty() || ifname.size() >= IFNAMSIZ || ifname.find('/') != std::string::npos) {
    *err = "bad interface name '" + ifname + "'";
    return false;
  }
  unsigned index = ::if_nametoindex(ifname.c_str());
  if (index == 0) {
    *code = errno == ENODEV ? "not_found" : "internal";
    *err = errno == ENODEV ? "no interface '" + ifname + "'" : sys_error("interface " + ifname);
    return false;
  }
  Netlink nl;
  *code = "internal";
  if (!nl.open(err)) return false;
  auto call = [&](const std::string& what, const std::string& message, int fine = 0) {
    std::string why;
    int e = nl.call(message, &why);
    if (e == ENODEV) *code = "not_found";  // the interface went away meanwhile
    if (e && e != fine) *err = what + ": " + why;
    return e == 0 || e == fine;
  };
  uint32_t mtu = req.value("mtu", 0u);
  if (mtu && (mtu < 68 || mtu > 65535)) {
    *code = "invalid_argument";
    *err = "mtu " + std::to_string(mtu) + " is not between 68 and 65535";
    return false;
  }
  if (!call("bringing up " + ifname, link_up_message(index, nl.next_seq(), mtu))) return false;
  for (const IpAddress& a : addresses)
    if (!call("address " + a.cidr() + " on " + ifname, add_address_message(index, a, nl.next_seq())))
      return false;
  for (const IpAddress& a : removed)
    if (!call("removing " + a.cidr() + " from " + ifname, remove_address_message(index, a, nl.next_seq()),
              EADDRNOTAVAIL))
      return false;
  if (has_gateway) {
    if (!call("default route via " + gateway.text() + " on " + ifname,
              default_route_message(index, gateway, nl.next_seq())))
      return false;
  }
  return true;
}

// {"op":"dns", "root":"/abs", "nameservers":[...], "search":[...], "options":[...],
//  "hostname":"box", "hosts":[{"address":"10.0.2.2", "names":["host"]}]}
// Writes ROOT/etc/resolv.conf when any of the first three is given, and
// ROOT/etc/hosts (localhost, the hostname, the entries) when either of the
// last two is: what docker's --dns, --dns-search, --dns-option and --add-host give.
bool Agent::op_dns(Conn*, const json& req, json*, std::string* code, std::string* err) {
  std::string root = req.value("root", "/");
  if (!check_absolute(root, err)) return false;
  std::vector<std::string> nameservers, search, options;
  if (!words(req, "nameservers", &nameservers, err) || !words(req, "search", &search, err) ||
      !words(req, "options", &options, err))
    return false;
  for (const std::string& n : nameservers)
    if (!address(n, "nameserver", err)) return false;
  std::string hostname = req.value("hostname", "");
  if (req.contains("hostname") && !valid_hostname(hostname)) {
    *err = "hostname '" + hostname + "' is not a valid host name";
    return false;
  }
  std::string hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  // Debian's convention: the host's own name on a loopback address of its
  // own, unless an entry gives it one (a container's address on a network).
  bool named = false;
  for (const json& entry : req.value("hosts", json::array()))
    for (const json& n : entry.value("names", json::array())) named |= n == hostname;
  if (!hostname.empty() && !named) hosts += "127.0.1.1\t" + hostname + "\n";
  for (const json& entry : req.value("hosts", json::array())) {
    std::string ip = entry.at("address").get<std::string>();
    std::vector<std::string> names;
    if (!address(ip, "hosts address", err) || !words(entry, "names", &names, err)) return false;
    if (names.empty()) {
      *err = "hosts entry for " + ip + " has no names";
      return false;
    }
    hosts += ip;
    for (size_t i = 0; i < names.size(); ++i) hosts += (i ? " " : "\t") + names[i];
    hosts += "\n";
  }
  bool resolv = req.contains("nameservers") || req.contains("search") || req.contains("options");
  bool hosts_file = req.contains("hostname") || req.contains("hosts");
  if (!resolv && !hosts_file) {
    *err = "dns needs nameservers, search, options, hostname or hosts";
    return false;
  }
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  std::string etc = (root == "/" ? "" : root) + "/etc";
  if (!make_dirs(etc, code, err)) return false;
  if (resolv) {
    std::string text;
    for (const std::string& n : nameservers) text += "nameserver " + n + "\n";
    auto line = [&](const char* key, const std::vector<std::string>& list) {
      if (list.empty()) return;
      text += key;
      for (const std::string& w : list) text += " " + w;
      text += "\n";
    };
    line("search", search);
    line("options", options);
    if (!replace_file(etc + "/resolv.conf", text, 0644, code, err)) return false;
  }
  return !hosts_file || replace_file(etc + "/hosts", hosts, 0644, code, err);
}

// {"op":"set_hostname", "hostname":"box"}: the agent's UTS namespace (the VM's).
bool Agent::op_set_hostname(Conn*, const json& req, json*, std::string* code, std::string* err) {
  std::string name = req.at("hostname").get<std::string>();
  if (!valid_hostname(name)) {
    *err = "hostname '" + name + "' is not a valid host name";
    return false;
  }
  if (::sethostname(name.data(), name.size()) != 0) {
    *code = "internal";
    *err = sys_error("sethostname " + name);
    return false;
  }
  return true;
}

}  // namespace ctk::init

// ctk network: the networks containers share through the user-space switch,
// docker's `network` subcommands. Every subcommand sees `bridge`, made on
// first use as docker always has it.
#include <algorithm>
#include <cstdio>
#include <vector>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "applets/list_format.h"
#include "applets/subcommands.h"
#include "base/filter.h"
#include "container/networks.h"
#include "oci/fsutil.h"

namespace ctk {

extern const Applet kNetworkApplet;

namespace {

using nlohmann::json;

struct Context {
  std::string name;  // "network ls": the prefix of its error lines
  const Flags& flags;
  container::Containers containers;
  network::Networks networks;
};

int sub_fail(const Context& c, const std::string& message) {
  print_error(c.name, message);
  return kExitFailure;
}

int usage(const Context& c, const std::string& message) {
  print_error(c.name, message + "; see 'ctk network --help'");
  return kExitUsage;
}

bool parse_filters(const Flags& flags, bool prune, std::vector<Filter>* out, std::string* err) {
  for (const std::string& text : flags.all("filter")) {
    out->emplace_back();
    if (!network::parse_filter(text, prune, &out->back(), err)) return false;
  }
  return true;
}

// Go's time.String(), which docker's `network ls` shows for CreatedAt:
// "2026-12-06 22:55:34.1234 +0000 UTC" for RFC 3339's
// "2026-12-06T22:55:34.123400000Z" (trailing zeros of the fraction dropped).
std::string go_time(std::string rfc3339) {
  if (rfc3339.size() < 20 || rfc3339.back() != 'Z') return rfc3339;
  rfc3339.pop_back();
  rfc3339[10] = ' ';
  if (rfc3339.find('.') != std::string::npos) {
    while (rfc3339.back() == '0') rfc3339.pop_back();
    if (rfc3339.back() == '.') rfc3339.pop_back();
  }
  return rfc3339 + " +0000 UTC";
}

int network_create(Context& c) {
  const auto& args = c.flags.positional();
  if (args.size() != 1) return usage(c, "want one NAME");
  if ((c.flags.has("gateway") || c.flags.has("ip-range")) && !c.flags.has("subnet"))
    return usage(c, "--gateway and --ip-range need --subnet");
  network::Network n;
  n.name = args[0];
  n.driver = c.flags.get("driver", "bridge");
  n.internal = c.flags.has("internal");
  std::string why;
  if (!label_flags(c.flags, &n.labels, &why)) return usage(c, why);
  if (c.flags.has("subnet") && !network::parse_subnet(c.flags.get("subnet"), &n.subnet, &why))
    return sub_fail(c, why);
  if (c.flags.has("ip-range") && !network::parse_ip_range(c.flags.get("ip-range"), n.subnet, &n.ip_range, &why))
    return sub_fail(c, why);
  if (c.flags.has("gateway") && !network::parse_ipv4(c.flags.get("gateway"), &n.gateway))
    return sub_fail(c, "invalid gateway '" + c.flags.get("gateway") + "': want an IPv4 address");
  oci::FileLock lock;
  Error err;
  if (!c.networks.lock(&lock, &err) || !c.networks.create(&n, &err)) return sub_fail(c, err.message);
  std::printf("%s\n", n.id.c_str());
  return 0;
}

constexpr Column kColumns[] = {
    {"ID", "NETWORK ID"}, {"Name", "NAME"},         {"Driver", "DRIVER"}, {"Scope", "SCOPE"},
    {"IPv6", "IPV6"},     {"Internal", "INTERNAL"}, {"Labels", "LABELS"}, {"CreatedAt", "CREATED AT"},
};

int network_ls(Context& c) {
  if (!c.flags.positional().empty()) return usage(c, "takes no arguments");
  std::vector<Filter> filters;
  ListFormat format;
  std::string why;
  std::string text = c.flags.has("quiet") ? "{{.ID}}" : c.flags.get("format");
  if (!parse_filters(c.flags, false, &filters, &why) ||
      !format.parse(text, kColumns, "{{.ID}}\\t{{.Name}}\\t{{.Driver}}\\t{{.Scope}}", &why))
    return usage(c, why);
  std::vector<network::Network> all;
  Error err;
  if (!c.networks.list(&all, &err)) return sub_fail(c, err.message);
  for (const network::Network& n : all) {
    std::vector<std::string> users;
    if (!container::network_users(c.containers, c.networks, n.name, &users, &err)) return sub_fail(c, err.message);
    if (!network::matches(n, !users.empty(), filters)) continue;
    std::string labels;
    for (const auto& [k, v] : n.labels) labels += (labels.empty() ? "" : ",") + k + "=" + v;
    format.add({{"ID", c.flags.has("no-trunc") ? n.id : n.id.substr(0, 12)},
                {"Name", n.name},
                {"Driver", n.driver},
                {"Scope", "local"},
                {"IPv6", "false"},
                {"Internal", n.internal ? "true" : "false"},
                {"Labels", labels},
                {"CreatedAt", go_time(n.created)}});
  }
  std::fputs(format.output().c_str(), stdout);
  return 0;
}

// As docker's: the networks found, then a line for each that is not.
int network_inspect(Context& c) {
  if (c.flags.positional().empty()) return usage(c, "want NETWORK...");
  json out = json::array();
  int code = 0;
  for (const std::string& ref : c.flags.positional()) {
    network::Network n;
    json j;
    Error err;
    if (c.networks.find(ref, &n, &err) && container::network_inspect_json(c.containers, c.networks, n, &j, &err))
      out.push_back(std::move(j));
    else
      code = sub_fail(c, err.message);
  }
  std::printf("%s\n", out.dump(2).c_str());
  return code;
}

int network_rm(Context& c) {
  if (c.flags.positional().empty()) return usage(c, "want NETWORK...");
  oci::FileLock lock;
  Error err;
  if (!c.networks.lock(&lock, &err)) return sub_fail(c, err.message);
  int code = 0;
  for (const std::string& ref : c.flags.positional()) {
    network::Network n;
    if (c.networks.find(ref, &n, &err) && container::remove_network(c.containers, c.networks, n.name, &err)) {
      std::printf("%s\n", ref.c_str());
    } else if (!(err.code == ErrorCode::not_found && c.flags.has("force"))) {
      code = sub_fail(c, err.message);
    }
  }
  return code;
}

int network_prune(Context& c) {
  if (!c.flags.positional().empty()) return usage(c, "takes no arguments");
  std::vector<Filter> filters;
  std::string why;
  if (!parse_filters(c.flags, true, &filters, &why)) return usage(c, why);
  std::vector<std::string> removed;
  Error err;
  int code = 0;
  if (!container::prune_networks(c.containers, c.networks, filters, &removed, &err)) code = sub_fail(c, err.message);
  std::string deleted;
  for (const std::string& name : removed) deleted += name + "\n";
  // docker's output: nothing when nothing went, else the list and a blank line.
  if (!deleted.empty()) std::printf("Deleted Networks:\n%s\n", deleted.c_str());
  return code;
}

// NETWORK CONTAINER, both found.
bool find_pair(Context& c, network::Network* n, std::string* id, Error* err) {
  return c.networks.find(c.flags.positional()[0], n, err) && c.containers.find(c.flags.positional()[1], id, err);
}

int network_connect(Context& c) {
  if (c.flags.positional().size() != 2) return usage(c, "want NETWORK CONTAINER");
  network::Network n;
  network::Endpoint ep;
  Error err;
  if (c.flags.has("ip") && !network::parse_ipv4(c.flags.get("ip"), &ep.ipv4))
    return sub_fail(c, "invalid --ip '" + c.flags.get("ip") + "': want an IPv4 address");
  ep.aliases = c.flags.all("alias");
  if (!find_pair(c, &n, &ep.container_id, &err) ||
      !container::connect_network(c.containers, c.networks, n.name, &ep, &err))
    return sub_fail(c, err.message);
  return 0;
}

int network_disconnect(Context& c) {
  if (c.flags.positional().size() != 2) return usage(c, "want NETWORK CONTAINER");
  network::Network n;
  std::string id;
  Error err;
  if (!find_pair(c, &n, &id, &err) || !container::disconnect_network(c.containers, c.networks, n.name, id, &err)) {
    // -f: a container that is gone or not on the network is no error.
    if (err.code == ErrorCode::not_found && c.flags.has("force") && !n.name.empty()) return 0;
    return sub_fail(c, err.message);
  }
  return 0;
}

const Option kCreateOptions[] = {
    {"subnet", 0, "CIDR", "IPv4 subnet, e.g. 172.30.0.0/16 (default: the first free of docker's pools)"},
    {"gateway", 0, "ADDR", "The switch's address on it (default: the subnet's first)"},
    {"ip-range", 0, "CIDR", "Where containers' addresses are picked (default: the whole subnet)"},
    {"internal", 0, "", "No way out: no outbound access, no outside names"},
    {"label", 0, "K=V", "Set a label", true},
    {"driver", 'd', "DRIVER", "bridge, the only one"},
    kRootOption,
};
const Option kLsOptions[] = {
    {"quiet", 'q', "", "Only the ids"},
    {"filter", 'f', "FILTER",
     "name=, id=, label=KEY[=VALUE], driver=, scope=, dangling=true|false, type=custom|builtin", true},
    {"format", 0, "FORMAT", "table (default), json (one object per line), or a template: {{.Name}}\\t{{.ID}}"},
    {"no-trunc", 0, "", "Whole ids"},
    kRootOption,
};
const Option kInspectOptions[] = {kRootOption};
const Option kRmOptions[] = {{"force", 'f', "", "No error for a network that does not exist"}, kRootOption};
const Option kPruneOptions[] = {
    {"force", 'f', "", "Do not prompt (ctk never does)"},
    {"filter", 0, "FILTER", "label=KEY[=VALUE] or label!=KEY[=VALUE]", true},
    kRootOption,
};
const Option kConnectOptions[] = {
    {"alias", 0, "NAME", "Another name the container is known by on the network", true},
    {"ip", 0, "ADDR", "Its IPv4 address (default: the lowest free)"},
    kRootOption,
};
const Option kDisconnectOptions[] = {
    {"force", 'f', "", "No error when the container is not on the network"},
    kRootOption,
};

struct NetworkSubcommand : Subcommand {
  int (*run)(Context& c);
};

const NetworkSubcommand kSubcommands[] = {
    {{"create", "", "[--subnet CIDR [--gateway ADDR] [--ip-range CIDR]] [--internal] [--label K=V]... [-d bridge] NAME",
      kCreateOptions},
     network_create},
    {{"ls", "list", "[-q] [--filter FILTER]... [--format FORMAT] [--no-trunc]", kLsOptions}, network_ls},
    {{"inspect", "", "NETWORK...", kInspectOptions}, network_inspect},
    {{"rm", "remove", "[-f] NETWORK...", kRmOptions}, network_rm},
    {{"prune", "", "[-f] [--filter label=K[=V]]...", kPruneOptions}, network_prune},
    {{"connect", "", "[--alias NAME]... [--ip ADDR] NETWORK CONTAINER", kConnectOptions}, network_connect},
    {{"disconnect", "", "[-f] NETWORK CONTAINER", kDisconnectOptions}, network_disconnect},
};

int network_main(const Flags& flags) {
  Flags sub_flags;
  int code;
  const NetworkSubcommand* sub = parse_subcommand(kNetworkApplet, flags, kSubcommands, &sub_flags, &code);
  if (!sub) return code;
  Context c{full_name(kNetworkApplet, *sub), sub_flags, {}, {}};
  Error err;
  if (!open_containers(sub_flags, &c.containers, &err) || !c.networks.open(c.containers.data_root(), &err) ||
      !c.networks.ensure_default(&err))
    return sub_fail(c, err.message);
  return sub->run(c);
}

const Option kOptions[] = {
    kRootOption,
};

}  // namespace

extern const Applet kNetworkApplet = {
    .name = "network",
    .synopsis = "[--root DIR] create|ls|inspect|rm|prune|connect|disconnect [OPTIONS] [ARG...]",
    .summary = "Create, list, inspect and remove networks; connect containers to them",
    .description =
        "Containers on one network reach each other by name through a switch ctk runs in user\n"
        "space; each network is a subnet with the switch at its gateway. `bridge`\n"
        "(172.17.0.0/16) is always there.\n"
        "  create [--subnet CIDR [--gateway ADDR] [--ip-range CIDR]] [--internal] [--label K=V]...\n"
        "         NAME                    prints its id; without --subnet the first free of\n"
        "                                 172.18.0.0/16 ... 172.31.0.0/16, 192.168.0.0/20 ...\n"
        "  ls [-q] [--filter F]... [--format FORMAT] [--no-trunc]\n"
        "                                 filters: name=, id=, label=KEY[=VALUE], driver=,\n"
        "                                 scope=, dangling=true|false (no container on it), type=\n"
        "  inspect NETWORK...             a JSON array, as docker's\n"
        "  rm [-f] NETWORK...             refused while any container, running or not, is on it\n"
        "  prune [-f] [--filter label=K[=V]|label!=K[=V]]...\n"
        "                                 removes the networks no container is on, never bridge\n"
        "  connect [--alias NAME]... [--ip ADDR] NETWORK CONTAINER\n"
        "  disconnect [-f] NETWORK CONTAINER\n"
        "                                 a running container cannot join or leave one yet\n"
        "A container keeps its address from connecting to rm. NETWORK is a name, an id or a\n"
        "unique id prefix. 'ctk network SUBCOMMAND --help' lists a subcommand's options.",
    .options = kOptions,
    .run = network_main,
    .stop_at_positional = true,
};

}  // namespace ctk

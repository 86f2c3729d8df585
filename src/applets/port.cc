// ctk port: a container's published ports.
#include <cstdio>
#include <memory>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"

namespace ctk {

extern const Applet kPortApplet;

namespace {

const Option kOptions[] = {
    kRootOption,
};

int port_main(const Flags& flags) {
  const Applet& self = kPortApplet;
  const auto& args = flags.positional();
  if (args.empty() || args.size() > 2) return fail(self, "want CONTAINER [PORT[/PROTO]]"), kExitUsage;
  Error err;
  container::Containers all;
  std::unique_ptr<container::Container> ct;
  if (!open_containers(flags, &all, &err) || !find_container(all, args[0], &ct, &err)) return container_fail(self, err);
  std::string want = args.size() == 2 ? args[1] : "";
  if (!want.empty() && want.find('/') == std::string::npos) want += "/tcp";
  bool found = false;
  for (const container::PortBinding& p : ct->effective_state().ports) {
    std::string key = std::to_string(p.container_port) + "/" + p.protocol;
    if (!want.empty() && key != want) continue;
    found = true;
    std::string host = p.host_ip.find(':') != std::string::npos ? "[" + p.host_ip + "]" : p.host_ip;
    if (want.empty()) std::printf("%s -> %s:%u\n", key.c_str(), host.c_str(), p.host_port);
    else std::printf("%s:%u\n", host.c_str(), p.host_port);
  }
  if (!want.empty() && !found) return fail(self, "no public port '" + want + "' published for " + ct->spec.name);
  return 0;
}

}  // namespace

extern const Applet kPortApplet = {
    .name = "port",
    .synopsis = "[OPTIONS] CONTAINER [PORT[/PROTO]]",
    .summary = "List a container's published ports",
    .description = "One line per published port, 'PORT/PROTO -> HOST_IP:HOST_PORT', while it runs\n"
                   "(ephemeral host ports are chosen at each start).",
    .options = kOptions,
    .run = port_main,
};

}  // namespace ctk

// ctk inspect: a container's configuration and state, an image's manifest
// and config, or a volume, as JSON.
#include <cstdio>
#include <memory>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "container/inspect.h"
#include "container/networks.h"
#include "network/networks.h"
#include "oci/image.h"
#include "oci/json.h"

namespace ctk {

extern const Applet kInspectApplet;

namespace {

const Option kOptions[] = {
    {"type", 0, "TYPE", "Only look for a container, an image, a volume or a network (default: in that order)"},
    kRootOption,
};

int inspect_main(const Flags& flags) {
  const Applet& self = kInspectApplet;
  if (flags.positional().empty())
    return fail(self, "no CONTAINER, IMAGE or VOLUME given; see 'ctk inspect --help'"), kExitUsage;
  std::string type = flags.get("type");
  if (!type.empty() && type != "container" && type != "image" && type != "volume" && type != "network")
    return fail(self, "--type must be container, image, volume or network"), kExitUsage;
  std::string err;
  oci::Store store;
  container::Containers containers;
  volume::Volumes volumes;
  network::Networks networks;
  Error cerr;
  if (!open_store(flags, &store, &err)) return fail(self, err);
  if (!open_containers(flags, &containers, &cerr) || !volumes.open(containers.data_root(), &cerr) ||
      !networks.open(containers.data_root(), &cerr))
    return container_fail(self, cerr);
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& name : flags.positional()) {
    std::unique_ptr<container::Container> ct;
    if (type.empty() || type == "container") {
      if (find_container(containers, name, &ct, &cerr)) {
        out.push_back(container::inspect_json(*ct, volumes, networks));
        continue;
      }
      if (cerr.code != ErrorCode::not_found || type == "container") return container_fail(self, cerr);
    }
    oci::Descriptor d;
    bool image = (type.empty() || type == "image") && store.resolve(name, &d, &err);
    if (!image && type != "image") {
      // Not an image: a volume, a network, or the image's error when it is none either.
      volume::Volume v;
      if (type != "network" && volumes.load(name, &v, &cerr)) {
        out.push_back(volume::inspect_json(volumes, v));
        continue;
      }
      if (type != "network" && (cerr.code != ErrorCode::not_found || type == "volume")) return container_fail(self, cerr);
      network::Network n;
      nlohmann::json j;
      if (networks.find(name, &n, &cerr) && container::network_inspect_json(containers, networks, n, &j, &cerr)) {
        out.push_back(j);
        continue;
      }
      if (cerr.code != ErrorCode::not_found || type == "network") return container_fail(self, cerr);
    }
    std::string manifest, config;
    oci::ImageManifest m;
    if (!image || !store.read_blob(d.digest, &manifest, &err) ||
        !oci::load_image(store, d, &m, &err) || !store.read_blob(m.config.digest, &config, &err))
      return fail(self, err);
    // Shown as they are, wrongly typed fields included; only what is not
    // JSON at all cannot be.
    nlohmann::json manifest_json, config_json;
    if (!oci::parse_json(manifest, &manifest_json, &err)) return fail(self, d.ref_name + ": manifest: " + err);
    if (!oci::parse_json(config, &config_json, &err))
      return fail(self, d.ref_name + ": config " + m.config.digest + ": " + err);
    out.push_back({{"Name", d.ref_name},
                   {"Digest", d.digest},
                   {"MediaType", d.media_type},
                   {"Manifest", std::move(manifest_json)},
                   {"Config", std::move(config_json)}});
  }
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

}  // namespace

extern const Applet kInspectApplet = {
    .name = "inspect",
    .synopsis = "[OPTIONS] CONTAINER|IMAGE|VOLUME|NETWORK...",
    .summary = "Print a container's, an image's, a volume's or a network's details as JSON",
    .description = "A container (name, id or unique id prefix) shows as docker shows one: Id, Name,\n"
                   "State, Config, HostConfig, NetworkSettings (Ports, Networks), Mounts. An IMAGE is\n"
                   "a reference as given to 'ctk pull', or a digest or unique digest prefix: Name,\n"
                   "Digest, MediaType, Manifest, Config. A VOLUME shows as 'ctk volume inspect' shows\n"
                   "it, a NETWORK as 'ctk network inspect' does. Prints a JSON array, one object per name.",
    .options = kOptions,
    .run = inspect_main,
};

}  // namespace ctk

// ctk inspect: an image's manifest and config as JSON.
#include <cstdio>

#include "applets/applet.h"
#include "applets/image_common.h"
#include "oci/image.h"
#include "oci/json.h"

namespace ctk {

extern const Applet kInspectApplet;

namespace {

const Option kOptions[] = {
    kRootOption,
};

int inspect_main(const Flags& flags) {
  const Applet& self = kInspectApplet;
  if (flags.positional().empty()) return fail(self, "no IMAGE given; see 'ctk inspect --help'"), kExitUsage;
  std::string err;
  oci::Store store;
  if (!open_store(flags, &store, &err)) return fail(self, err);
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& name : flags.positional()) {
    oci::Descriptor d;
    std::string manifest, config;
    oci::ImageManifest m;
    if (!store.resolve(name, &d, &err) || !store.read_blob(d.digest, &manifest, &err) ||
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
    .synopsis = "IMAGE...",
    .summary = "Print an image's manifest and config as JSON",
    .description = "IMAGE is a reference as given to 'ctk pull', or a digest or unique digest prefix.\n"
                   "Prints a JSON array with one object per image: Name, Digest, MediaType, Manifest, Config.",
    .options = kOptions,
    .run = inspect_main,
};

}  // namespace ctk

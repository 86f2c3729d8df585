// ctk images: the images in the store.
#include <cstdio>

#include "applets/applet.h"
#include "applets/image_common.h"
#include "base/strings.h"
#include "oci/image.h"
#include "oci/json.h"

namespace ctk {

extern const Applet kImagesApplet;

namespace {

const Option kOptions[] = {
    {"format", 0, "FORMAT", "Output format: table (default) or json"},
    kRootOption,
};

int images_main(const Flags& flags) {
  const Applet& self = kImagesApplet;
  std::string format = flags.get("format", "table");
  if (format != "table" && format != "json") return fail(self, "invalid --format '" + format + "': want table or json"), kExitUsage;
  if (!flags.positional().empty()) return fail(self, "takes no arguments"), kExitUsage;
  std::string err;
  oci::Store store;
  if (!open_store(flags, &store, &err)) return fail(self, err);
  std::vector<oci::Descriptor> entries;
  if (!store.list(&entries, &err)) return fail(self, err);
  nlohmann::json out = nlohmann::json::array();
  for (const oci::Descriptor& d : entries) {
    oci::ImageManifest m;
    uint64_t size = 0;
    std::string created;
    if (oci::load_image(store, d, &m, &err)) {
      size = m.config.size;
      for (const oci::Descriptor& l : m.layers) size += l.size;
      std::string config;
      nlohmann::json c;
      if (store.read_blob(m.config.digest, &config, &err) && oci::parse_json(config, &c, &err) && c.is_object() &&
          c.contains("created") && c["created"].is_string())
        created = c["created"];
    }
    out.push_back({{"name", d.ref_name}, {"digest", d.digest}, {"mediaType", d.media_type},
                   {"size", size}, {"created", created}});
  }
  if (format == "json") {
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  // An untagged image (one loaded from an archive saved by id) is docker's <none>.
  auto shown = [](const nlohmann::json& e) {
    std::string name = e["name"];
    return name.empty() ? std::string("<none>") : name;
  };
  size_t width = 10;
  for (const auto& e : out) width = std::max(width, shown(e).size());
  std::printf("%-*s  %-12s  %10s  %s\n", int(width), "REFERENCE", "DIGEST", "SIZE", "CREATED");
  for (const auto& e : out)
    std::printf("%-*s  %-12s  %10s  %s\n", int(width), shown(e).c_str(),
                e["digest"].get<std::string>().substr(7, 12).c_str(), format_size(e["size"]).c_str(),
                e["created"].get<std::string>().substr(0, 19).c_str());
  return 0;
}

}  // namespace

extern const Applet kImagesApplet = {
    .name = "images",
    .synopsis = "[--format json]",
    .summary = "List the images in the image store",
    .description = "One line per reference: name, manifest digest, size of config and layers\n"
                   "(compressed, as stored), and creation time from the image config. An image\n"
                   "without a name (loaded from an archive saved by id) is <none>.",
    .options = kOptions,
    .run = images_main,
};

}  // namespace ctk

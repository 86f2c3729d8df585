// ctk volume: named volumes, docker's `volume` subcommands.
#include <cstdio>
#include <vector>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "applets/subcommands.h"
#include "container/lifecycle.h"
#include "oci/fsutil.h"
#include "volume/volumes.h"

namespace ctk {

extern const Applet kVolumeApplet;

namespace {

using nlohmann::json;

// What every subcommand opens: the containers (which use volumes) and the
// volumes of one data root.
struct Context {
  std::string name;  // "volume ls": the prefix of its error lines
  const Flags& flags;
  container::Containers containers;
  volume::Volumes volumes;
};

int sub_fail(const Context& c, const std::string& message) {
  print_error(c.name, message);
  return kExitFailure;
}

int usage(const Context& c, const std::string& message) {
  print_error(c.name, message + "; see 'ctk volume --help'");
  return kExitUsage;
}

bool parse_filters(const Flags& flags, bool prune, std::vector<volume::Filter>* out, std::string* err) {
  for (const std::string& text : flags.all("filter")) {
    out->emplace_back();
    if (!volume::parse_filter(text, prune, &out->back(), err)) return false;
  }
  return true;
}

// docker's sizes (go-units HumanSize): decimal units, 4 significant digits.
std::string human_size(uint64_t bytes) {
  static const char* const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double v = double(bytes);
  int u = 0;
  while (v >= 1000 && u < 5) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g%s", v, units[u]);
  return buf;
}

int volume_create(Context& c) {
  const auto& args = c.flags.positional();
  if (args.size() > 1) return usage(c, "want at most one NAME");
  volume::Volume v;
  // docker's generated names are 64 hex digits too.
  v.name = args.empty() ? random_id() : args[0];
  std::string why;
  if (!label_flags(c.flags, &v.labels, &why)) return usage(c, why);
  oci::FileLock lock;
  Error err;
  bool created;
  // An existing volume is no error: docker prints its name again.
  if (!c.volumes.lock(&lock, &err) || !c.volumes.create(&v, false, &created, &err)) return sub_fail(c, err.message);
  std::printf("%s\n", v.name.c_str());
  return 0;
}

int volume_ls(Context& c) {
  if (!c.flags.positional().empty()) return usage(c, "takes no arguments");
  std::string format = c.flags.get("format", "table"), why;
  if (format != "table" && format != "json") return usage(c, "invalid --format '" + format + "': want table or json");
  std::vector<volume::Filter> filters;
  if (!parse_filters(c.flags, false, &filters, &why)) return usage(c, why);
  std::vector<volume::Volume> all;
  Error err;
  if (!c.volumes.list(&all, &err)) return sub_fail(c, err.message);
  bool quiet = c.flags.has("quiet");
  if (!quiet && format == "table") std::printf("%-10s%s\n", "DRIVER", "VOLUME NAME");
  for (const volume::Volume& v : all) {
    if (!volume::matches(v, !c.containers.volume_users(v.name).empty(), filters)) continue;
    if (quiet) {
      std::printf("%s\n", v.name.c_str());
    } else if (format == "table") {
      std::printf("%-10s%s\n", "local", v.name.c_str());
    } else {
      // docker's --format json: one object per line, labels as K=V,K=V.
      std::string labels;
      for (const auto& [k, val] : v.labels) labels += (labels.empty() ? "" : ",") + k + "=" + val;
      std::printf("%s\n", json({{"Driver", "local"},
                                {"Labels", labels},
                                {"Mountpoint", c.volumes.data(v.name)},
                                {"Name", v.name},
                                {"Scope", "local"}})
                              .dump()
                              .c_str());
    }
  }
  return 0;
}

int volume_inspect(Context& c) {
  if (c.flags.positional().empty()) return usage(c, "want NAME...");
  json out = json::array();
  for (const std::string& name : c.flags.positional()) {
    volume::Volume v;
    Error err;
    if (!c.volumes.load(name, &v, &err)) return sub_fail(c, err.message);
    out.push_back(volume::inspect_json(c.volumes, v));
  }
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

int volume_rm(Context& c) {
  if (c.flags.positional().empty()) return usage(c, "want NAME...");
  oci::FileLock lock;
  Error err;
  if (!c.volumes.lock(&lock, &err)) return sub_fail(c, err.message);
  int code = 0;
  for (const std::string& name : c.flags.positional()) {
    if (container::remove_volume(c.containers, c.volumes, name, &err)) {
      std::printf("%s\n", name.c_str());
    } else if (!(err.code == ErrorCode::not_found && c.flags.has("force"))) {
      code = sub_fail(c, err.message);
    }
  }
  return code;
}

int volume_prune(Context& c) {
  if (!c.flags.positional().empty()) return usage(c, "takes no arguments");
  std::vector<volume::Filter> filters;
  std::string why;
  if (!parse_filters(c.flags, true, &filters, &why)) return usage(c, why);
  container::PrunedVolumes pruned;
  Error err;
  int code = 0;
  if (!container::prune_volumes(c.containers, c.volumes, c.flags.has("all"), filters, &pruned, &err))
    code = sub_fail(c, err.message);
  bool any = !pruned.names.empty();
  if (any) std::printf("Deleted Volumes:\n");
  for (const std::string& name : pruned.names) std::printf("%s\n", name.c_str());
  uint64_t reclaimed = pruned.reclaimed;
  std::printf("%sTotal reclaimed space: %s\n", any ? "\n" : "", human_size(reclaimed).c_str());
  return code;
}

const Option kCreateOptions[] = {{"label", 0, "K=V", "Set a label", true}, kRootOption};
const Option kLsOptions[] = {
    {"quiet", 'q', "", "Only the names"},
    {"filter", 'f', "FILTER", "dangling=true|false, name=TEXT, label=KEY[=VALUE], driver=local", true},
    {"format", 0, "FORMAT", "table (default) or json (one object per line)"},
    kRootOption,
};
const Option kInspectOptions[] = {kRootOption};
const Option kRmOptions[] = {{"force", 'f', "", "No error for a volume that does not exist"}, kRootOption};
const Option kPruneOptions[] = {
    {"all", 'a', "", "All unused volumes, not only anonymous ones"},
    {"force", 'f', "", "Do not prompt (ctk never does)"},
    {"filter", 0, "FILTER", "label=KEY[=VALUE] or label!=KEY[=VALUE]", true},
    kRootOption,
};

struct VolumeSubcommand : Subcommand {
  int (*run)(Context& c);
};

const VolumeSubcommand kSubcommands[] = {
    {{"create", "", "[--label K=V]... [NAME]", kCreateOptions}, volume_create},
    {{"ls", "list", "[-q] [--filter FILTER]... [--format json]", kLsOptions}, volume_ls},
    {{"inspect", "", "NAME...", kInspectOptions}, volume_inspect},
    {{"rm", "remove", "[-f] NAME...", kRmOptions}, volume_rm},
    {{"prune", "", "[-a] [-f] [--filter label=K[=V]]...", kPruneOptions}, volume_prune},
};

int volume_main(const Flags& flags) {
  Flags sub_flags;
  int code;
  const VolumeSubcommand* sub = parse_subcommand(kVolumeApplet, flags, kSubcommands, &sub_flags, &code);
  if (!sub) return code;
  Context c{full_name(kVolumeApplet, *sub), sub_flags, {}, {}};
  Error err;
  if (!open_containers(sub_flags, &c.containers, &err) || !c.volumes.open(c.containers.data_root(), &err))
    return sub_fail(c, err.message);
  return sub->run(c);
}

const Option kOptions[] = {
    kRootOption,
};

}  // namespace

extern const Applet kVolumeApplet = {
    .name = "volume",
    .synopsis = "[--root DIR] create|ls|inspect|rm|prune [OPTIONS] [NAME...]",
    .summary = "Create, list, inspect and remove volumes",
    .description = "Named volumes keep data beyond a container's life: <root>/volumes/NAME/_data,\n"
                   "shared into each VM that mounts it (-v NAME:/path, --mount).\n"
                   "  create [--label K=V]... [NAME]  prints its name (generated when not given);\n"
                   "                                 an existing volume is kept\n"
                   "  ls [-q] [--filter F]... [--format json]\n"
                   "                                 filters: dangling=true|false (no container uses\n"
                   "                                 it), name=TEXT, label=KEY[=VALUE], driver=local\n"
                   "  inspect NAME...                a JSON array, as docker's\n"
                   "  rm [-f|--force] NAME...        refused while any container, running or not,\n"
                   "                                 uses it; -f: a missing one is no error\n"
                   "  prune [-a|--all] [-f] [--filter label=K[=V]|label!=K[=V]]...\n"
                   "                                 removes unused anonymous volumes (-a: all unused\n"
                   "                                 ones), never prompts\n"
                   "'ctk volume SUBCOMMAND --help' lists a subcommand's options.",
    .options = kOptions,
    .run = volume_main,
    .stop_at_positional = true,
};

}  // namespace ctk

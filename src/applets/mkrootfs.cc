// ctk mkrootfs: layers in, ext4 root filesystem out.
#include <cstdio>

#include "applets/applet.h"
#include "applets/image_common.h"
#include "base/heap.h"
#include "base/strings.h"
#include "ext4/format.h"
#include "oci/rootfs.h"

namespace ctk {

extern const Applet kMkrootfsApplet;

namespace {

const Option kOptions[] = {
    {"output", 'o', "FILE", "Write the image to FILE (default: rootfs.ext4)"},
    {"size", 0, "SIZE", "Image size, e.g. 512M or 4G (default: content plus headroom)"},
    {"journal", 0, "", "Add an ext4 journal"},
    {"timings", 0, "", "Print the time each phase took"},
    kRootOption,
};

int mkrootfs_main(const Flags& flags) {
  const Applet& self = kMkrootfsApplet;
  reserve_huge_heap(256 << 20);  // the file tree; metadata only, so this covers large images
  oci::RootfsRequest req;
  req.inputs = flags.positional();
  if (req.inputs.empty()) return fail(self, "no layers given; see 'ctk mkrootfs --help'"), kExitUsage;
  req.output = flags.get("output", "rootfs.ext4");
  req.store_root = flags.get("root");
  if (flags.has("size")) {
    auto size = parse_size(flags.get("size"));
    if (!size) return fail(self, "invalid --size '" + flags.get("size") + "'"), kExitUsage;
    req.ext4.size = *size;
  }
  req.ext4.journal = flags.has("journal");

  Timings timings;
  oci::RootfsResult result;
  std::string err;
  if (!oci::build_rootfs(req, timings, &result, &err)) return fail(self, err);
  std::printf("%s: %s ext4, %llu entries, %s of file data\n", req.output.c_str(),
              format_size(result.stats.blocks * ext4::kBlockSize).c_str(),
              (unsigned long long)result.entries, format_size(result.stats.data_bytes).c_str());
  if (flags.has("timings")) timings.print();
  return 0;
}

}  // namespace

extern const Applet kMkrootfsApplet = {
    .name = "mkrootfs",
    .synopsis = "[-o FILE] [--size SIZE] [--journal] LAYER...",
    .summary = "Write an ext4 root filesystem from image layers",
    .description =
        "Applies the layers (tar archives, plain or gzip/zstd/lz4/xz/bzip2 compressed, detected\n"
        "from content) in order with OCI semantics: whiteouts, opaque directories, hard links\n"
        "across layers. The image is written in one pass without extracting anything, appears\n"
        "at FILE only when complete, and is byte-identical for identical input.",
    .options = kOptions,
    .run = mkrootfs_main,
};

}  // namespace ctk

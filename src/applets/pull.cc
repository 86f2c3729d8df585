// ctk pull: an image from a registry into the store.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "applets/applet.h"
#include "applets/image_common.h"
#include "oci/pull.h"

namespace ctk {

extern const Applet kPullApplet;

namespace {

constexpr Option kOwnOptions[] = {
    {"platform", 0, "PLATFORM", "os/arch[/variant] to pick from a multi-platform image (default: this host's)"},
    {"jobs", 'j', "N", "Download N blobs at once (default: 4)"},
    {"quiet", 'q', "", "Print only the image digest"},
};
constexpr auto kOptions = join_options(kOwnOptions, kPullOptions);

int pull_main(const Flags& flags) {
  const Applet& self = kPullApplet;
  if (flags.positional().size() != 1) return fail(self, "want one IMAGE; see 'ctk pull --help'"), kExitUsage;
  std::string err;
  oci::Reference ref;
  if (!oci::parse_reference(flags.positional()[0], &ref, &err)) return fail(self, err), kExitUsage;
  oci::PullOptions options;
  if (!pull_options(flags, &options, &err)) return fail(self, err), kExitUsage;
  if (flags.has("jobs")) {
    options.jobs = std::atoi(flags.get("jobs").c_str());
    if (options.jobs < 1 || options.jobs > 64) return fail(self, "invalid --jobs '" + flags.get("jobs") + "': want 1-64"), kExitUsage;
  }
  // A terminal that cannot move the cursor gets the plain lines.
  const char* term = std::getenv("TERM");
  bool live = isatty(STDERR_FILENO) && !(term && std::string_view(term) == "dumb");
  options.progress = flags.has("quiet") ? oci::Progress::kQuiet
                     : live             ? oci::Progress::kTerminal
                                        : oci::Progress::kLines;
  oci::Store store;
  if (!open_store(flags, &store, &err)) return fail(self, err);
  oci::PullResult result;
  if (!oci::pull_image(store, ref, options, &result, &err)) return fail(self, err);
  if (flags.has("quiet")) std::printf("%s\n", result.image.digest.c_str());
  return 0;
}

}  // namespace

extern const Applet kPullApplet = {
    .name = "pull",
    .synopsis = "[--platform PLATFORM] [-j N] [-q] IMAGE",
    .summary = "Download an image from a registry into the image store",
    .description =
        "IMAGE is a reference: 'alpine' is docker.io/library/alpine:latest; 'host:port/name:tag',\n"
        "'name@sha256:...' and 'name:tag@sha256:...' name others. Blobs are checked against their\n"
        "digest and size while they stream in, appear in the store only when complete, and an\n"
        "interrupted pull resumes where it stopped. Credentials come from 'ctk login'.",
    .options = kOptions,
    .run = pull_main,
};

}  // namespace ctk

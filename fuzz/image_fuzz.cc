// libFuzzer target: the readers of image documents, all untrusted input. The
// bytes are read as an image config (parse_image_config) and as a manifest or
// index (classify_manifest with a Content-Type the input's length picks,
// parse_manifest, select_platform, docker_to_oci_manifest). Nothing throws or
// crashes; a failure is one line; a manifest that parses converts to an OCI
// manifest that parses to the same descriptors.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "oci/image.h"
#include "oci/image_config.h"
#include "oci/reference.h"

using namespace ctk::oci;

namespace {

// A failure must say something, on one line.
void check_error(bool ok, const std::string& err) {
  if (!ok && (err.empty() || err.find('\n') != std::string::npos)) std::abort();
}

bool same(const Descriptor& a, const Descriptor& b) { return a.digest == b.digest && a.size == b.size; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string err;

  ImageConfig config;
  check_error(parse_image_config(text, &config, &err), err);

  static const std::string_view kTypes[] = {"", "application/json", media::kOciIndex, media::kDockerList,
                                            media::kOciManifest, media::kDockerManifest};
  // By the length, so that every byte of the input can be a document's.
  std::string_view content_type = kTypes[size % std::size(kTypes)];
  std::string type;
  bool is_index = false;
  bool classified = classify_manifest(content_type, text, "fuzz", &type, &is_index, &err);
  check_error(classified, err);

  ImageManifest m;
  bool parsed = parse_manifest(text, "fuzz", &m, &err);
  check_error(parsed, err);
  std::string converted;
  bool ok = docker_to_oci_manifest(text, "fuzz", &converted, &err);
  check_error(ok, err);
  if (parsed) {
    ImageManifest again;
    if (!ok || !parse_manifest(converted, "fuzz", &again, &err) || !same(again.config, m.config) ||
        again.layers.size() != m.layers.size())
      std::abort();
    for (size_t i = 0; i < m.layers.size(); ++i)
      if (!same(again.layers[i], m.layers[i])) std::abort();
  }

  for (const char* platform : {"linux/amd64", "linux/arm64", "linux/arm/v7"}) {
    Platform want;
    Descriptor chosen;
    if (!parse_platform(platform, &want, &err)) std::abort();
    bool found = select_platform(text, "fuzz", want, &chosen, &err);
    check_error(found, err);
    if (found && !is_digest(chosen.digest)) std::abort();
  }
  return 0;
}

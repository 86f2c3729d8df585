// `ctk pull`: resolves a reference at its registry (an index narrows to one
// platform), downloads the config and layers in parallel straight into the
// store (verified while streaming), then points the reference at the image
// in index.json. The reference appears only after every blob is in place.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "oci/image.h"
#include "oci/pull_progress.h"
#include "oci/reference.h"
#include "oci/registry.h"
#include "oci/store.h"

namespace ctk::oci {

// Told what a pull does as it does it, for a caller that reports progress
// its own way (the Docker API's JSON lines). Called from the download
// threads: an observer is thread-safe; it must not block for long.
class PullObserver {
 public:
  virtual ~PullObserver() = default;
  // Once the manifest is known, before any download: the blobs, the
  // config first, then the layers (each once).
  virtual void blobs(const std::vector<Descriptor>& blobs) = 0;
  virtual void present(size_t blob) = 0;                      // already in the store
  virtual void downloading(size_t blob, uint64_t offset) = 0; // from offset (a resumed download)
  virtual void progress(size_t blob, uint64_t done) = 0;      // bytes in place so far
  virtual void finished(size_t blob) = 0;                     // verified and stored
};

struct PullOptions {
  RegistryOptions registry;
  Platform platform;  // empty os: the host's
  int jobs = 4;
  Progress progress = Progress::kLines;
  PullObserver* observer = nullptr;  // besides `progress`
};

struct PullResult {
  Descriptor image;             // the stored manifest
  std::string ref_name;         // its index.json name
  std::string registry_digest;  // what the registry answered for the reference (an index's, for an index)
};

// Docker Hub's images come from options.registry.hub_mirror first, when set.
bool pull_image(Store& store, const Reference& ref, const PullOptions& options, PullResult* result,
                std::string* err);

// A --registry-mirror: [http[s]://]HOST[:PORT], http:// meaning plain HTTP.
bool parse_mirror(const std::string& text, std::string* host, bool* plain_http, std::string* err);

}  // namespace ctk::oci

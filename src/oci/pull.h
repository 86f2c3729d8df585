// `ctk pull`: resolves a reference at its registry (an index narrows to one
// platform), downloads the config and layers in parallel straight into the
// store (verified while streaming), then points the reference at the image
// in index.json. The reference appears only after every blob is in place.
#pragma once

#include <string>

#include "oci/image.h"
#include "oci/pull_progress.h"
#include "oci/reference.h"
#include "oci/registry.h"
#include "oci/store.h"

namespace ctk::oci {

struct PullOptions {
  RegistryOptions registry;
  Platform platform;  // empty os: the host's
  int jobs = 4;
  Progress progress = Progress::kLines;
};

struct PullResult {
  Descriptor image;       // the stored manifest
  std::string ref_name;   // its index.json name
};

bool pull_image(Store& store, const Reference& ref, const PullOptions& options, PullResult* result,
                std::string* err);

}  // namespace ctk::oci

// What the image applets (pull, images, inspect, tag, rmi, login, ...) share:
// opening the store named by --root and turning registry flags into options.
#pragma once

#include <string>

#include "base/flags.h"
#include "oci/registry.h"
#include "oci/store.h"

namespace ctk {

// --root DIR, else the default store location.
bool open_store(const Flags& flags, oci::Store* store, std::string* err);

// --tls-verify BOOL, --cert-dir DIR, --plain-http, --authfile FILE.
bool registry_options(const Flags& flags, oci::RegistryOptions* out, std::string* err);

}  // namespace ctk

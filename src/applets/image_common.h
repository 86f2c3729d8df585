// What the image applets (pull, images, inspect, tag, rmi, login, ...) share:
// opening the store named by --root and turning registry flags into options.
#pragma once

#include <string>

#include "base/flags.h"
#include "oci/registry.h"
#include "oci/store.h"

namespace ctk {

// The option-table rows for the flags below, shared by every image applet.
inline constexpr Option kRootOption = {"root", 0, "DIR", "Image store (default: $CTK_ROOT or ~/.local/share/ctk)"};
inline constexpr Option kTlsVerifyOption = {"tls-verify", 0, "BOOL",
                                            "Verify the registry's TLS certificate (default: true)"};
inline constexpr Option kCertDirOption = {"cert-dir", 0, "DIR",
                                          "Trust the CA certificates (*.crt) in DIR for this registry"};
inline constexpr Option kPlainHttpOption = {"plain-http", 0, "", "Talk HTTP, not HTTPS, to the registry"};
inline constexpr Option kAuthfileOption = {"authfile", 0, "FILE",
                                           "Credentials file (default: ~/.docker/config.json)"};

// --root DIR, else the default store location.
bool open_store(const Flags& flags, oci::Store* store, std::string* err);

// --tls-verify BOOL, --cert-dir DIR, --plain-http, --authfile FILE.
bool registry_options(const Flags& flags, oci::RegistryOptions* out, std::string* err);

}  // namespace ctk

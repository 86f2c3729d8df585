// What the image applets (pull, images, inspect, tag, rmi, login, ...) share:
// opening the store named by --root and turning registry flags into options.
// Every applet that can pull an image (pull, run, create) takes the same
// flags: kPullOptions and a --platform row of its own, read by pull_options.
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include "base/flags.h"
#include "oci/pull.h"
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

// The rows of every applet that can pull. (--platform is not among them:
// each such applet says in its own row what else the platform picks.)
inline constexpr Option kPullOptions[] = {kTlsVerifyOption, kCertDirOption, kPlainHttpOption, kAuthfileOption,
                                          kRootOption};

// One option table from an applet's own rows and shared ones:
// `constexpr auto kOptions = join_options(kOwnOptions, kPullOptions);`.
template <size_t N, size_t M>
constexpr std::array<Option, N + M> join_options(const Option (&own)[N], const Option (&shared)[M]) {
  std::array<Option, N + M> out{};
  for (size_t i = 0; i < N; ++i) out[i] = own[i];
  for (size_t i = 0; i < M; ++i) out[N + i] = shared[i];
  return out;
}

// --root DIR, else the default store location.
bool open_store(const Flags& flags, oci::Store* store, std::string* err);

// --tls-verify BOOL, --cert-dir DIR, --plain-http, --authfile FILE.
bool registry_options(const Flags& flags, oci::RegistryOptions* out, std::string* err);

// The registry flags and --platform OS/ARCH[/VARIANT] (absent: the host's)
// of an applet that can pull; errors are usage errors.
bool pull_options(const Flags& flags, oci::PullOptions* out, std::string* err);

}  // namespace ctk

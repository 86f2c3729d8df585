#include "applets/image_common.h"

namespace ctk {

bool open_store(const Flags& flags, oci::Store* store, std::string* err) {
  return store->open(flags.has("root") ? flags.get("root") : oci::Store::default_root(), err);
}

bool registry_options(const Flags& flags, oci::RegistryOptions* out, std::string* err) {
  if (flags.has("tls-verify")) {
    std::string v = flags.get("tls-verify");
    if (v == "true" || v == "1") out->tls_verify = true;
    else if (v == "false" || v == "0") out->tls_verify = false;
    else {
      *err = "invalid --tls-verify '" + v + "': want true or false";
      return false;
    }
  }
  out->cert_dir = flags.get("cert-dir");
  out->plain_http = flags.has("plain-http");
  out->auth_file = flags.get("authfile");
  return true;
}

bool pull_options(const Flags& flags, oci::PullOptions* out, std::string* err) {
  if (!registry_options(flags, &out->registry, err)) return false;
  return !flags.has("platform") || oci::parse_platform(flags.get("platform"), &out->platform, err);
}

}  // namespace ctk

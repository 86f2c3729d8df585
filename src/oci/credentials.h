// Registry credentials in docker's config.json format
// ($DOCKER_CONFIG/config.json or ~/.docker/config.json): "auths" maps a
// registry to {"auth": base64("user:password")}. Docker Hub's key is
// "https://index.docker.io/v1/". Credential helpers (credsStore) are not run.
#pragma once

#include <string>
#include <string_view>

namespace ctk::oci {

struct Credential {
  std::string user;
  std::string password;
};

std::string docker_config_path();

// Fills `out` and sets *found when config.json has credentials for registry
// (a reference's registry, e.g. "docker.io" or "localhost:5000"). A missing
// file is no error.
bool find_credential(const std::string& config, std::string_view registry, Credential* out, bool* found,
                     std::string* err);
// Adds or replaces the registry's entry, keeping the rest of the file; the
// file is written atomically with mode 0600.
bool store_credential(const std::string& config, std::string_view registry, const Credential& cred,
                      std::string* err);
bool erase_credential(const std::string& config, std::string_view registry, bool* existed,
                      std::string* err);

}  // namespace ctk::oci

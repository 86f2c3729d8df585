// Registry credentials as docker keeps them ($DOCKER_CONFIG/config.json or
// ~/.docker/config.json): a credential helper named for the registry in
// "credHelpers", else the one in "credsStore", else the file itself, where
// "auths" maps a registry to {"auth": base64("user:password")} or
// {"identitytoken": ...}. Docker Hub's key is "https://index.docker.io/v1/".
// With a helper, config.json keeps only an empty entry for the registry.
#pragma once

#include <string>
#include <string_view>

namespace ctk::oci {

struct Credential {
  std::string user;
  std::string password;
  // An OAuth2 refresh token (a helper's "<token>" user, config.json's
  // "identitytoken"): traded at the token server, never sent as Basic.
  std::string identity_token;
};

std::string docker_config_path();

// Fills `out` and sets *found when config.json or its helper has credentials
// for registry (a reference's registry, e.g. "docker.io" or "localhost:5000").
// A missing file is no error.
bool find_credential(const std::string& config, std::string_view registry, Credential* out, bool* found,
                     std::string* err);
// Adds or replaces the registry's credentials (in its helper, if any, which
// runs `store`), keeping the rest of the file; the file is written
// atomically with mode 0600.
bool store_credential(const std::string& config, std::string_view registry, const Credential& cred,
                      std::string* err);
// Removes them from the file and from the helper (`erase`).
bool erase_credential(const std::string& config, std::string_view registry, bool* existed,
                      std::string* err);

}  // namespace ctk::oci

#include "oci/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/strings.h"
#include "oci/fsutil.h"
#include "oci/reference.h"

namespace ctk::oci {

namespace {

using nlohmann::json;

// The config key docker uses for a registry.
std::string config_key(std::string_view registry) {
  return registry == kDockerHub ? "https://index.docker.io/v1/" : std::string(registry);
}

// "https://index.docker.io/v1/" -> "docker.io"; "host:5000" stays.
std::string key_registry(std::string_view key) {
  if (size_t s = key.find("://"); s != std::string_view::npos) key = key.substr(s + 3);
  key = key.substr(0, key.find('/'));
  if (key == "index.docker.io" || key == "registry-1.docker.io") return std::string(kDockerHub);
  return std::string(key);
}

bool load(const std::string& path, json* out, std::string* err) {
  std::string text;
  bool exists;
  if (!read_file(path, &text, &exists, err)) return false;
  if (!exists || text.find_first_not_of(" \t\r\n") == std::string::npos) {
    *out = json::object();
    return true;
  }
  *out = json::parse(text, nullptr, false);
  if (out->is_discarded() || !out->is_object()) {
    *err = path + ": not a JSON object";
    return false;
  }
  return true;
}

bool save(const std::string& path, const json& config, std::string* err) {
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && !make_dirs(path.substr(0, slash), 0700, err)) return false;
  return write_file_atomic(path, config.dump(1, '\t') + "\n", 0600, err);
}

}  // namespace

std::string docker_config_path() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir) return std::string(dir) + "/config.json";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "") + "/.docker/config.json";
}

bool find_credential(const std::string& config, std::string_view registry, Credential* out, bool* found,
                     std::string* err) {
  *found = false;
  json doc;
  if (!load(config, &doc, err)) return false;
  auto auths = doc.find("auths");
  if (auths == doc.end() || !auths->is_object()) return true;
  for (auto it = auths->begin(); it != auths->end(); ++it) {
    if (key_registry(it.key()) != registry || !it->is_object()) continue;
    std::string decoded;
    if (it->contains("auth") && (*it)["auth"].is_string()) {
      if (!base64_decode((*it)["auth"].get<std::string>(), &decoded) || decoded.find(':') == std::string::npos) {
        *err = config + ": invalid \"auth\" for " + it.key();
        return false;
      }
      out->user = decoded.substr(0, decoded.find(':'));
      out->password = decoded.substr(decoded.find(':') + 1);
    } else if (it->contains("username") && it->contains("password")) {
      out->user = (*it)["username"].get<std::string>();
      out->password = (*it)["password"].get<std::string>();
    } else {
      continue;
    }
    *found = true;
    return true;
  }
  return true;
}

bool store_credential(const std::string& config, std::string_view registry, const Credential& cred,
                      std::string* err) {
  json doc;
  if (!load(config, &doc, err)) return false;
  if (!doc["auths"].is_object()) doc["auths"] = json::object();
  json& auths = doc["auths"];
  for (auto it = auths.begin(); it != auths.end();) {
    if (key_registry(it.key()) == registry) it = auths.erase(it);
    else ++it;
  }
  auths[config_key(registry)] = {{"auth", base64_encode(cred.user + ":" + cred.password)}};
  return save(config, doc, err);
}

bool erase_credential(const std::string& config, std::string_view registry, bool* existed, std::string* err) {
  *existed = false;
  json doc;
  if (!load(config, &doc, err)) return false;
  auto auths = doc.find("auths");
  if (auths == doc.end() || !auths->is_object()) return true;
  for (auto it = auths->begin(); it != auths->end();) {
    if (key_registry(it.key()) == registry) {
      it = auths->erase(it);
      *existed = true;
    } else {
      ++it;
    }
  }
  return !*existed || save(config, doc, err);
}

}  // namespace ctk::oci

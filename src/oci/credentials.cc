#include "oci/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "base/error.h"
#include "base/strings.h"
#include "oci/cred_helper.h"
#include "oci/fsutil.h"
#include "oci/json.h"
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
  std::string why;
  if (!parse_json(text, out, &why) || !out->is_object()) {
    *err = path + ": " + (why.empty() ? "not a JSON object" : why);
    return false;
  }
  return true;
}

// The helper docker runs for registry: its credHelpers entry, else
// credsStore; "" when the credentials live in the file itself.
bool helper_for(const std::string& path, const json& doc, std::string_view registry, std::string* name,
                std::string* err) {
  name->clear();
  if (auto helpers = doc.find("credHelpers"); helpers != doc.end() && helpers->is_object())
    for (auto it = helpers->begin(); it != helpers->end(); ++it)
      if (key_registry(it.key()) == registry && it->is_string()) *name = it->get<std::string>();
  if (auto store = doc.find("credsStore"); name->empty() && store != doc.end() && store->is_string())
    *name = store->get<std::string>();
  // The name becomes part of a program looked up on PATH, never a path.
  if (name->find('/') != std::string::npos) {
    *err = path + ": invalid credential helper name '" + *name + "'";
    return false;
  }
  return true;
}

// Drops the registry's entries from "auths"; true when there were any.
bool drop_entries(json* doc, std::string_view registry) {
  auto auths = doc->find("auths");
  if (auths == doc->end() || !auths->is_object()) return false;
  bool dropped = false;
  for (auto it = auths->begin(); it != auths->end();) {
    if (key_registry(it.key()) == registry) {
      it = auths->erase(it);
      dropped = true;
    } else {
      ++it;
    }
  }
  return dropped;
}

// Runs the helper; errors say which config file named it.
bool call_helper(const std::string& config, const std::string& helper, const std::string& action,
                 const std::string& input, std::string* answer, bool* not_found, std::string* err) {
  if (run_credential_helper(helper, action, input, answer, not_found, err)) return true;
  *err += " (credential helper named in " + config + ")";
  return false;
}

// A helper's answer to `get`: {"ServerURL": .., "Username": .., "Secret": ..}.
bool parse_helper_answer(const std::string& text, const std::string& what, Credential* out, bool* found,
                         std::string* err) {
  json doc;
  std::string ignored;
  if (!parse_json(text, &doc, &ignored) || !doc.is_object() || !doc.contains("Username") ||
      !doc["Username"].is_string() || !doc.contains("Secret") || !doc["Secret"].is_string()) {
    *err = what + ": answer is not JSON with \"Username\" and \"Secret\"";
    return false;
  }
  std::string user = doc["Username"], secret = doc["Secret"];
  if (secret.empty()) return true;
  *out = user == "<token>" ? Credential{"", "", secret} : Credential{user, secret, ""};
  *found = true;
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
  std::string helper;
  if (!load(config, &doc, err) || !helper_for(config, doc, registry, &helper, err)) return false;
  if (!helper.empty()) {
    // Like docker: with a helper, the file's entry holds no secrets.
    std::string answer;
    bool not_found;
    if (!call_helper(config, helper, "get", config_key(registry), &answer, &not_found, err)) return false;
    return not_found || parse_helper_answer(answer, "docker-credential-" + helper + " get", out, found, err);
  }
  auto auths = doc.find("auths");
  if (auths == doc.end() || !auths->is_object()) return true;
  for (auto it = auths->begin(); it != auths->end(); ++it) {
    if (key_registry(it.key()) != registry || !it->is_object()) continue;
    const json& entry = *it;
    auto text = [&](const char* key) {
      return entry.contains(key) && entry[key].is_string() ? entry[key].get<std::string>() : std::string();
    };
    *out = Credential{};
    if (std::string token = text("identitytoken"); !token.empty()) {
      out->identity_token = token;
    } else if (entry.contains("auth") && entry["auth"].is_string()) {
      std::string decoded;
      if (!base64_decode(text("auth"), &decoded) || decoded.find(':') == std::string::npos) {
        *err = config + ": invalid \"auth\" for " + it.key();
        return false;
      }
      out->user = decoded.substr(0, decoded.find(':'));
      out->password = decoded.substr(decoded.find(':') + 1);
    } else if (entry.contains("username") && entry.contains("password")) {
      out->user = text("username");
      out->password = text("password");
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
  std::string helper;
  if (!load(config, &doc, err) || !helper_for(config, doc, registry, &helper, err)) return false;
  json entry = {{"auth", base64_encode(cred.user + ":" + cred.password)}};
  if (!helper.empty()) {
    json request = {{"ServerURL", config_key(registry)}, {"Username", cred.user}, {"Secret", cred.password}};
    std::string answer;
    bool not_found;
    if (!call_helper(config, helper, "store", request.dump(), &answer, &not_found, err)) return false;
    entry = json::object();
  }
  drop_entries(&doc, registry);
  if (!doc["auths"].is_object()) doc["auths"] = json::object();
  doc["auths"][config_key(registry)] = entry;
  return save(config, doc, err);
}

bool erase_credential(const std::string& config, std::string_view registry, bool* existed, std::string* err) {
  *existed = false;
  json doc;
  std::string helper;
  if (!load(config, &doc, err) || !helper_for(config, doc, registry, &helper, err)) return false;
  if (!helper.empty()) {
    std::string answer;
    bool not_found;
    if (!call_helper(config, helper, "erase", config_key(registry), &answer, &not_found, err)) return false;
    *existed = !not_found;
  }
  if (!drop_entries(&doc, registry)) return true;
  *existed = true;
  return save(config, doc, err);
}

}  // namespace ctk::oci

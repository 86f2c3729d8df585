#include "oci/image.h"

#include <sys/utsname.h>

#include "oci/json.h"
#include "oci/reference.h"

namespace ctk::oci {

namespace {

using nlohmann::json;

bool parse_descriptor(const json& j, const std::string& what, const std::string& field, Descriptor* out,
                      std::string* err) {
  auto bad = [&](const std::string& why) {
    *err = what + ": malformed manifest: " + field + " " + why;
    return false;
  };
  if (!j.is_object()) return bad("is not an object");
  if (!j.contains("digest") || !j["digest"].is_string() || !is_digest(j["digest"].get<std::string>()))
    return bad("has no sha256 digest");
  if (!j.contains("size") || !j["size"].is_number_unsigned()) return bad("has no size");
  out->digest = j["digest"];
  out->size = j["size"];
  out->media_type = j.contains("mediaType") && j["mediaType"].is_string() ? j["mediaType"].get<std::string>() : "";
  return true;
}

bool parse_object(const std::string& body, const std::string& what, json* out, std::string* err) {
  std::string why;
  if (!parse_json(body, out, &why)) {
    *err = what + ": malformed manifest: " + why;
    return false;
  }
  if (!out->is_object()) {
    *err = what + ": malformed manifest: not a JSON object";
    return false;
  }
  return true;
}

}  // namespace

bool parse_platform(std::string_view text, Platform* out, std::string* err) {
  Platform p;
  size_t a = text.find('/');
  size_t b = a == std::string_view::npos ? a : text.find('/', a + 1);
  if (a == std::string_view::npos || a == 0 || a + 1 == text.size() || b == a + 1 ||
      (b != std::string_view::npos && (b + 1 == text.size() || text.find('/', b + 1) != std::string_view::npos))) {
    *err = "invalid platform '" + std::string(text) + "': want os/arch[/variant], e.g. linux/arm64";
    return false;
  }
  p.os = text.substr(0, a);
  p.arch = text.substr(a + 1, b == std::string_view::npos ? b : b - a - 1);
  if (b != std::string_view::npos) p.variant = text.substr(b + 1);
  *out = std::move(p);
  return true;
}

Platform host_platform() {
  Platform p{"linux", "amd64", ""};
  utsname u;
  if (uname(&u) != 0) return p;
  std::string m = u.machine;
  if (m == "x86_64") p.arch = "amd64";
  else if (m == "aarch64" || m == "arm64") p.arch = "arm64";
  else if (m == "i386" || m == "i686") p.arch = "386";
  else if (m.rfind("armv7", 0) == 0) p = {"linux", "arm", "v7"};
  else if (m.rfind("armv6", 0) == 0) p = {"linux", "arm", "v6"};
  else if (m == "ppc64le" || m == "s390x" || m == "riscv64") p.arch = m;
  else p.arch = m;
  return p;
}

bool classify_manifest(std::string_view content_type, const std::string& body, const std::string& what,
                       std::string* media_type, bool* is_index, std::string* err) {
  json doc;
  if (!parse_object(body, what, &doc, err)) return false;
  std::string type(content_type);
  // Registries and files often say only application/json: the document's
  // own mediaType, then its shape, decide.
  if (type != media::kOciIndex && type != media::kDockerList && type != media::kOciManifest &&
      type != media::kDockerManifest) {
    if (doc.contains("mediaType") && doc["mediaType"].is_string()) type = doc["mediaType"];
    else if (doc.contains("manifests")) type = media::kOciIndex;
    else if (doc.contains("layers")) type = media::kOciManifest;
  }
  if (doc.contains("schemaVersion") && doc["schemaVersion"] == 1) {
    *err = what + ": Docker schema 1 manifests are not supported";
    return false;
  }
  if (type == media::kOciIndex || type == media::kDockerList) *is_index = true;
  else if (type == media::kOciManifest || type == media::kDockerManifest) *is_index = false;
  else {
    *err = what + ": unsupported manifest type '" + printable(type) + "'";
    return false;
  }
  *media_type = type;
  return true;
}

bool parse_manifest(const std::string& body, const std::string& what, ImageManifest* out, std::string* err) {
  json doc;
  if (!parse_object(body, what, &doc, err)) return false;
  ImageManifest m;
  if (!doc.contains("config") || !parse_descriptor(doc["config"], what, "config", &m.config, err)) {
    if (!doc.contains("config")) *err = what + ": malformed manifest: no config";
    return false;
  }
  if (!doc.contains("layers") || !doc["layers"].is_array()) {
    *err = what + ": malformed manifest: no layers array";
    return false;
  }
  for (size_t i = 0; i < doc["layers"].size(); ++i) {
    Descriptor d;
    if (!parse_descriptor(doc["layers"][i], what, "layer " + std::to_string(i), &d, err)) return false;
    m.layers.push_back(std::move(d));
  }
  *out = std::move(m);
  return true;
}

bool docker_to_oci_manifest(const std::string& body, const std::string& what, std::string* out, std::string* err) {
  static const std::pair<std::string_view, std::string_view> kMap[] = {
      {media::kDockerManifest, media::kOciManifest},
      {"application/vnd.docker.container.image.v1+json", media::kOciConfig},
      {"application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.oci.image.layer.v1.tar+gzip"},
      {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
       "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"},
  };
  auto convert = [&](json& j) {
    if (!j.is_object() || !j.contains("mediaType") || !j["mediaType"].is_string()) return;
    for (const auto& [from, to] : kMap)
      if (j["mediaType"] == from) j["mediaType"] = to;
  };
  json doc;
  if (!parse_object(body, what, &doc, err)) return false;
  convert(doc);
  if (doc.contains("config")) convert(doc["config"]);
  if (doc.contains("layers") && doc["layers"].is_array())
    for (json& l : doc["layers"]) convert(l);
  *out = doc.dump(3) + "\n";
  return true;
}

bool select_platform(const std::string& body, const std::string& what, const Platform& want, Descriptor* out,
                     std::string* err) {
  json doc;
  if (!parse_object(body, what, &doc, err)) return false;
  if (!doc.contains("manifests") || !doc["manifests"].is_array()) {
    *err = what + ": malformed index: no manifests array";
    return false;
  }
  std::string offered;
  for (size_t i = 0; i < doc["manifests"].size(); ++i) {
    const json& m = doc["manifests"][i];
    Descriptor d;
    if (!parse_descriptor(m, what, "index entry " + std::to_string(i), &d, err)) return false;
    if (!m.contains("platform") || !m["platform"].is_object()) continue;
    const json& p = m["platform"];
    auto field = [&](const char* k) { return p.contains(k) && p[k].is_string() ? p[k].get<std::string>() : ""; };
    Platform have{field("os"), field("architecture"), field("variant")};
    if (have.os == "unknown") continue;  // attestations
    offered += (offered.empty() ? "" : ", ") + printable(have.str());
    // arm64's only variant is v8: "linux/arm64" and "linux/arm64/v8" are one.
    auto norm = [](Platform x) {
      if (x.arch == "arm64" && x.variant.empty()) x.variant = "v8";
      return x;
    };
    Platform h = norm(have), w = norm(want);
    if (h.os != w.os || h.arch != w.arch || (!w.variant.empty() && h.variant != w.variant)) continue;
    *out = std::move(d);
    return true;
  }
  *err = what + ": no image for " + want.str() + " (the index has " + (offered.empty() ? "none" : offered) + ")";
  return false;
}

bool load_image(const Store& store, const Descriptor& image, const Platform& platform, ImageManifest* out,
                std::string* err) {
  std::string body;
  if (!store.read_blob(image.digest, &body, err)) return false;
  std::string what = image.ref_name.empty() ? image.digest : image.ref_name;
  std::string type;
  bool is_index;
  if (!classify_manifest(image.media_type, body, what, &type, &is_index, err)) return false;
  std::string digest = image.digest;
  if (is_index) {
    Descriptor chosen;
    if (!select_platform(body, what, platform, &chosen, err)) return false;
    if (!store.read_blob(chosen.digest, &body, err)) return false;
    digest = chosen.digest;
  }
  if (!parse_manifest(body, what, out, err)) return false;
  out->digest = digest;
  return true;
}

bool load_image(const Store& store, const Descriptor& image, ImageManifest* out, std::string* err) {
  return load_image(store, image, host_platform(), out, err);
}

bool image_layers(const Store& store, std::string_view name, std::vector<std::string>* paths,
                  std::string* manifest_digest, std::string* err) {
  Descriptor image;
  ImageManifest m;
  if (!store.resolve(name, &image, err) || !load_image(store, image, &m, err)) return false;
  paths->clear();
  for (const Descriptor& l : m.layers) {
    if (!store.has_blob(l.digest, l.size)) {
      *err = image.ref_name + ": layer " + l.digest + " is missing from the store; pull the image again";
      return false;
    }
    paths->push_back(store.blob_path(l.digest));
  }
  *manifest_digest = m.digest;
  return true;
}

}  // namespace ctk::oci

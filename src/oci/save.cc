#include "oci/save.h"

#include <set>

#include "base/atomic_file.h"
#include "oci/image.h"
#include "oci/images.h"
#include "oci/json.h"
#include "oci/reference.h"
#include "oci/tar_writer.h"

namespace ctk::oci {

namespace {

using nlohmann::json;

// docker load (25 and later) names an image from this annotation.
constexpr std::string_view kImageNameAnnotation = "io.containerd.image.name";

// The blobs `d` reaches, each once, in `out`; the platforms an index names
// but the store lacks (a pulled image keeps only its own) are left out, as
// in the store.
bool collect(const Store& store, const Descriptor& d, const std::string& image, std::set<std::string>* seen,
             std::vector<Descriptor>* out, std::string* err) {
  if (!seen->insert(d.digest).second) return true;
  if (!store.has_blob(d.digest, d.size)) {
    *err = image + ": blob " + d.digest + " is missing from the store; pull the image again";
    return false;
  }
  out->push_back(d);
  bool is_index = d.media_type == media::kOciIndex || d.media_type == media::kDockerList;
  bool is_manifest = d.media_type == media::kOciManifest || d.media_type == media::kDockerManifest;
  if (!is_index && !is_manifest) return true;
  std::string body;
  if (!store.read_blob(d.digest, &body, err)) return false;
  if (is_manifest) {
    ImageManifest m;
    if (!parse_manifest(body, image, &m, err) || !collect(store, m.config, image, seen, out, err)) return false;
    for (const Descriptor& l : m.layers)
      if (!collect(store, l, image, seen, out, err)) return false;
    return true;
  }
  json doc;
  std::string why;
  if (!parse_json(body, &doc, &why)) {
    *err = image + ": malformed index: " + why;
    return false;
  }
  if (!doc.is_object() || !doc.contains("manifests") || !doc["manifests"].is_array()) {
    *err = image + ": malformed index: no manifests array";
    return false;
  }
  for (const json& m : doc["manifests"]) {
    Descriptor child;
    if (!m.is_object() || !m.contains("digest") || !m["digest"].is_string() || !m.contains("size") ||
        !m["size"].is_number_unsigned() || !m.contains("mediaType") || !m["mediaType"].is_string()) {
      *err = image + ": malformed index: an entry has no digest, size or media type";
      return false;
    }
    child.digest = m["digest"];
    child.size = m["size"];
    child.media_type = m["mediaType"];
    if (!is_digest(child.digest)) {
      *err = image + ": malformed index: invalid digest '" + child.digest + "'";
      return false;
    }
    if (store.has_blob(child.digest, child.size) && !collect(store, child, image, seen, out, err)) return false;
  }
  return true;
}

}  // namespace

bool save_archive(const Store& store, const std::vector<std::string>& names, int fd, const std::string& what,
                  std::vector<std::string>* saved, std::string* err) {
  json index = {{"schemaVersion", 2}, {"mediaType", std::string(media::kOciIndex)}, {"manifests", json::array()}};
  std::set<std::string> seen, named;
  std::vector<Descriptor> blobs;
  for (const std::string& name : names) {
    Descriptor d;
    std::string id;
    if (!store.resolve(name, &d, err)) {
      // docker's image id: saved without a name, as docker saves one.
      StoredImage image;
      std::string matched;
      Error ignored;
      if (!find_image(store, name, &image, &matched, &ignored) || !matched.empty()) return false;
      d = image.entries.front();
      d.ref_name.clear();
      id = image.id;
    }
    if (!named.insert(d.ref_name.empty() ? d.digest : d.ref_name).second) continue;
    if (!collect(store, d, d.ref_name.empty() ? id : d.ref_name, &seen, &blobs, err)) return false;
    json entry = {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
    if (!d.ref_name.empty())
      entry["annotations"] = {{std::string(kRefNameAnnotation), d.ref_name},
                              {std::string(kImageNameAnnotation), d.ref_name}};
    index["manifests"].push_back(std::move(entry));
    saved->push_back(d.ref_name.empty() ? id : d.ref_name);
  }
  TarWriter tar(fd, what);
  // The layout's small files first, so a streaming reader knows what follows.
  if (!tar.add_file("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}\n", err) ||
      !tar.add_file("index.json", index.dump() + "\n", err) || !tar.add_dir("blobs/", err) ||
      !tar.add_dir("blobs/sha256/", err))
    return false;
  for (const Descriptor& b : blobs)
    if (!tar.add_file_from("blobs/sha256/" + b.digest.substr(7), store.blob_path(b.digest), b.size, err))
      return false;
  return tar.finish(err);
}

bool save_archive(const Store& store, const std::vector<std::string>& names, const std::string& path,
                  std::vector<std::string>* saved, std::string* err) {
  AtomicFile out;
  return out.open(path, err) && save_archive(store, names, out.fd(), path, saved, err) && out.commit(err);
}

}  // namespace ctk::oci

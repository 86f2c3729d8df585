#include "oci/load.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <utility>

#include "base/error.h"
#include "oci/archive_source.h"
#include "oci/image.h"
#include "oci/images.h"
#include "oci/images.h"
#include "oci/json.h"
#include "oci/reference.h"

namespace ctk::oci {

namespace {

using nlohmann::json;

// Files up to this size stay in memory until something refers to them, so
// docker save's per-layer json and VERSION files never reach the store.
constexpr uint64_t kSmallFile = 1 << 20;
constexpr uint64_t kMaxHeld = 256 << 20;
constexpr uint64_t kMaxTopLevel = 16 << 20;  // manifest.json, index.json
constexpr int kMaxIndexNesting = 4;          // an index of indexes of ... of manifests
constexpr size_t kHead = 10;                 // enough for any compression's magic number
constexpr std::string_view kBlobPrefix = "blobs/sha256/";
// docker save (25 and later) names images here; ref.name holds only the tag.
constexpr std::string_view kImageNameAnnotation = "io.containerd.image.name";
constexpr std::string_view kLayerTar = "application/vnd.oci.image.layer.v1.tar";
constexpr std::string_view kLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr std::string_view kLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";

// "./blobs/sha256/x" and "/manifest.json" name what "blobs/sha256/x" and
// "manifest.json" do.
std::string clean_name(std::string_view name) {
  while (!name.empty() && (name[0] == '/' || name.substr(0, 2) == "./")) name.remove_prefix(name[0] == '/' ? 1 : 2);
  return std::string(name);
}

// One regular file of the archive.
struct Entry {
  std::string digest;  // of its content
  uint64_t size = 0;
  std::string head;     // its first bytes
  std::string data;     // its content, while held in memory
  bool stored = false;  // a blob in the store
};

bool parse_descriptor(const json& j, Descriptor* out) {
  if (!j.is_object() || !j.contains("digest") || !j["digest"].is_string() || !j.contains("size") ||
      !j["size"].is_number_unsigned())
    return false;
  out->digest = j["digest"];
  out->size = j["size"];
  if (j.contains("mediaType") && j["mediaType"].is_string()) out->media_type = j["mediaType"];
  return is_digest(out->digest);
}

std::string annotation(const json& j, std::string_view key) {
  if (!j.contains("annotations") || !j["annotations"].is_object()) return "";
  auto it = j["annotations"].find(key);
  return it != j["annotations"].end() && it->is_string() ? it->get<std::string>() : "";
}

// A layer's media type from its first bytes: docker save writes plain tar,
// other tools gzip or zstd; OCI names no other compression.
bool layer_media_type(std::string_view head, std::string* out) {
  if (head.substr(0, 2) == "\x1f\x8b") *out = kLayerGzip;
  else if (head.substr(0, 4) == "\x28\xb5\x2f\xfd") *out = kLayerZstd;
  else if (head.substr(0, 6) == std::string_view("\xfd" "7zXZ\0", 6) ||
           (head.substr(0, 3) == "BZh" && head.substr(4, 6) == "1AY&SY"))
    return false;
  else *out = kLayerTar;
  return true;
}

class Loader {
 public:
  Loader(Store& store, std::string what) : store_(store), what_(std::move(what)) {}

  bool read(int fd, std::string* err);
  bool load(std::vector<std::string>* loaded, std::string* err);

 private:
  using Refs = std::vector<std::pair<std::string, Descriptor>>;

  bool read_entry(const std::string& name, const ArchiveEntry& e, EntryData& data, std::string* err);
  // Makes the archive's file `name` a blob in the store.
  bool store_entry(const std::string& name, Entry** out, std::string* err);
  std::string head(const Entry& e) const;
  bool load_docker(Refs* refs, std::string* err);
  bool load_oci(Refs* refs, std::string* err);
  // `depth`: how many indexes lead to d.
  bool import(Descriptor* d, const std::string& image, bool manifest, int depth, std::string* err);

  Store& store_;
  std::string what_;
  std::map<std::string, Entry> entries_;
  uint64_t held_ = 0;
  std::string docker_manifest_, index_;
  bool has_docker_manifest_ = false, has_index_ = false;
  // Manifests and indexes imported, with their media types: each is read
  // once however many indexes list it.
  std::map<std::string, std::string> imported_;
};

bool Loader::read(int fd, std::string* err) {
  ArchiveSource source(fd);
  return for_each_entry(source, what_, [&](const ArchiveEntry& e, EntryData& data, std::string* err) {
    return (e.mode & S_IFMT) != S_IFREG || read_entry(clean_name(e.path), e, data, err);
  }, err);
}

bool Loader::read_entry(const std::string& name, const ArchiveEntry& e, EntryData& data, std::string* err) {
  auto fail = [&](const std::string& why) {
    *err = what_ + ": '" + printable(name) + "': " + why;
    return false;
  };
  uint64_t size = e.size > 0 ? uint64_t(e.size) : 0;
  bool top_level = name == "manifest.json" || name == "index.json";
  if (top_level && size > kMaxTopLevel) return fail("too large");
  // A file named by its digest must hold content of that digest.
  std::string expect;
  if (name.compare(0, kBlobPrefix.size(), kBlobPrefix) == 0 && is_digest("sha256:" + name.substr(kBlobPrefix.size())))
    expect = "sha256:" + name.substr(kBlobPrefix.size());
  Entry entry;
  if (!expect.empty() && store_.has_blob(expect, size)) {
    entry.digest = expect;
    entry.size = size;
    entry.stored = true;
    entries_[name] = std::move(entry);
    return true;  // its data is skipped
  }
  bool in_memory = top_level || (size <= kSmallFile && held_ + size <= kMaxHeld);
  IngestWriter writer;
  if (!in_memory && !writer.open(store_, err)) return false;
  uint64_t at = 0;
  for (;;) {
    const void* block;
    size_t n;
    uint64_t offset;
    std::string why;
    if (!data.read(&block, &n, &offset, &why)) return fail(why);
    if (n == 0) break;
    if (offset != at) return fail("sparse files are not image content");
    const char* p = static_cast<const char*>(block);
    if (entry.head.size() < kHead) entry.head.append(p, std::min(n, kHead - entry.head.size()));
    if (in_memory) entry.data.append(p, n);
    else if (!writer.write(p, n, err)) return false;
    at += n;
  }
  if (name == "manifest.json") {
    docker_manifest_ = std::move(entry.data);
    has_docker_manifest_ = true;
    return true;
  }
  if (name == "index.json") {
    index_ = std::move(entry.data);
    has_index_ = true;
    return true;
  }
  if (in_memory) {
    entry.size = entry.data.size();
    entry.digest =
        "sha256:" + to_hex(sha256({reinterpret_cast<const uint8_t*>(entry.data.data()), entry.data.size()}));
    if (!expect.empty() && entry.digest != expect)
      return fail("does not match its digest (got " + entry.digest + ")");
    held_ += entry.size;
  } else {
    entry.size = writer.size();
    std::string why;
    if (!writer.commit(expect, &entry.digest, &why)) return fail(why);
    entry.stored = true;
  }
  entries_[name] = std::move(entry);
  return true;
}

bool Loader::store_entry(const std::string& name, Entry** out, std::string* err) {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    *err = what_ + ": '" + printable(name) + "' is listed but not in the archive";
    return false;
  }
  Entry& e = it->second;
  if (!e.stored) {
    std::string digest;
    if (!store_.put_blob(e.data, &digest, err)) return false;
    e.stored = true;
  }
  *out = &e;
  return true;
}

// A file skipped because the store had it is read back for its first bytes.
std::string Loader::head(const Entry& e) const {
  if (!e.head.empty() || e.size == 0) return e.head;
  std::string h(kHead, '\0');
  int fd = ::open(store_.blob_path(e.digest).c_str(), O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? 0 : ::pread(fd, h.data(), h.size(), 0);
  if (fd >= 0) ::close(fd);
  h.resize(n > 0 ? size_t(n) : 0);
  return h;
}

bool Loader::load_docker(Refs* refs, std::string* err) {
  const std::string where = what_ + ": manifest.json";
  json doc;
  std::string why;
  if (!parse_json(docker_manifest_, &doc, &why) || !doc.is_array()) {
    *err = where + ": " + (why.empty() ? "not a JSON array" : why);
    return false;
  }
  for (size_t i = 0; i < doc.size(); ++i) {
    const json& image = doc[i];
    const std::string at = where + ": image " + std::to_string(i + 1);
    if (!image.is_object() || !image.contains("Config") || !image["Config"].is_string() ||
        !image.contains("Layers") || !image["Layers"].is_array()) {
      *err = at + ": no Config and Layers";
      return false;
    }
    std::vector<std::string> names;
    if (image.contains("RepoTags") && image["RepoTags"].is_array())
      for (const json& t : image["RepoTags"])
        if (t.is_string()) names.push_back(t);
    if (names.empty()) names.push_back("");  // saved by id: kept untagged
    Entry* config;
    std::string body;
    if (!store_entry(clean_name(image["Config"].get<std::string>()), &config, err) ||
        !store_.read_blob(config->digest, &body, err))
      return false;
    json cfg;
    if (!parse_json(body, &cfg, &why) || !cfg.is_object()) {
      *err = at + ": config '" + printable(image["Config"].get<std::string>()) + "': " + (why.empty() ? "not a JSON object" : why);
      return false;
    }
    const json& layer_names = image["Layers"];
    const json* diff_ids = nullptr;
    if (cfg.contains("rootfs") && cfg["rootfs"].is_object() && cfg["rootfs"].contains("diff_ids") &&
        cfg["rootfs"]["diff_ids"].is_array())
      diff_ids = &cfg["rootfs"]["diff_ids"];
    if (diff_ids && diff_ids->size() != layer_names.size()) {
      *err = at + ": its config lists " + std::to_string(diff_ids->size()) + " layers, manifest.json " +
             std::to_string(layer_names.size());
      return false;
    }
    json layers = json::array();
    for (size_t l = 0; l < layer_names.size(); ++l) {
      if (!layer_names[l].is_string()) {
        *err = at + ": layer " + std::to_string(l + 1) + " is not a file name";
        return false;
      }
      std::string name = clean_name(layer_names[l].get<std::string>());
      Entry* layer;
      if (!store_entry(name, &layer, err)) return false;
      std::string type;
      if (!layer_media_type(head(*layer), &type)) {
        *err = what_ + ": '" + printable(name) + "': compressed with neither gzip nor zstd, which OCI layers allow";
        return false;
      }
      // A plain layer's digest is its diff_id: a check that comes free.
      if (type == kLayerTar && diff_ids && (*diff_ids)[l] != layer->digest) {
        *err = what_ + ": '" + printable(name) + "': content does not match its diff_id in the config (got " +
               layer->digest + ")";
        return false;
      }
      layers.push_back({{"mediaType", type}, {"digest", layer->digest}, {"size", layer->size}});
    }
    json manifest = {
        {"schemaVersion", 2},
        {"mediaType", std::string(media::kOciManifest)},
        {"config", {{"mediaType", std::string(media::kOciConfig)}, {"digest", config->digest}, {"size", config->size}}},
        {"layers", std::move(layers)},
    };
    std::string text = manifest.dump(3) + "\n";
    Descriptor desc;
    desc.media_type = media::kOciManifest;
    desc.size = text.size();
    if (!store_.put_blob(text, &desc.digest, err)) return false;
    for (const std::string& name : names) {
      Reference ref;
      if (name.empty()) {
        refs->push_back({"", desc});
        continue;
      }
      if (!parse_reference(name, &ref, err)) {
        *err = at + ": " + *err;
        return false;
      }
      refs->push_back({ref.store_name(), desc});
    }
  }
  return true;
}

bool Loader::load_oci(Refs* refs, std::string* err) {
  const std::string where = what_ + ": index.json";
  json doc;
  std::string why;
  if (!parse_json(index_, &doc, &why)) {
    *err = where + ": " + why;
    return false;
  }
  if (!doc.is_object() || !doc.contains("manifests") || !doc["manifests"].is_array()) {
    *err = where + ": no manifests array";
    return false;
  }
  for (size_t i = 0; i < doc["manifests"].size(); ++i) {
    const json& m = doc["manifests"][i];
    Descriptor d;
    if (!parse_descriptor(m, &d)) {
      *err = where + ": entry " + std::to_string(i + 1) + " has no sha256 digest and size";
      return false;
    }
    std::string name = annotation(m, kImageNameAnnotation);
    if (name.empty()) name = annotation(m, kRefNameAnnotation);
    // Without a name (saved by id) it is kept untagged.
    if (!import(&d, name.empty() ? d.digest : name, true, 0, err)) return false;
    // A full reference is recorded as pull would; a bare tag ("v1", as
    // skopeo and umoci write) as it is.
    Reference ref;
    std::string ignored;
    bool full = name.find_first_of(":/@") != std::string::npos && parse_reference(name, &ref, &ignored);
    refs->push_back({full ? ref.store_name() : name, d});
  }
  return true;
}

// Puts blob `d` in the store (it may be there already) and, for a manifest
// or index, what it reaches; fills a manifest's media type when its
// descriptor has none.
bool Loader::import(Descriptor* d, const std::string& image, bool manifest, int depth, std::string* err) {
  std::string name = std::string(kBlobPrefix) + d->digest.substr(7);
  if (entries_.count(name)) {
    Entry* e;
    if (!store_entry(name, &e, err)) return false;
    if (e->size != d->size) {
      *err = what_ + ": " + printable(image) + ": blob " + d->digest + " has " + std::to_string(e->size) +
             " bytes, its descriptor says " + std::to_string(d->size);
      return false;
    }
  } else if (!store_.has_blob(d->digest, d->size)) {
    *err = what_ + ": " + printable(image) + ": blob " + d->digest + " is listed but not in the archive";
    return false;
  }
  if (!manifest) return true;
  if (auto it = imported_.find(d->digest); it != imported_.end()) {
    d->media_type = it->second;
    return true;
  }
  std::string body, type;
  bool is_index;
  if (!store_.read_blob(d->digest, &body, err) || !classify_manifest(d->media_type, body, image, &type, &is_index, err))
    return false;
  d->media_type = type;
  imported_[d->digest] = type;
  if (!is_index) {
    ImageManifest m;
    if (!parse_manifest(body, image, &m, err) || !import(&m.config, image, false, depth, err)) return false;
    for (Descriptor& l : m.layers)
      if (!import(&l, image, false, depth, err)) return false;
    return true;
  }
  if (depth == kMaxIndexNesting) {
    *err = what_ + ": " + printable(image) + ": indexes nested more than " + std::to_string(kMaxIndexNesting) + " deep";
    return false;
  }
  json doc;
  std::string why;
  if (!parse_json(body, &doc, &why)) {
    *err = what_ + ": " + printable(image) + ": malformed index: " + why;
    return false;
  }
  if (!doc.contains("manifests") || !doc["manifests"].is_array()) {
    *err = what_ + ": " + printable(image) + ": malformed index: no manifests array";
    return false;
  }
  for (const json& m : doc["manifests"]) {
    Descriptor child;
    if (!parse_descriptor(m, &child)) {
      *err = what_ + ": " + printable(image) + ": malformed index: an entry has no sha256 digest and size";
      return false;
    }
    // An index may name platforms the archive leaves out, as the index of a
    // pulled image does; those present must be complete.
    if (!entries_.count(std::string(kBlobPrefix) + child.digest.substr(7)) && !store_.has_blob(child.digest, child.size))
      continue;
    if (!import(&child, image, true, depth + 1, err)) return false;
  }
  return true;
}

bool Loader::load(std::vector<std::string>* loaded, std::string* err) {
  Refs refs;
  if (has_index_) {
    if (!load_oci(&refs, err)) return false;
  } else if (has_docker_manifest_) {
    if (!load_docker(&refs, err)) return false;
  } else {
    *err = what_ + ": neither manifest.json (docker save) nor index.json (OCI image archive) in it";
    return false;
  }
  for (const auto& [name, desc] : refs) {
    if (!name.empty()) {
      if (!store_.set_ref(name, desc, err)) return false;
      loaded->push_back(name);
      continue;
    }
    StoredImage image;
    std::string matched;
    Error found;
    if (!store_.add_untagged(desc, err)) return false;
    if (!find_image(store_, desc.digest, &image, &matched, &found)) return *err = found.message, false;
    loaded->push_back(image.id);
  }
  return true;
}

}  // namespace

bool load_archive(Store& store, int fd, const std::string& what, std::vector<std::string>* loaded,
                  std::string* err) {
  // Blobs being written are not yet referenced: keep garbage collection out.
  FileLock writes;
  if (!store.lock_writes(&writes, err)) return false;
  Loader loader(store, what);
  return loader.read(fd, err) && loader.load(loaded, err);
}

}  // namespace ctk::oci

#include "oci/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <set>

#include "base/error.h"
#include "oci/json.h"
#include "oci/reference.h"
#include "oci/rootfs_cache.h"

namespace ctk::oci {

namespace {

using nlohmann::json;

constexpr size_t kWriteBuffer = 1 << 20;
constexpr uint64_t kMaxMetadataBlob = 16 << 20;  // manifests and configs are small

const char kEmptyIndex[] =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[]}\n";

std::string digest_hex(std::string_view digest) { return std::string(digest.substr(7)); }

bool parse_object(const std::string& text, const std::string& what, json* out, std::string* err) {
  std::string why;
  if (!parse_json(text, out, &why) || !out->is_object()) {
    *err = what + ": " + (why.empty() ? "not a JSON object" : why);
    return false;
  }
  return true;
}

Descriptor to_descriptor(const json& j) {
  Descriptor d;
  if (j.contains("mediaType") && j["mediaType"].is_string()) d.media_type = j["mediaType"];
  if (j.contains("digest") && j["digest"].is_string()) d.digest = j["digest"];
  if (j.contains("size") && j["size"].is_number_unsigned()) d.size = j["size"];
  if (j.contains("annotations") && j["annotations"].is_object()) {
    auto it = j["annotations"].find(kRefNameAnnotation);
    if (it != j["annotations"].end() && it->is_string()) d.ref_name = *it;
    it = j["annotations"].find(kSourceDigestAnnotation);
    if (it != j["annotations"].end() && it->is_string()) d.source_digest = *it;
  }
  return d;
}

}  // namespace

std::string Store::default_root() {
  if (const char* root = std::getenv("CTK_ROOT"); root && *root) return root;
#ifdef __APPLE__
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/Library/Application Support/ctk";
#endif
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return std::string(xdg) + "/ctk";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "") + "/.local/share/ctk";
}

bool Store::open(const std::string& root, std::string* err) {
  root_ = root;
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  if (!make_dirs(root_ + "/blobs/sha256", 0755, err) || !make_dirs(root_ + "/ingest", 0755, err)) return false;
  struct stat st;
  if (::stat((root_ + "/oci-layout").c_str(), &st) != 0 &&
      !write_file_atomic(root_ + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}\n", 0644, err))
    return false;
  if (::stat((root_ + "/index.json").c_str(), &st) != 0) {
    FileLock lock;
    if (!lock.lock(root_ + "/index.lock", true, err)) return false;
    if (::stat((root_ + "/index.json").c_str(), &st) != 0 &&
        !write_file_atomic(root_ + "/index.json", kEmptyIndex, 0644, err))
      return false;
  }
  return true;
}

std::string Store::blob_path(std::string_view digest) const {
  return root_ + "/blobs/sha256/" + digest_hex(digest);
}

bool Store::has_blob(std::string_view digest, uint64_t size) const {
  struct stat st;
  return ::stat(blob_path(digest).c_str(), &st) == 0 && uint64_t(st.st_size) == size;
}

bool Store::read_blob(std::string_view digest, std::string* out, std::string* err) const {
  if (!is_digest(digest)) {
    *err = "invalid digest '" + std::string(digest) + "'";
    return false;
  }
  std::string path = blob_path(digest);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && uint64_t(st.st_size) > kMaxMetadataBlob) {
    *err = path + ": too large for a manifest or config";
    return false;
  }
  if (!read_file(path, out, nullptr, err)) return false;
  Digest d = sha256({reinterpret_cast<const uint8_t*>(out->data()), out->size()});
  if ("sha256:" + to_hex(d) != digest) {
    *err = path + ": content does not match its digest";
    return false;
  }
  return true;
}

bool Store::put_blob(const std::string& data, std::string* digest, std::string* err) {
  *digest = "sha256:" + to_hex(sha256({reinterpret_cast<const uint8_t*>(data.data()), data.size()}));
  if (has_blob(*digest, data.size())) return true;
  BlobWriter w;
  if (!w.open(*this, *digest, data.size(), err)) return false;
  if (w.done()) return true;
  return w.restart(err) && w.write(data.data(), data.size(), err) && w.commit(err);
}

bool Store::read_index(std::string* text, std::string* err) const {
  return read_file(root_ + "/index.json", text, nullptr, err);
}

bool Store::list(std::vector<Descriptor>* out, std::string* err) const {
  out->clear();
  std::string text;
  json index;
  if (!read_index(&text, err) || !parse_object(text, root_ + "/index.json", &index, err)) return false;
  if (!index.contains("manifests") || !index["manifests"].is_array()) return true;
  for (const json& m : index["manifests"]) {
    Descriptor d = to_descriptor(m);
    if (is_digest(d.digest)) out->push_back(std::move(d));
  }
  return true;
}

bool Store::edit_index(const std::function<bool(json* manifests)>& edit, std::string* err) {
  FileLock lock;
  if (!lock.lock(root_ + "/index.lock", true, err)) return false;
  std::string text;
  json index;
  if (!read_index(&text, err) || !parse_object(text, root_ + "/index.json", &index, err)) return false;
  if (!index.contains("manifests") || !index["manifests"].is_array()) index["manifests"] = json::array();
  if (!edit(&index["manifests"])) return true;
  return write_file_atomic(root_ + "/index.json", index.dump() + "\n", 0644, err);
}

namespace {

// An index.json entry for desc, named ref_name ("": untagged).
json index_entry(const Descriptor& desc, const std::string& ref_name) {
  json annotations = json::object();
  if (!ref_name.empty()) annotations[std::string(kRefNameAnnotation)] = ref_name;
  if (!desc.source_digest.empty()) annotations[std::string(kSourceDigestAnnotation)] = desc.source_digest;
  json entry = {{"mediaType", desc.media_type}, {"digest", desc.digest}, {"size", desc.size}};
  if (!annotations.empty()) entry["annotations"] = std::move(annotations);
  return entry;
}

// Drops the entries pick selects; whether any was.
bool drop_entries(json* manifests, const std::function<bool(const Descriptor&)>& pick) {
  size_t before = manifests->size();
  json kept = json::array();
  for (json& m : *manifests)
    if (!pick(to_descriptor(m))) kept.push_back(std::move(m));
  *manifests = std::move(kept);
  return manifests->size() != before;
}

}  // namespace

bool Store::set_ref(const std::string& ref_name, const Descriptor& desc, std::string* err) {
  return edit_index([&](json* manifests) {
    // The name moves here; an untagged entry of this manifest is now named.
    drop_entries(manifests, [&](const Descriptor& d) {
      return d.ref_name == ref_name || (d.ref_name.empty() && d.digest == desc.digest);
    });
    manifests->push_back(index_entry(desc, ref_name));
    return true;
  }, err);
}

bool Store::add_untagged(const Descriptor& desc, std::string* err) {
  return edit_index([&](json* manifests) {
    for (const json& m : *manifests)
      if (to_descriptor(m).digest == desc.digest) return false;
    manifests->push_back(index_entry(desc, ""));
    return true;
  }, err);
}

bool Store::remove_ref(const std::string& ref_name, bool* found, std::string* err) {
  *found = false;
  if (ref_name.empty()) return true;
  return edit_index([&](json* manifests) {
    return *found = drop_entries(manifests, [&](const Descriptor& d) { return d.ref_name == ref_name; });
  }, err);
}

bool Store::remove_untagged(const std::string& digest, std::string* err) {
  return edit_index([&](json* manifests) {
    return drop_entries(manifests, [&](const Descriptor& d) { return d.ref_name.empty() && d.digest == digest; });
  }, err);
}

bool Store::resolve(std::string_view name, Descriptor* out, std::string* err) const {
  std::vector<Descriptor> entries;
  if (!list(&entries, err)) return false;
  // Exact stored names first (also covers names that do not parse).
  for (const Descriptor& d : entries)
    if (d.ref_name == name) return *out = d, true;
  std::string_view hex = name.substr(0, 7) == "sha256:" ? name.substr(7) : name;
  bool all_hex = hex.size() >= 4 && std::all_of(hex.begin(), hex.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  Reference ref;
  std::string parse_err;
  if (parse_reference(name, &ref, &parse_err)) {
    for (const Descriptor& d : entries) {
      if (d.ref_name == ref.str()) return *out = d, true;
      // name@digest: any entry of that name with that digest.
      if (!ref.digest.empty() && (d.digest == ref.digest || d.source_digest == ref.digest)) {
        Reference stored;
        std::string ignored;
        if (parse_reference(d.ref_name, &stored, &ignored) && stored.name() == ref.name()) return *out = d, true;
      }
    }
  }
  if (all_hex) {
    const Descriptor* match = nullptr;
    for (const Descriptor& d : entries) {
      if (d.digest.compare(7, hex.size(), hex) != 0) continue;
      if (match && match->digest != d.digest) {
        *err = "digest prefix '" + std::string(name) + "' matches more than one image";
        return false;
      }
      match = &d;
    }
    if (match) return *out = *match, true;
  }
  if (!all_hex && !parse_err.empty()) {
    *err = parse_err;
    return false;
  }
  *err = "no image '" + std::string(name) + "' in the store " + root_;
  return false;
}

bool Store::lock_writes(FileLock* lock, std::string* err) const {
  return lock->lock(root_ + "/gc.lock", false, err);
}

bool Store::reachable(const Descriptor& desc, std::vector<std::string>* digests, std::string* err) const {
  digests->push_back(desc.digest);
  bool is_index = desc.media_type == media::kOciIndex || desc.media_type == media::kDockerList;
  bool is_manifest = desc.media_type == media::kOciManifest || desc.media_type == media::kDockerManifest;
  if (!is_index && !is_manifest) return true;
  std::string text;
  json doc;
  // A manifest that is missing (an index entry whose children were never
  // pulled) reaches nothing more.
  if (!has_blob(desc.digest, desc.size)) return true;
  if (!read_blob(desc.digest, &text, err) || !parse_object(text, desc.digest, &doc, err)) return false;
  if (is_index) {
    if (doc.contains("manifests") && doc["manifests"].is_array())
      for (const json& m : doc["manifests"])
        if (!reachable(to_descriptor(m), digests, err)) return false;
    return true;
  }
  if (doc.contains("config") && doc["config"].is_object()) digests->push_back(to_descriptor(doc["config"]).digest);
  if (doc.contains("layers") && doc["layers"].is_array())
    for (const json& l : doc["layers"]) digests->push_back(to_descriptor(l).digest);
  return true;
}

bool Store::collect_garbage(uint64_t* blobs, uint64_t* bytes, std::string* err) {
  *blobs = *bytes = 0;
  FileLock gc;
  if (!gc.lock(root_ + "/gc.lock", true, err)) return false;
  FileLock index;
  if (!index.lock(root_ + "/index.lock", true, err)) return false;
  std::vector<Descriptor> entries;
  if (!list(&entries, err)) return false;
  std::vector<std::string> live_list;
  for (const Descriptor& d : entries)
    if (!reachable(d, &live_list, err)) return false;
  std::set<std::string> live;
  for (const std::string& d : live_list)
    if (is_digest(d)) live.insert(d.substr(7));
  std::string dir = root_ + "/blobs/sha256";
  DIR* dp = ::opendir(dir.c_str());
  if (!dp) {
    *err = sys_error(dir);
    return false;
  }
  std::vector<std::string> dead;
  while (dirent* e = ::readdir(dp)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || live.count(name)) continue;
    dead.push_back(name);
  }
  ::closedir(dp);
  for (const std::string& name : dead) {
    std::string path = dir + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (::unlink(path.c_str()) != 0) {
      *err = sys_error(path);
      return false;
    }
    ++*blobs;
    *bytes += uint64_t(st.st_size);
  }
  rootfs_cache_prune(root_, live);
  return true;
}

BlobWriter::~BlobWriter() {
  if (fd_ >= 0) ::close(fd_);  // the partial file stays for a later resume
}

bool BlobWriter::open(Store& store, const std::string& digest, uint64_t size, std::string* err) {
  if (!is_digest(digest)) {
    *err = "invalid digest '" + digest + "'";
    return false;
  }
  digest_ = digest;
  size_ = size;
  final_ = store.blob_path(digest);
  blob_dir_ = store.root() + "/blobs/sha256";
  partial_ = store.root() + "/ingest/" + digest_hex(digest);
  hash_.emplace();
  fd_ = ::open(partial_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    *err = sys_error(partial_);
    return false;
  }
  // The lock on the partial file itself serializes writers of one blob
  // across processes and threads (each open has its own lock).
  int rc;
  do rc = ::flock(fd_, LOCK_EX);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    *err = sys_error("lock " + partial_);
    return false;
  }
  if (store.has_blob(digest, size)) {
    ::unlink(partial_.c_str());
    done_ = true;
    return true;
  }
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    *err = sys_error(partial_);
    return false;
  }
  if (uint64_t(st.st_size) > size) return restart(err);
  // Resuming: hash what is already there.
  std::string chunk(kWriteBuffer, '\0');
  uint64_t left = uint64_t(st.st_size);
  while (left > 0) {
    ssize_t n = ::pread(fd_, chunk.data(), size_t(std::min<uint64_t>(left, chunk.size())), off_t(offset_));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return restart(err);
    }
    hash_->update(chunk.data(), size_t(n));
    offset_ += uint64_t(n);
    left -= uint64_t(n);
  }
  return true;
}

bool BlobWriter::restart(std::string* err) {
  buf_.clear();
  offset_ = 0;
  hash_.emplace();
  if (::ftruncate(fd_, 0) != 0) {
    *err = sys_error(partial_);
    return false;
  }
  return true;
}

bool BlobWriter::flush(std::string* err) {
  if (buf_.empty()) return true;
  uint64_t at = offset_ - buf_.size();
  const char* p = buf_.data();
  size_t left = buf_.size();
  while (left > 0) {
    ssize_t n = ::pwrite(fd_, p, left, off_t(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = sys_error(partial_);
      return false;
    }
    p += n;
    at += uint64_t(n);
    left -= size_t(n);
  }
  buf_.clear();
  return true;
}

bool BlobWriter::write(const char* data, size_t size, std::string* err) {
  if (offset_ + size > size_) {
    ::unlink(partial_.c_str());
    *err = "blob " + digest_ + " is larger than its " + std::to_string(size_) + " bytes; discarded";
    return false;
  }
  hash_->update(data, size);
  offset_ += size;
  buf_.append(data, size);
  return buf_.size() < kWriteBuffer || flush(err);
}

bool BlobWriter::commit(std::string* err) {
  if (!flush(err)) return false;
  if (offset_ != size_) {
    *err = "blob " + digest_ + " has " + std::to_string(offset_) + " of " + std::to_string(size_) + " bytes";
    return false;
  }
  std::string got = "sha256:" + to_hex(hash_->finish());
  if (got != digest_) {
    ::unlink(partial_.c_str());
    *err = "blob " + digest_ + " does not match its digest (got " + got + "); discarded";
    return false;
  }
  if (::fsync(fd_) != 0) {
    *err = sys_error(partial_);
    return false;
  }
  if (::rename(partial_.c_str(), final_.c_str()) != 0) {
    *err = sys_error("rename to " + final_);
    return false;
  }
  done_ = true;
  return fsync_dir(blob_dir_, err);
}

IngestWriter::~IngestWriter() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(temp_.c_str());
}

bool IngestWriter::open(Store& store, std::string* err) {
  blob_dir_ = store.root() + "/blobs/sha256";
  // "load-" keeps these apart from BlobWriter's partial files, named by digest.
  temp_ = store.root() + "/ingest/load-XXXXXX";
  fd_ = ::mkostemp(temp_.data(), O_CLOEXEC);
  if (fd_ < 0) {
    *err = sys_error(temp_);
    return false;
  }
  if (::fchmod(fd_, 0644) != 0) {
    *err = sys_error(temp_);
    return false;
  }
  return true;
}

bool IngestWriter::flush(std::string* err) {
  if (!write_all(fd_, buf_.data(), buf_.size(), temp_, err)) return false;
  buf_.clear();
  return true;
}

bool IngestWriter::write(const char* data, size_t size, std::string* err) {
  hash_.update(data, size);
  size_ += size;
  buf_.append(data, size);
  return buf_.size() < kWriteBuffer || flush(err);
}

bool IngestWriter::commit(std::string_view expect, std::string* digest, std::string* err) {
  if (!flush(err)) return false;
  *digest = "sha256:" + to_hex(hash_.finish());
  if (!expect.empty() && *digest != expect) {
    *err = "blob " + std::string(expect) + " does not match its digest (got " + *digest + "); discarded";
    return false;
  }
  if (::fsync(fd_) != 0) {
    *err = sys_error(temp_);
    return false;
  }
  std::string final_path = blob_dir_ + "/" + digest_hex(*digest);
  if (::rename(temp_.c_str(), final_path.c_str()) != 0) {
    *err = sys_error("rename to " + final_path);
    return false;
  }
  ::close(fd_);
  fd_ = -1;
  return fsync_dir(blob_dir_, err);
}

}  // namespace ctk::oci

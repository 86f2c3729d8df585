// The image store: an OCI image layout (oci-layout, index.json, blobs/sha256/)
// in ctk's data directory, so skopeo (`oci:DIR:REF`) and umoci read it. Each
// image is one index.json entry whose org.opencontainers.image.ref.name is
// the full reference ("docker.io/library/alpine:latest"); layers shared by
// images are stored once.
//
// Crash safety: a blob appears in blobs/ only complete and verified (written
// under ingest/, fsynced, renamed); index.json is replaced atomically. Locks:
// index.lock (exclusive) around every index read-modify-write; gc.lock, held
// shared by every pull or load for its whole run, by every root filesystem
// build from store blobs, and exclusively by garbage collection, so a
// collection never deletes the blobs of an image still being written or
// read. An interrupted download stays in ingest/ and is resumed.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/sha256.h"
#include "oci/fsutil.h"

namespace ctk::oci {

namespace media {
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
}  // namespace media

inline constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";

struct Descriptor {
  std::string media_type;
  std::string digest;
  uint64_t size = 0;
  std::string ref_name;  // the index.json annotation, for store entries
  // For an image converted from a Docker manifest: the registry's manifest
  // digest (annotation io.ctk.source.digest), so pulls by digest still match.
  std::string source_digest;
};

inline constexpr std::string_view kSourceDigestAnnotation = "io.ctk.source.digest";

class BlobWriter;
class IngestWriter;

class Store {
 public:
  // $CTK_ROOT, else $XDG_DATA_HOME/ctk, else ~/.local/share/ctk
  // (~/Library/Application Support/ctk on macOS).
  static std::string default_root();

  // Opens the store at root, creating the layout when missing.
  bool open(const std::string& root, std::string* err);
  const std::string& root() const { return root_; }

  std::string blob_path(std::string_view digest) const;
  bool has_blob(std::string_view digest, uint64_t size) const;
  // Reads a blob (manifests, configs) and checks it against its digest.
  bool read_blob(std::string_view digest, std::string* out, std::string* err) const;
  // Stores small content (a manifest, a config) under its digest.
  bool put_blob(const std::string& data, std::string* digest, std::string* err);

  // The index.json entries; an untagged image's has no ref_name.
  bool list(std::vector<Descriptor>* out, std::string* err) const;
  // Points ref_name at desc, replacing an entry of that name (and desc's
  // untagged entry: it is named now).
  bool set_ref(const std::string& ref_name, const Descriptor& desc, std::string* err);
  bool remove_ref(const std::string& ref_name, bool* found, std::string* err);
  // An image kept without a name (docker's <none>, e.g. loaded from an
  // archive saved by id): an entry without ref name, unless an entry, named
  // or not, has desc's digest already.
  bool add_untagged(const Descriptor& desc, std::string* err);
  bool remove_untagged(const std::string& digest, std::string* err);
  // An image by reference as the user typed it ("alpine", "host:5000/a:v1"),
  // by full digest, or by a unique digest prefix of at least 4 hex digits.
  bool resolve(std::string_view name, Descriptor* out, std::string* err) const;

  // Held shared while writing blobs that no index entry references yet, and
  // while reading an image's blobs (building its root filesystem).
  bool lock_writes(FileLock* lock, std::string* err) const;
  // Deletes every blob no index entry reaches, and the root filesystem cache
  // entries no one can use (rootfs_cache.h); returns the count and bytes of blobs.
  bool collect_garbage(uint64_t* blobs, uint64_t* bytes, std::string* err);

  // The blobs an image manifest or index reaches (itself included).
  bool reachable(const Descriptor& desc, std::vector<std::string>* digests, std::string* err) const;

 private:
  friend class BlobWriter;
  friend class IngestWriter;
  bool read_index(std::string* text, std::string* err) const;
  // Rewrites index.json under index.lock: edit changes its manifests array
  // and says whether it changed anything (else nothing is written).
  bool edit_index(const std::function<bool(nlohmann::json* manifests)>& edit, std::string* err);

  std::string root_;
};

// Writes one blob of known digest and size as it streams in, hashing on the
// way, resuming what an earlier interrupted run left in ingest/.
class BlobWriter {
 public:
  BlobWriter() = default;
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  // Waits for any other process writing the same blob. Afterwards either
  // done() (the blob is in the store) or offset() bytes are already there.
  bool open(Store& store, const std::string& digest, uint64_t size, std::string* err);
  bool done() const { return done_; }
  uint64_t offset() const { return offset_; }
  bool write(const char* data, size_t size, std::string* err);
  // Drops what was written (the server ignored a Range request).
  bool restart(std::string* err);
  // Checks size and digest and moves the blob into place; a mismatch deletes it.
  bool commit(std::string* err);

 private:
  bool flush(std::string* err);

  std::string digest_;
  uint64_t size_ = 0;
  std::string partial_;
  std::string final_;
  std::string blob_dir_;
  int fd_ = -1;
  uint64_t offset_ = 0;
  bool done_ = false;
  std::optional<Sha256> hash_;
  std::string buf_;
};

// Writes a blob whose digest is known only at its end (a layer file of a
// docker-save archive): hashed as it streams into a temporary file under
// ingest/, then renamed into blobs/ under the digest it turned out to have.
// A writer destroyed before commit() deletes its file.
class IngestWriter {
 public:
  IngestWriter() = default;
  ~IngestWriter();
  IngestWriter(const IngestWriter&) = delete;
  IngestWriter& operator=(const IngestWriter&) = delete;

  bool open(Store& store, std::string* err);
  bool write(const char* data, size_t size, std::string* err);
  uint64_t size() const { return size_; }
  // Moves the blob into blobs/ and fills its digest. With `expect` set, a
  // blob of another digest is deleted instead, and that is the error.
  bool commit(std::string_view expect, std::string* digest, std::string* err);

 private:
  bool flush(std::string* err);

  std::string temp_;
  std::string blob_dir_;
  int fd_ = -1;
  uint64_t size_ = 0;
  Sha256 hash_;
  std::string buf_;
};

}  // namespace ctk::oci

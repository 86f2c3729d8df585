// Docker's view of the image store. The store names manifests (index.json
// entries, one per reference); docker names images by their config's digest
// (the image id, "sha256:..."), each with all the references that point at
// it. Both the image applets and the Docker API (`ctk serve`) list, find and
// remove images through here, so `ctk rmi` and `docker rmi` obey one rule.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "oci/image.h"
#include "oci/store.h"

namespace ctk::oci {

struct StoredImage {
  std::string id;                   // "sha256:<config hex>", docker's image id
  std::vector<Descriptor> entries;  // the index.json entries naming it, in index order
  ImageManifest manifest;           // the first entry's (the host platform's, for an index)
  nlohmann::json config;            // the config blob (an object)
  uint64_t size = 0;                // config and layers as stored (compressed)
  int64_t created = 0;              // the config's "created", Unix seconds; 0 when absent or malformed
  std::string created_text;         // as the config has it (RFC 3339), "" when absent
};

// Every image in the store, in the order of their first entries. An entry
// whose manifest or config cannot be read is left out: one broken image must
// not hide the others.
bool list_images(const Store& store, std::vector<StoredImage>* out, std::string* err);

// An image as docker finds one: by image id (full, or a unique prefix of at
// least 4 hex digits, with or without "sha256:"), else as Store::resolve
// does (a reference, name@digest, a manifest digest prefix). *matched_ref is
// the entry's name when found by reference, "" when by id. Errors:
// not_found "No such image: NAME"; invalid for a malformed reference or an
// ambiguous prefix.
bool find_image(const Store& store, std::string_view name, StoredImage* out, std::string* matched_ref, Error* err);

// A stored name as docker shows it: docker.io/library/busybox:latest is
// busybox:latest, docker.io/me/app:v1 is me/app:v1; others stay as they are.
std::string familiar_name(std::string_view ref_name);
// The familiar name's repository without tag or digest ("busybox").
std::string familiar_repository(std::string_view ref_name);
// docker's RepoTags (familiar name:tag) and RepoDigests (familiar
// repository@manifest digest, the registry's where the store kept it).
std::vector<std::string> repo_tags(const StoredImage& image);
std::vector<std::string> repo_digests(const StoredImage& image);

// RFC 3339 ("2024-05-01T12:00:00.5Z", "...+02:00") as Unix seconds.
bool parse_rfc3339(std::string_view text, int64_t* seconds);

// docker tag: `target` (a reference without digest; no tag is "latest")
// names the image `source` finds as find_image does: the entry it named,
// or the image's first entry when named by id. invalid: a malformed target.
bool tag_image(Store& store, std::string_view source, std::string_view target, Error* err);

struct RemoveOptions {
  bool force = false;
  // The containers (ids) made from an image (by id): its last name is not
  // removed while one exists, unless forced, because collecting its blobs
  // would take the container's root filesystem with them.
  std::function<std::vector<std::string>(const std::string& image_id)> users;
};

struct Removed {
  std::vector<std::string> untagged;  // familiar names
  std::vector<std::string> deleted;   // image ids
  uint64_t blobs = 0, bytes = 0;      // what garbage collection freed
};

// docker rmi's rule. A reference that is one of several names of its image
// only loses that name; the last name, or an image named by id, goes with
// its blobs. Refused (conflict) without force: an id naming an image with
// several names, an image a container was made from.
bool remove_image(Store& store, std::string_view name, const RemoveOptions& options, Removed* out, Error* err);

}  // namespace ctk::oci

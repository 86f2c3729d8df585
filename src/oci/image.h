// Image manifests and indexes (OCI and Docker schema 2; the two differ only
// in media types): parsing with one-line errors for malformed documents,
// platform selection from an index, and reading an image back from the store.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "oci/store.h"

namespace ctk::oci {

struct Platform {
  std::string os;
  std::string arch;
  std::string variant;  // may be empty
  std::string str() const { return os + "/" + arch + (variant.empty() ? "" : "/" + variant); }
};

// "linux/arm64", "linux/arm/v7".
bool parse_platform(std::string_view text, Platform* out, std::string* err);
// This machine's, in OCI's names (amd64, arm64, ...).
Platform host_platform();

struct ImageManifest {
  Descriptor config;
  std::vector<Descriptor> layers;  // lowest first
  std::string digest;  // the manifest's own, filled by load_image (of an index: the platform's manifest)
};

// Decides whether a fetched document is an index or an image manifest, from
// the Content-Type or else the document's own mediaType; fills the media
// type to record. Schema 1 and unknown types are errors naming `what`.
bool classify_manifest(std::string_view content_type, const std::string& body, const std::string& what,
                       std::string* media_type, bool* is_index, std::string* err);
bool parse_manifest(const std::string& body, const std::string& what, ImageManifest* out, std::string* err);
// The entry of an index for `want`; err lists the index's platforms when none matches.
bool select_platform(const std::string& body, const std::string& what, const Platform& want, Descriptor* out,
                     std::string* err);

// A Docker schema 2 manifest as the equivalent OCI manifest (media types
// mapped, as skopeo does), which skopeo and umoci require in an OCI layout.
bool docker_to_oci_manifest(const std::string& body, const std::string& what, std::string* out, std::string* err);

// An image in the store: its manifest (an index entry resolves to `platform`,
// or the host's).
bool load_image(const Store& store, const Descriptor& image, const Platform& platform, ImageManifest* out,
                std::string* err);
bool load_image(const Store& store, const Descriptor& image, ImageManifest* out, std::string* err);

// The layer blobs of the image `name` (as for Store::resolve; the host's
// platform of an index), lowest first, and the manifest's digest.
bool image_layers(const Store& store, std::string_view name, std::vector<std::string>* paths,
                  std::string* manifest_digest, std::string* err);

}  // namespace ctk::oci

// Image references as docker writes them: `alpine` is
// docker.io/library/alpine:latest, `host:port/ns/name:tag@sha256:...` names a
// registry explicitly. The first path component is a registry when it has a
// dot or a colon or is "localhost".
#pragma once

#include <string>
#include <string_view>

namespace ctk::oci {

inline constexpr std::string_view kDockerHub = "docker.io";

struct Reference {
  std::string registry;    // "docker.io", "localhost:5000"
  std::string repository;  // "library/alpine"
  std::string tag;         // "latest" when neither tag nor digest was given; may be empty
  std::string digest;      // "sha256:<64 hex>" or empty

  // The host (and port) the registry API answers on: Docker Hub's is
  // registry-1.docker.io.
  std::string api_host() const;
  // "docker.io/library/alpine"
  std::string name() const { return registry + "/" + repository; }
  // What the manifest is fetched by: the digest when given, else the tag.
  const std::string& target() const { return digest.empty() ? tag : digest; }
  // The canonical full form: name, ":tag" when set, "@digest" when set.
  std::string str() const;
  // The name the image store records: name:tag, or name@digest when no tag
  // was given.
  std::string store_name() const { return tag.empty() ? name() + "@" + digest : name() + ":" + tag; }
};

// Fills `out`; on a malformed reference fills err with one line naming it and
// what is wrong.
bool parse_reference(std::string_view text, Reference* out, std::string* err);

// The registry a login names: "localhost:5000", "docker.io", an image
// reference's registry, or a server address as docker's clients send one
// ("https://index.docker.io/v1/", "https://host:5000"): Docker Hub's
// aliases are docker.io.
bool parse_registry(std::string_view text, std::string* out, std::string* err);

// "sha256:" and 64 lowercase hex digits.
bool is_digest(std::string_view s);

}  // namespace ctk::oci

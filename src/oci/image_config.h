// An image config blob (OCI image-spec config, the same in Docker's images):
// the fields ctk uses, each checked for its type. The blob is untrusted input
// like every manifest: a field of the wrong type is a one-line error naming
// it, never an exception.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ctk::oci {

struct ImageConfig {              // an image config blob's fields ctk uses
  std::string os, architecture;
  std::vector<std::string> entrypoint, cmd, env;   // Config.Entrypoint/Cmd/Env (null = empty)
  std::string working_dir, user, stop_signal;      // Config.WorkingDir/User/StopSignal
  std::vector<std::string> exposed_ports;          // keys of Config.ExposedPorts, e.g. "80/tcp"
  std::vector<std::string> volumes;                // keys of Config.Volumes
  std::map<std::string, std::string> labels;       // Config.Labels
  // Not a field: the blob's own digest (docker's image id), filled by
  // whoever read the blob from the store (image_rootfs), not by the parser.
  std::string digest;
};

// Parses an image config blob; a field of the wrong type is an error naming it,
// e.g. "image config: Config.WorkingDir: expected a string, got a number".
// A field that is missing or null is empty; fields ctk does not use are not looked at.
bool parse_image_config(std::string_view text, ImageConfig* out, std::string* err);

}  // namespace ctk::oci

// A container's mounts besides its root: bind mounts of host paths, named
// and anonymous volumes, tmpfs. Parsed from docker's three spellings (-v,
// --mount, --tmpfs), kept in the container's config, and turned at each
// start into what the VM shares (vz::Share) and what the guest mounts where.
//
// In the guest each shared host directory is mounted once under
// /run/ctk/shares/N, and the container's mounts are bind mounts from there:
// a single bound file is its directory's share with only the file bound into
// the container. Paths resolve in the guest: a symlink in a share that points
// to /etc leads to the container's /etc, never the host's.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "proto/client.h"
#include "vz/vm.h"

namespace ctk::container {

struct MountPoint {
  std::string type;         // "bind", "volume" or "tmpfs"
  std::string source;       // bind: an absolute host path; volume: its name ("" until create names an anonymous one)
  std::string destination;  // absolute, in the container
  bool anonymous = false;      // volume: made for this container (-v DST, an image's VOLUME)
  bool read_only = false;
  bool no_copy = false;        // volume: the image's files at the destination are not copied in
  bool create_source = false;  // bind (-v): a missing host path is made, as docker does
  std::string options;         // tmpfs: mount options (size=64m,mode=1777)
};

// -v SRC:DST[:OPTS] (SRC a host path or a volume name; OPTS ro, rw, nocopy,
// and z/Z accepted for SELinux labels ctk does not use) or -v DST (an
// anonymous volume).
bool parse_volume_flag(const std::string& text, MountPoint* out, std::string* err);
// --mount type=bind|volume|tmpfs,source=..,target=..[,readonly][,volume-nocopy][,tmpfs-size=..][,tmpfs-mode=..]
bool parse_mount_flag(const std::string& text, MountPoint* out, std::string* err);
// --tmpfs /path[:OPTS]
bool parse_tmpfs_flag(const std::string& text, MountPoint* out, std::string* err);

nlohmann::json to_json(const MountPoint& m);
bool mount_from_json(const nlohmann::json& j, MountPoint* m, std::string* err);

// What one start needs: the VM's shares, the guest's requests that copy an
// image's files into a volume used the first time, and the container's
// mounts for its OCI config. Made before the VM boots; how the guest mounts
// the shares waits for the transport its kernel allows (guest_calls).
struct MountPlan {
  std::vector<vz::Share> shares;  // share N is tagged ctkN and mounted at /run/ctk/shares/N
  std::vector<proto::Client::Call> populate;
  nlohmann::json oci_mounts = nlohmann::json::array();
  std::vector<std::string> first_use;  // volumes whose image files this start copies in
};

// `root` is where the guest assembles the container's root (the copy's
// source). Fails with not_found when a bind source or a volume is gone.
bool plan_mounts(const std::vector<MountPoint>& mounts, const std::string& data_root, const std::string& root,
                 MountPlan* plan, Error* err);

// The guest's requests that mount the plan's shares over `transport`, then
// its copies (all shares are mounted before anything is copied into one).
std::vector<proto::Client::Call> guest_calls(const MountPlan& plan, vz::ShareTransport transport);

}  // namespace ctk::container

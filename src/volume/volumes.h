// Named volumes: data that outlives containers, under <data root>/volumes/
//   <name>/volume.json  what `volume create` (or a first use) decided
//   <name>/_data/       the files, shared into every VM that mounts it
// A volume is a host directory served to each VM over virtio-fs, so several
// running containers (each in its own VM) use one volume at once and see
// each other's writes; a block device per volume could not be mounted by
// two guest kernels at once (docs/ARCHITECTURE.md has the numbers).
// Which containers use a volume is read from the containers' own configs,
// not kept here: it can never disagree with them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/filter.h"
#include "oci/fsutil.h"

namespace ctk::volume {

struct Volume {
  std::string name;
  std::string created;  // RFC 3339
  std::map<std::string, std::string> labels;
  bool anonymous = false;  // made for an image's VOLUME or `-v /path`; goes with its container (rm -v, --rm)
  bool populated = false;  // the image's files at the mount point were copied in (once, on first use)
};

// docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+
bool valid_name(const std::string& name);

class Volumes {
 public:
  // data_root: "" = the default (the image store's root).
  bool open(const std::string& data_root, Error* err);
  std::string dir(const std::string& name) const { return path_ + "/" + name; }
  std::string data(const std::string& name) const { return dir(name) + "/_data"; }

  // Holds volumes/.lock: a volume's creation, its removal and a container's
  // creation that names it exclude each other.
  bool lock(oci::FileLock* lock, Error* err) const;

  // Creates the volume unless it exists (*created says which); conflict
  // when it exists and `must_be_new`. Call under lock().
  bool create(Volume* v, bool must_be_new, bool* created, Error* err);
  bool load(const std::string& name, Volume* v, Error* err) const;  // not_found when missing; name may be v->name
  bool save(const Volume& v, Error* err) const;
  bool list(std::vector<Volume>* out, Error* err) const;
  // Removes it and its files; the caller has checked (under lock()) that no
  // container uses it (container::remove_volume).
  bool remove(const std::string& name, Error* err);
  // What removing it frees, as docker's prune counts: the bytes of its
  // regular files, a file with several links once.
  uint64_t size(const std::string& name) const;

 private:
  std::string path_;
};

// `volume ls --filter` and `volume prune --filter`: dangling=true|false (no
// container uses it), name=TEXT (a part of the name), label=KEY[=VALUE],
// driver=local (the only driver) and, for prune, label!=KEY[=VALUE].
using Filter = ctk::Filter;
bool parse_filter(const std::string& text, bool prune, Filter* out, std::string* err);
bool matches(const Volume& v, bool in_use, const std::vector<Filter>& filters);

// docker's `volume inspect` object.
nlohmann::json inspect_json(const Volumes& volumes, const Volume& v);

}  // namespace ctk::volume

// What the listing and inspecting commands (and later the Docker API) show
// of containers: summaries for `ps`, docker-like JSON for `inspect`.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/filter.h"
#include "container/state.h"
#include "network/networks.h"
#include "volume/volumes.h"

namespace ctk::container {

// A `ps --filter`: id=, name=, status=, label=KEY[=VALUE], ancestor=IMAGE.
using Filter = ctk::Filter;
bool parse_filter(const std::string& text, Filter* out, std::string* err);

struct Summary {
  std::string id, name, image, command, created, created_ago;
  std::string state;        // created, running, restarting, exited
  std::string status_text;  // "Up 5 seconds", "Exited (0) 3 minutes ago"
  std::string ports_text;   // "127.0.0.1:8080->80/tcp"
  State full;
  Spec spec;
  std::vector<std::string> networks;  // names and ids of its networks: read only for a network= filter
};

// Containers (running only unless all), newest first, that match every filter.
bool list(const Containers& all, bool include_stopped, const std::vector<Filter>& filters, std::vector<Summary>* out,
          Error* err);

nlohmann::json summary_json(const Summary& s);

// docker inspect's shape: Id, Name, Created, Path, Args, State, Image, Config,
// HostConfig, NetworkSettings (Ports, Networks), Mounts, LogPath,
// RestartCount. `volumes` and `networks` (the container's data root's) say
// where a volume's files are and which networks it is on: a container keeps
// its addresses from create to rm, so they show while it is stopped too.
nlohmann::json inspect_json(const Container& ct, const volume::Volumes& volumes, const network::Networks& networks);

// "5 seconds", "About a minute", "2 hours": docker's human durations.
std::string human_duration(int64_t seconds);

}  // namespace ctk::container

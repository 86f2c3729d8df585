// What the container applets share: the create flags of `run` and `create`
// (docker's names), opening the containers of --root, and finding one by
// name or id.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "applets/applet.h"
#include "base/flags.h"
#include "container/create.h"
#include "container/state.h"

namespace ctk {

// The option rows of `ctk create` (also the first rows of `ctk run`'s).
std::span<const Option> create_option_rows();

// Parses the create flags and the positionals (IMAGE [COMMAND [ARG...]]).
bool create_options(const Flags& flags, container::CreateOptions* o, std::string* err);

// --root DIR (the data root: images and containers), else the default.
bool open_containers(const Flags& flags, container::Containers* all, Error* err);

// Loads the container named by ref (a name, an id or a unique id prefix).
bool find_container(const container::Containers& all, const std::string& ref, std::unique_ptr<container::Container>* out,
                    Error* err);

// The exit code of a failed container command: docker's 125 for a daemon
// error would hide not-found; ctk uses 1 as docker's CLI does for all.
int container_fail(const Applet& self, const Error& err);

}  // namespace ctk

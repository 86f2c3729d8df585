// The route handlers, one function per endpoint, grouped by the file that
// defines them; api/routes.cc maps methods and paths to them.
#pragma once

#include "api/api.h"

namespace ctk::api {

// system.cc
void system_ping(Context& c);
void system_version(Context& c);
void system_info(Context& c);
void not_implemented(Context& c);  // build, swarm, plugins: 501 saying so

}  // namespace ctk::api

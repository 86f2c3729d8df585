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

// containers.cc
void containers_list(Context& c);
void containers_create(Context& c);
void containers_inspect(Context& c);
void containers_start(Context& c);
void containers_stop(Context& c);
void containers_restart(Context& c);
void containers_kill(Context& c);
void containers_delete(Context& c);
void containers_rename(Context& c);
void containers_prune(Context& c);
void containers_wait(Context& c);
void containers_resize(Context& c);
void containers_top(Context& c);
void containers_logs(Context& c);
void containers_stats(Context& c);

// attach.cc
void containers_attach(Context& c);

// exec.cc
void exec_create(Context& c);
void exec_start(Context& c);
void exec_inspect(Context& c);
void exec_resize(Context& c);

}  // namespace ctk::api

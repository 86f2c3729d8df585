// What the container applets share: the create flags of `run` and `create`
// (docker's names), opening the containers of --root, and finding one by
// name or id.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "applets/applet.h"
#include "applets/image_common.h"
#include "applets/vm_options.h"
#include "base/flags.h"
#include "container/create.h"
#include "container/state.h"

namespace ctk {

// The option rows of `ctk create` (also in `ctk run`'s). Constant, so other
// applets' tables can be built from them at compile time.
inline constexpr Option kCreateOptions[] = {
    {"name", 0, "NAME", "Name the container (also the default hostname)"},
    {"interactive", 'i', "", "Keep stdin attached"},
    {"tty", 't', "", "Allocate a pseudo-terminal"},
    {"env", 'e', "K=V", "Set an environment variable (K alone: take it from here)", true},
    {"env-file", 0, "FILE", "Read K=V lines from FILE", true},
    {"workdir", 'w', "DIR", "Working directory inside the container"},
    {"user", 'u', "USER[:GROUP]", "User to run as: names (from the image's /etc/passwd, /etc/group) or numbers"},
    {"entrypoint", 0, "CMD", "Run CMD with the arguments instead"},
    {"hostname", 'h', "NAME", "Container hostname (default: its name)"},
    {"label", 'l', "K=V", "Set a label", true},
    {"publish", 'p', "[IP:][HOST_PORT:]PORT[/PROTO]", "Publish a container port on the host (default IP 127.0.0.1)", true},
    {"publish-all", 'P', "", "Publish the image's exposed ports on ephemeral host ports"},
    {"restart", 0, "POLICY", "no, on-failure[:N], always or unless-stopped"},
    {"cpus", 0, "N", "CPU limit, fractions allowed; the VM gets N rounded up vCPUs (default: 1, no limit)"},
    {"memory", 'm', "SIZE", "Memory limit, e.g. 256M; the VM gets it plus 128M, at least 512M"},
    {"pids-limit", 0, "N", "Limit the container's number of processes and threads"},
    {"network", 0, "NAME", "Join a network (bridge: the default one; ctk network ls), or none (default), or nat: outbound access only", true},
    {"network-alias", 0, "ALIAS", "Another name the container answers to on its (first) network", true},
    {"ip", 0, "ADDRESS", "Its IPv4 address on its (first) network (default: the lowest free one)"},
    {"volume", 'v', "SRC:DST[:ro]", "Mount a host path (made if missing) or a named volume (made if new); DST alone: an anonymous volume", true},
    {"mount", 0, "type=bind|volume|tmpfs,...", "Mount with docker's --mount fields (a bind source must exist)", true},
    {"tmpfs", 0, "DST[:OPTIONS]", "Mount a tmpfs (options: size=, mode=, exec, ...)", true},
    {"read-only", 0, "", "Mount the container's root filesystem read-only"},
    {"profile", 0, "NAME|FILE", "Start from a sandbox profile (ctk profile ls); flags given here override it"},
    {"cap-add", 0, "CAP", "Add a Linux capability (NET_ADMIN, CAP_SYS_PTRACE, ALL ...)", true},
    {"group-add", 0, "GROUP", "Add a group (name in the image's /etc/group, or gid) to the processes; repeatable", true},
    {"volumes-from", 0, "CONTAINER[:ro|:rw]", "Mount another container's volumes and binds at the same places; repeatable", true},
    {"cap-drop", 0, "CAP", "Drop a Linux capability (NET_RAW, ALL ...)", true},
    {"security-opt", 0, "OPT", "no-new-privileges[=true|false]: exec cannot gain privileges (setuid)", true},
    {"timeout", 0, "DURATION", "Kill the main process after DURATION (90, 90s, 10m, 1h); it exits 124"},
    kTlsVerifyOption,
    kCertDirOption,
    kPlainHttpOption,
    kAuthfileOption,
    kRootOption,
    kPlatformOption,
    kKernelOption,
    kInitfsOption,
};

// --detach-keys of run, start, attach and exec.
inline constexpr Option kDetachKeysOption = {"detach-keys", 0, "KEYS",
                                             "Keys that detach from a tty, leaving the process running (default: ctrl-p,ctrl-q)"};
// The bytes of --detach-keys (AttachedProcess::detach_keys); false with the
// reason for a bad one.
bool detach_keys_flag(const Flags& flags, std::string* keys, std::string* err);

// Parses the create flags and the positionals (IMAGE [COMMAND [ARG...]]),
// over the --profile they name. On failure *exit_code is 2 for a usage
// error, 125 for a profile that cannot be used (docker's create failure).
bool create_options(const Flags& command_line, container::CreateOptions* o, std::string* err, int* exit_code);

// The --label K=V flags (K alone: an empty value) of create, run and the
// volume and network creates; an empty K is refused.
bool label_flags(const Flags& flags, std::map<std::string, std::string>* out, std::string* err);

// --root DIR (the data root: images and containers), else the default.
bool open_containers(const Flags& flags, container::Containers* all, Error* err);

// Loads the container named by ref (a name, an id or a unique id prefix).
bool find_container(const container::Containers& all, const std::string& ref, std::unique_ptr<container::Container>* out,
                    Error* err);

// Runs fn on each container the positionals name, printing each name as
// given when fn succeeds (docker's output); one line per failure, and exit
// code 1 when any failed.
int for_each_container(const Applet& self, const Flags& flags, bool print_names,
                       const std::function<bool(container::Containers&, container::Container&, Error*)>& fn);

// --time SECS of stop and restart; -1 when not given.
bool stop_timeout_option(const Flags& flags, int* seconds, std::string* err);

// The exit code of a failed container command: docker's 125 for a daemon
// error would hide not-found; ctk uses 1 as docker's CLI does for all.
int container_fail(const Applet& self, const Error& err);

}  // namespace ctk

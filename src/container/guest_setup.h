// What the agent is told to make a container out of a booted VM: the setup
// batch that assembles its root (the read-only image disk under an overlay
// whose upper layer is the container's own ext4 disk) and its names, and the
// OCI runtime config of its main process. Shared by the first start and
// every restart.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "container/networking.h"
#include "container/state.h"
#include "proto/client.h"

namespace ctk::container {

// The agent's id for the container inside its VM (one container per VM).
inline constexpr const char* kGuestContainer = "main";

// Mounts the image disk (/dev/vda) and the writable disk (/dev/vdb; a tmpfs
// for a --rm container, which nobody starts again), the overlay over them,
// the shared host directories (guest_calls of mounts.h, over the transport
// the VM chose), the networks and the resolver's files (networking.h).
std::vector<proto::Client::Call> root_setup_calls(const Spec& spec, const MountPlan& mounts,
                                                  vz::ShareTransport transport, const Networking& networking);

// Where the guest assembles the container's root.
inline constexpr const char* kGuestRoot = "/run/ctk/rootfs";

// The main process's capabilities: docker's defaults with --cap-drop and
// --cap-add applied as docker applies them.
std::vector<std::string> capabilities(const Spec& spec);

// The OCI config of the main process (rows/cols: the pty's size, 0 if
// unknown), with the container's own mounts after the standard ones.
nlohmann::json main_process_config(const Spec& spec, const MountPlan& mounts, unsigned rows, unsigned cols);

// docker's exit code for a container that could not be created or started.
inline constexpr int kExitStartFailed = 125;

// The agent's error codes for a process that never ran, as docker's exit
// codes: 127 not found, 126 cannot execute, 125 anything else.
int exit_code_for_agent_error(const std::string& code);

}  // namespace ctk::container

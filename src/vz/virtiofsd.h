// virtiofsd, the vhost-user daemon that serves a Share to QEMU's
// vhost-user-fs device: one process per share, a child of the VMM's owner.
#pragma once

#include <sys/types.h>

#include <string>

#include "vz/vm.h"

namespace ctk::vz {

// $CTK_VIRTIOFSD, else the first of Debian's and Fedora's places that exists;
// "" when none does.
std::string find_virtiofsd();

// The vhost-user socket of share number `index` in runtime_dir.
std::string share_socket(const std::string& runtime_dir, size_t index);

// Listens on `socket` and starts virtiofsd on that listener (its --fd):
// QEMU can connect as soon as this returns. A read-only share is served
// from a read-only bind mount of its directory in a mount namespace of the
// daemon's own, so not even a misbehaving guest kernel writes to it.
// Output goes to `log`. Fills *pid; the process dies with the caller.
bool start_virtiofsd(const std::string& binary, const Share& share, const std::string& socket,
                     const std::string& log, pid_t* pid, std::string* err);

}  // namespace ctk::vz

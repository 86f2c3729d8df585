// PID 1 duties in the guest: the mounts a Linux system expects, the kernel
// modules shipped in the initramfs, the loopback interface, and power-off.
// Nothing here exits on failure: problems are collected for the host to see.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ctk::init {

// memory.max of the agent's own cgroup in a VM. What the agent holds is
// bounded by the protocol: per connection at most 16 MiB of unsent output
// plus 256 KiB per channel and direction (the windows), a 1 MiB control
// message, 256 KiB read buffers. This leaves room for a few connections with
// dozens of busy channels each; the containers' memory is charged to their
// own cgroups, siblings of the agent's.
constexpr uint64_t kAgentMemoryMax = 64ull << 20;

// The read-ahead of the guest's disks and shared directories. Each is a host
// file behind an emulated device (or virtiofsd), and every request is a round
// trip: few large reads beat many small ones. The default 128 KiB makes exec
// of a 1-2 MB binary a dozen requests; 4 MiB makes it one (measured under
// TCG: `ctk run IMAGE true`'s process phase 40 -> 23 ms; a volume's
// sequential reads 0.66x -> 0.92x of the writable layer's).
constexpr unsigned kReadAheadKb = 4096;

// Mounts /proc, /sys, /dev (devtmpfs), /dev/pts, /dev/shm, /run, /tmp and
// cgroup2 at /sys/fs/cgroup; loads /lib/modules/<release>/modules.dep in
// order; brings up lo.
void pid1_setup(std::vector<std::string>* problems);

// Loads every module listed in DIR/modules.dep, in file order, but those
// named in `skip` (module names, comma-separated, from the kernel command
// line's ctk.skip_modules=); returns how many loaded. Modules already present
// (or built in) are not errors.
int load_modules(const std::string& dir, const std::string& skip, std::vector<std::string>* problems);

// Finds the virtio-serial port named `name` (/sys/class/virtio-ports/*/name),
// polling up to timeout_ms for the driver to create it; returns "/dev/vportNpM" or "".
std::string find_virtio_port(const std::string& name, int timeout_ms);

// Seconds since boot, from /proc/uptime ("1.23").
std::string uptime();

// Signals every process, syncs, unmounts and powers the VM off.
[[noreturn]] void pid1_poweroff();

}  // namespace ctk::init

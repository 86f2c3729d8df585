// The VMM interface: one lightweight VM with a kernel, an initramfs, virtio
// disks, an optional NIC and the agent channel. Backends: QEMU on Linux
// (qemu.cc); Apple's Virtualization.framework on macOS (its own issue).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace ctk::vz {

struct Disk {
  std::string path;
  bool read_only = true;
};

// A host directory the guest mounts by tag, over the VM's ShareTransport.
// The guest cannot write to a read-only share, whatever it mounts.
struct Share {
  std::string tag;
  std::string path;  // a directory
  bool read_only = false;
};

// How shares reach the guest, one for all of a VM's shares, chosen from what
// its kernel has. virtio-fs (FUSE over virtio: QEMU hands it to virtiofsd;
// Virtualization.framework has its own device) is preferred: the guest caches
// what it looks up, coherently (stat is 9x faster than over 9p). 9p
// (virtio-9p, served by QEMU itself) is the fallback for kernels built
// without virtio-fs.
enum class ShareTransport { virtiofs, ninep };

enum class Network { none, nat };  // nat: outbound access through the host (QEMU user networking)
// The NAT NIC's MAC, by which the guest finds it among its NICs.
inline constexpr const char* kNatMac = "52:54:00:12:34:56";

// A NIC whose Ethernet frames are datagrams on a unix socket: the VMM binds
// `local` and sends each frame to `remote` (ctk's network switch), which
// answers to `local`. Virtualization.framework's file-handle attachment is
// such a datagram socket too.
struct DatagramNic {
  std::string local;
  std::string remote;
  std::string mac;  // "02:42:ac:12:00:02"
};

struct VmConfig {
  std::string arch;  // "x86_64" or "aarch64"; default: the host's
  std::string kernel;
  std::string initrd;
  std::string cmdline;  // appended to the backend's console/boot arguments
  unsigned cpus = 1;
  unsigned memory_mib = 512;
  std::vector<Disk> disks;  // /dev/vda, /dev/vdb, ... in order
  std::vector<Share> shares;
  ShareTransport share_transport = ShareTransport::virtiofs;
  Network network = Network::none;  // the NAT NIC comes first
  std::vector<DatagramNic> nics;
  std::string runtime_dir;   // the backend's own sockets go here
  std::string agent_socket;  // unix socket the VMM listens on, bridged to the guest's `ctk.agent` port
  std::string console_log;   // the guest console goes here
};

class Vm {
 public:
  virtual ~Vm() = default;
  virtual bool start(std::string* err) = 0;
  // Waits for the VMM to exit: true with its status, false on timeout (timeout_ms < 0: forever).
  virtual bool wait(int timeout_ms, int* status) = 0;
  // Ends the VM at once (SIGKILL to the VMM). Safe to call twice.
  virtual void kill() = 0;
  virtual pid_t pid() const = 0;
  // Called once the guest runs: the VMM's own copies of the kernel and the
  // initramfs are not read again, and their memory goes back to the host.
  // Best effort; a backend without such copies does nothing.
  virtual void release_boot_images() {}
  // A one-line notice about how the VM runs, e.g. "no /dev/kvm: software emulation (TCG)".
  virtual std::string notice() const = 0;
};

std::unique_ptr<Vm> make_vm(const VmConfig& config);

}  // namespace ctk::vz

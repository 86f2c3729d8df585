#include "vz/qemu.h"

#include <doctest/doctest.h>

#include <algorithm>

using namespace ctk::vz;

namespace {
bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
std::string after(const std::vector<std::string>& v, const std::string& flag) {
  auto it = std::find(v.begin(), v.end(), flag);
  return it == v.end() || it + 1 == v.end() ? "" : *(it + 1);
}
}  // namespace

TEST_CASE("x86_64 under TCG: microvm, TSC rate, agent port, read-only disk") {
  VmConfig c;
  c.arch = "x86_64";
  c.kernel = "/boot/vmlinuz-for-a-test";
  c.initrd = "/i";
  c.disks = {{"/root.ext4", true}, {"/rw.ext4", false}};
  c.agent_socket = "/run/a.sock";
  c.network = Network::nat;
  HostFacts h{false, 2400000};
  auto a = qemu_argv(c, h);
  CHECK(a[0] == "qemu-system-x86_64");
  CHECK(after(a, "-accel") == "tcg");
  CHECK(after(a, "-M") == "microvm");
  CHECK(has(a, "-no-reboot"));
  std::string append = after(a, "-append");
  CHECK(append.find("tsc_early_khz=2400000") != std::string::npos);
  CHECK(append.find("panic=-1") != std::string::npos);
  CHECK(append.find("ctk.skip_modules=") != std::string::npos);
  CHECK(append.find("virtio_pci") != std::string::npos);   // microvm has no PCI
  CHECK(append.find("virtio_net") == std::string::npos);   // nat needs the NIC
  CHECK(has(a, "file=/root.ext4,format=raw,if=none,id=disk0,cache=unsafe,readonly=on"));
  CHECK(has(a, "file=/rw.ext4,format=raw,if=none,id=disk1,cache=unsafe"));
  CHECK(has(a, "virtserialport,chardev=agent,name=ctk.agent"));
  CHECK(has(a, "socket,id=agent,server=on,wait=off,path=/run/a.sock"));
  CHECK(has(a, "virtio-net-device,netdev=net0,mac=52:54:00:12:34:56"));
  // Memory the guest frees goes back to the host.
  CHECK(has(a, "virtio-balloon-device,free-page-reporting=on"));
  CHECK(append.find("virtio_balloon") == std::string::npos);
}

TEST_CASE("KVM and aarch64 choices") {
  VmConfig c;
  c.arch = "x86_64";
  c.kernel = "/boot/vmlinuz-for-a-test";
  auto a = qemu_argv(c, HostFacts{true, 2400000});
  CHECK(after(a, "-accel") == "kvm");
  CHECK(after(a, "-append").find("tsc_early_khz") == std::string::npos);
  CHECK_FALSE(has(a, "-netdev"));  // --network none: no NIC at all
  c.arch = "aarch64";
  a = qemu_argv(c, HostFacts{false, 0});
  CHECK(a[0] == "qemu-system-aarch64");
  CHECK(after(a, "-M") == "virt");
  CHECK(after(a, "-cpu") == "cortex-a57");
  CHECK(after(a, "-append").find("console=ttyAMA0") != std::string::npos);
  CHECK(has(a, "virtio-balloon-device,free-page-reporting=on"));
  // virt probes its virtio-mmio slots in reverse: the first disk is given last.
  c.disks = {{"/root.ext4", true}, {"/rw.ext4", false}};
  a = qemu_argv(c, HostFacts{false, 0});
  auto pos = [&](const std::string& s) { return std::find(a.begin(), a.end(), s) - a.begin(); };
  CHECK(pos("virtio-blk-device,drive=disk1") < pos("virtio-blk-device,drive=disk0"));
}

TEST_CASE("virtio-fs shares: shared guest memory, one vhost-user-fs device per share, virtiofs loaded") {
  VmConfig c;
  c.arch = "x86_64";
  c.kernel = "/boot/vmlinuz-for-a-test";
  c.memory_mib = 640;
  c.runtime_dir = "/run/vm";
  auto a = qemu_argv(c, HostFacts{false, 2400000});
  CHECK(after(a, "-M") == "microvm");
  // Without shares neither transport's modules load.
  CHECK(after(a, "-append").find("virtiofs,fuse,9p,9pnet_virtio,9pnet,fscache,netfs") != std::string::npos);
  c.shares = {{"ctk0", "/srv/a", false}, {"ctk1", "/srv/b", true}};
  a = qemu_argv(c, HostFacts{false, 2400000});
  CHECK(after(a, "-M") == "microvm,memory-backend=ram");
  CHECK(has(a, "memory-backend-memfd,id=ram,share=on,size=640M"));
  CHECK(has(a, "socket,id=fs0,path=/run/vm/fs0.sock"));
  CHECK(has(a, "vhost-user-fs-device,chardev=fs1,tag=ctk1"));
  CHECK_FALSE(has(a, "-fsdev"));
  CHECK(after(a, "-append").find("virtiofs") == std::string::npos);
  CHECK(after(a, "-append").find("9p,9pnet_virtio,9pnet") != std::string::npos);
}

TEST_CASE("9p shares: QEMU serves them, read-only on the host; no shared memory; 9p loaded, virtiofs not") {
  VmConfig c;
  c.arch = "x86_64";
  c.kernel = "/boot/vmlinuz-for-a-test";
  c.runtime_dir = "/run/vm";
  c.shares = {{"ctk0", "/srv/a", false}, {"ctk1", "/srv/b,c", true}};
  c.share_transport = ShareTransport::ninep;
  auto a = qemu_argv(c, HostFacts{false, 2400000});
  CHECK(after(a, "-M") == "microvm");
  CHECK(std::none_of(a.begin(), a.end(), [](const std::string& s) { return s.starts_with("memory-backend"); }));
  CHECK(std::none_of(a.begin(), a.end(), [](const std::string& s) { return s.starts_with("vhost-user-fs"); }));
  CHECK(has(a, "local,id=fs0,path=/srv/a,security_model=passthrough,multidevs=remap"));
  CHECK(has(a, "virtio-9p-device,fsdev=fs0,mount_tag=ctk0"));
  // A comma in a path is doubled, as QEMU's option syntax wants.
  CHECK(has(a, "local,id=fs1,path=/srv/b,,c,security_model=passthrough,multidevs=remap,readonly=on"));
  CHECK(has(a, "virtio-9p-device,fsdev=fs1,mount_tag=ctk1"));
  std::string append = after(a, "-append");
  CHECK(append.find("virtiofs,fuse") != std::string::npos);
  CHECK(append.find("9p") == std::string::npos);
}

TEST_CASE("datagram NICs: a dgram netdev to the switch each, with the MAC given, virtio_net loaded") {
  VmConfig c;
  c.arch = "x86_64";
  c.kernel = "/boot/vmlinuz-for-a-test";
  auto a = qemu_argv(c, HostFacts{false, 2400000});
  CHECK(after(a, "-append").find("virtio_net") != std::string::npos);  // skipped: no NIC at all
  c.nics = {{"/run/net/ports/0123456789ab", "/run/net/switch.sock", "02:42:ac:12:00:02"}};
  a = qemu_argv(c, HostFacts{false, 2400000});
  CHECK(has(a, "dgram,id=nic0,local.type=unix,local.path=/run/net/ports/0123456789ab,"
               "remote.type=unix,remote.path=/run/net/switch.sock"));
  CHECK(has(a, "virtio-net-device,netdev=nic0,mac=02:42:ac:12:00:02"));
  CHECK(!has(a, "user,id=net0"));  // no NAT unless asked for
  CHECK(after(a, "-append").find("virtio_net") == std::string::npos);
}

#include "vz/kvm_probe.h"

#include <sys/stat.h>

#include <memory>

#include "base/atomic_file.h"
#include "base/dirs.h"
#include "base/file_io.h"
#include "boot/arch.h"
#include "vz/qemu.h"

namespace ctk::vz {

namespace {

// What the guest kernel prints when it has booted as far as a VM without a
// disk can.
constexpr const char* kReachedRoot = "Unable to mount root";
constexpr int kProbeTimeoutMs = 10000;

// What QEMU said, for the reason: its first "error" line, else its last line.
std::string qemu_said(const std::string& log) {
  std::string last;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    std::string line = log.substr(start, end - start);
    if (line.find("error") != std::string::npos) return line;
    if (!line.empty()) last = line;
    start = end + 1;
  }
  return last;
}

// Boots kernel under KVM with ctk's own QEMU backend, no disk; the console
// and QEMU's own messages (beside it, ".qemu") say how far it got.
bool probe(const std::string& kernel, const std::string& dir, std::string* why) {
  VmConfig c;
  c.kernel = kernel;
  c.arch = boot::host_arch();
  c.memory_mib = 128;
  c.cpus = 1;
  c.runtime_dir = dir;
  c.console_log = dir + "/console";
  HostFacts kvm;
  kvm.kvm = true;
  std::unique_ptr<Vm> vm = make_qemu_vm(c, kvm);
  if (!vm->start(why)) return false;
  int status = 0;
  bool exited = vm->wait(kProbeTimeoutMs, &status);
  vm->kill();
  std::string console, qemu, ignored;
  bool exists;
  read_file(c.console_log, &console, &exists, &ignored);
  read_file(c.console_log + ".qemu", &qemu, &exists, &ignored);
  if (console.find(kReachedRoot) != std::string::npos) return true;
  if (!exited) *why = "a test guest did not boot under KVM in " + std::to_string(kProbeTimeoutMs / 1000) + " s";
  else if (!qemu_said(qemu).empty()) *why = "a test guest under KVM failed: " + qemu_said(qemu);
  else *why = "a test guest under KVM stopped before its kernel booted";
  return false;
}

std::string boot_id() {
  std::string id, ignored;
  if (!read_file("/proc/sys/kernel/random/boot_id", &id, nullptr, &ignored)) return "";
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

}  // namespace

bool parse_kvm_verdict(const std::string& text, const std::string& id, bool* ok, std::string* why) {
  size_t nl = text.find('\n');
  if (id.empty() || nl == std::string::npos || text.compare(0, nl, id) != 0) return false;
  std::string verdict = text.substr(nl + 1);
  if (!verdict.empty() && verdict.back() == '\n') verdict.pop_back();
  if (verdict == "ok") {
    *ok = true;
    return true;
  }
  if (!verdict.starts_with("broken: ") || verdict.size() == 8) return false;
  *ok = false;
  *why = verdict.substr(8);
  return true;
}

bool kvm_boots(const std::string& kernel, std::string* why) {
  std::string id = boot_id();
  std::string root = runtime_root();
  std::string cache = root + "/kvm-verdict";
  std::string text, ignored;
  bool ok = false, exists;
  if (read_file(cache, &text, &exists, &ignored) && exists && parse_kvm_verdict(text, id, &ok, why)) return ok;
  std::string dir, err;
  if (!make_runtime_dir(&dir, &err)) {
    *why = "cannot test KVM: " + err;
    return false;
  }
  ok = probe(kernel, dir, why);
  remove_tree(dir);
  // Another ctk may probe at the same time: each writes a whole verdict.
  // Without a cache (an unwritable runtime root) the next VM asks again.
  std::string verdict = id + "\n" + (ok ? "ok" : "broken: " + *why) + "\n";
  AtomicFile out;
  ::mkdir(root.c_str(), 0700);
  if (out.open(cache, &ignored) && write_all(out.fd(), verdict.data(), verdict.size(), cache, &ignored)) out.commit(&ignored);
  return ok;
}

}  // namespace ctk::vz

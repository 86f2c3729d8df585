// Whether KVM runs guests on this host. A /dev/kvm that opens is not enough:
// a nested host can offer one under which QEMU aborts (an MSR the outer
// hypervisor refuses: "failed to set MSR 0x10a") or the guest never gets
// past the kernel's setup code. So ctk asks by doing: the first VM after a
// host boot test-boots its kernel under KVM with no disk, which must reach
// the kernel's "Unable to mount root" panic within seconds (well under one
// second on a working KVM). The verdict is kept for the rest of the host's
// boot (/proc/sys/kernel/random/boot_id) in the runtime directory; a
// broken KVM means TCG, with the reason in the VM's notice.
#pragma once

#include <string>

namespace ctk::vz {

// kernel: the guest kernel to test-boot. False with *why when KVM cannot
// run it here.
bool kvm_boots(const std::string& kernel, std::string* why);

// The probe's verdict as its cache file holds it: "BOOT_ID\nok\n" or
// "BOOT_ID\nbroken: WHY\n". Parses one for this boot_id; false when it is
// another boot's (or not a verdict).
bool parse_kvm_verdict(const std::string& text, const std::string& boot_id, bool* ok, std::string* why);

}  // namespace ctk::vz

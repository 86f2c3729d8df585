// Guest architectures. A guest of another architecture than the host's (an
// arm64 container on an x86_64 host, or any guest on macOS) needs a kernel
// built for it and a static ctk built for it as its init: both are checked
// here from their headers, so a mismatch is one clear line before any boot.
#pragma once

#include <string>

namespace ctk::boot {

// "x86_64" or "aarch64": the names uname(2) and QEMU use.
std::string host_arch();

// Maps an OCI platform's architecture ("amd64", "arm64", also "x86_64",
// "aarch64") to ctk's name; "" when ctk has no guest for it.
std::string arch_from_platform(const std::string& oci_arch);
// The reverse, for OCI platform selection: "amd64" or "arm64".
std::string platform_arch(const std::string& arch);

// What a kernel image (x86 bzImage; arm64 Image, plain or gzip-compressed)
// is built for. False with err when unreadable or not a kernel ctk knows.
bool kernel_arch(const std::string& path, std::string* arch, std::string* err);

// What an ELF executable is built for ("x86_64", "aarch64", or "e_machine N").
bool elf_arch(const std::string& path, std::string* arch, std::string* err);

// The static ctk a guest of `arch` runs as /init: this very binary for the
// host's architecture, else `ctk-linux-<oci arch>` beside it or in
// ../lib/ctk/ (where a cross build or a package puts it).
bool guest_ctk(const std::string& arch, std::string* path, std::string* err);

}  // namespace ctk::boot

// An x86 bzImage's kernel, decompressed once so the guest skips doing it.
//
// A bzImage is a real-mode setup stub, a decompressor, and the kernel ELF
// (vmlinux) compressed inside. Under software emulation the decompressor is
// a large part of boot (~0.35 s of ~2 s for Debian's LZ4 cloud kernel), and
// QEMU boots an uncompressed vmlinux directly through its PVH entry point
// (Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY, CONFIG_PVH). ctk therefore unpacks
// the ELF into its cache once and boots that when it has the PVH note.
#pragma once

#include <string>
#include <string_view>

namespace ctk::boot {

// The ELF inside the bzImage `image` (its bytes), decompressed. False with
// err set when `image` is not a bzImage or its payload cannot be read.
bool extract_vmlinux(std::string_view image, std::string* elf, std::string* err);

// Whether `elf` is a 64-bit ELF kernel with a PVH entry point.
bool has_pvh_entry(std::string_view elf);

// The cached PVH vmlinux for the bzImage at `path`, made when missing (the
// cache key is the file's identity). Sets *out to "" when the kernel has no
// PVH entry or its payload cannot be unpacked here: then boot the bzImage.
bool cached_pvh_kernel(const std::string& path, std::string* out, std::string* err);

}  // namespace ctk::boot

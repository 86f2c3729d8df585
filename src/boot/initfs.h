// The guest's initramfs: an lz4 (legacy frame, as the kernel's unpacker
// wants) compressed cpio "newc" archive holding ctk itself as /sbin/vminitd
// and /init, the device nodes init needs before devtmpfs, and the kernel
// modules a ctk guest loads with their modules.dep.
#pragma once

#include <string>

#include "boot/kernel.h"

namespace ctk::boot {

struct InitfsRequest {
  std::string ctk_binary;  // the static ctk to embed (usually /proc/self/exe)
  Kernel kernel;           // modules come from kernel.modules_dir when set
  std::string output;
};

struct InitfsResult {
  size_t modules = 0;
  uint64_t cpio_bytes = 0;
  uint64_t compressed_bytes = 0;
};

bool build_initfs(const InitfsRequest& request, InitfsResult* result, std::string* err);

// Appends entries to an in-memory cpio newc archive.
class CpioWriter {
 public:
  void dir(const std::string& path, uint32_t mode = 0755);
  void file(const std::string& path, uint32_t mode, std::string_view data);
  void symlink(const std::string& path, const std::string& target);
  void char_device(const std::string& path, uint32_t mode, uint32_t major, uint32_t minor);
  // Writes the trailer and returns the archive.
  std::string finish();

 private:
  void entry(const std::string& path, uint32_t mode, std::string_view data, uint32_t rmajor = 0,
             uint32_t rminor = 0);
  std::string out_;
  uint32_t ino_ = 1;
};

// The kernel's "legacy" lz4 format: magic, then 8 MiB chunks each preceded by
// its compressed size.
std::string lz4_legacy_compress(std::string_view data);

}  // namespace ctk::boot

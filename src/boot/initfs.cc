#include "boot/initfs.h"

#include <lz4hc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/file_io.h"
#include "boot/modules.h"

namespace ctk::boot {

void CpioWriter::entry(const std::string& path, uint32_t mode, std::string_view data,
                       uint32_t rmajor, uint32_t rminor) {
  char header[111];
  // Timestamps are 0 so the archive depends only on its content.
  std::snprintf(header, sizeof header,
                "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino_++, mode, 0u, 0u,
                S_ISDIR(mode) ? 2u : 1u, 0u, uint32_t(data.size()), 0u, 0u, rmajor, rminor,
                uint32_t(path.size() + 1), 0u);
  out_.append(header, 110);
  out_.append(path);
  out_.push_back('\0');
  out_.resize((out_.size() + 3) & ~size_t(3), '\0');
  out_.append(data);
  out_.resize((out_.size() + 3) & ~size_t(3), '\0');
}

void CpioWriter::dir(const std::string& path, uint32_t mode) { entry(path, S_IFDIR | mode, {}); }
void CpioWriter::file(const std::string& path, uint32_t mode, std::string_view data) {
  entry(path, S_IFREG | mode, data);
}
void CpioWriter::symlink(const std::string& path, const std::string& target) {
  entry(path, S_IFLNK | 0777, target);
}
void CpioWriter::char_device(const std::string& path, uint32_t mode, uint32_t major, uint32_t minor) {
  entry(path, S_IFCHR | mode, {}, major, minor);
}

std::string CpioWriter::finish() {
  ino_ = 0;
  entry("TRAILER!!!", 0, {});
  return std::move(out_);
}

std::string lz4_legacy_compress(std::string_view data) {
  constexpr size_t kChunk = 8 << 20;
  std::string out;
  uint32_t magic = 0x184C2102;
  out.append(reinterpret_cast<const char*>(&magic), 4);
  std::string buf(size_t(LZ4_compressBound(int(kChunk))), '\0');
  for (size_t pos = 0; pos < data.size(); pos += kChunk) {
    int n = int(std::min(kChunk, data.size() - pos));
    int c = LZ4_compress_HC(data.data() + pos, buf.data(), n, int(buf.size()), LZ4HC_CLEVEL_DEFAULT);
    uint32_t len = uint32_t(c);
    out.append(reinterpret_cast<const char*>(&len), 4);
    out.append(buf.data(), size_t(c));
  }
  return out;
}

bool build_initfs(const InitfsRequest& req, InitfsResult* result, std::string* err) {
  std::string ctk;
  if (!read_file(req.ctk_binary, &ctk, nullptr, err)) return false;

  CpioWriter cpio;
  for (const char* d : {"dev", "proc", "sys", "run", "tmp", "mnt", "sbin", "lib"}) cpio.dir(d);
  cpio.char_device("dev/console", 0600, 5, 1);
  cpio.char_device("dev/null", 0666, 1, 3);
  cpio.file("sbin/vminitd", 0755, ctk);
  cpio.symlink("init", "sbin/vminitd");

  if (!req.kernel.modules_dir.empty()) {
    ModuleDb db;
    if (!db.load(req.kernel.modules_dir, err)) return false;
    std::vector<std::string> paths = db.closure(guest_modules(), nullptr);
    std::string base = "lib/modules/" + req.kernel.release;
    std::set<std::string> dirs = {"lib/modules", base};
    std::string dep;
    for (const std::string& p : paths) {
      for (size_t s = p.find('/'); s != std::string::npos; s = p.find('/', s + 1))
        dirs.insert(base + "/" + p.substr(0, s));
    }
    for (const std::string& d : dirs) cpio.dir(d);  // std::set: parents sort first
    bool strip = !kernel_requires_signatures(req.kernel.image, req.kernel.release);
    for (const std::string& p : paths) {
      std::string data;
      if (!read_file(req.kernel.modules_dir + "/" + p, &data, nullptr, err)) return false;
      cpio.file(base + "/" + p, 0644, strip ? without_signature(data) : data);
      // The guest loads modules.dep top to bottom: this list is already in
      // load order, so each line needs no dependencies of its own.
      dep += p + ":\n";
    }
    cpio.file(base + "/modules.dep", 0644, dep);
    result->modules = paths.size();
  }

  std::string archive = cpio.finish();
  std::string packed = lz4_legacy_compress(archive);
  result->cpio_bytes = archive.size();
  result->compressed_bytes = packed.size();
  AtomicFile out;
  if (!out.open(req.output, err)) return false;
  if (!write_all(out.fd(), packed.data(), packed.size(), out.temp_path(), err)) return false;
  return out.commit(err);
}

}  // namespace ctk::boot

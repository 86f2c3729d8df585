#include "boot/arch.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>

#include "base/error.h"

namespace ctk::boot {

namespace {

// Reads up to `n` bytes from the start of `path`.
bool read_head(const std::string& path, size_t n, std::string* out, std::string* err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = sys_error(path);
    return false;
  }
  out->resize(n);
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, out->data() + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      *err = sys_error(path);
      ::close(fd);
      return false;
    }
    if (r == 0) break;
    got += size_t(r);
  }
  ::close(fd);
  out->resize(got);
  return true;
}

// The first bytes of a gzip stream, inflated (arm64 distribution kernels are
// a gzip-compressed Image; its header is all that is needed).
std::string gunzip_head(const std::string& in, size_t want) {
  std::string out(want, '\0');
  z_stream z = {};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return "";
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = uInt(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(want);
  inflate(&z, Z_SYNC_FLUSH);
  out.resize(want - z.avail_out);
  inflateEnd(&z);
  return out;
}

bool at(const std::string& s, size_t off, std::string_view magic) {
  return s.size() >= off + magic.size() && std::memcmp(s.data() + off, magic.data(), magic.size()) == 0;
}

}  // namespace

std::string host_arch() {
  struct utsname u;
  if (::uname(&u) != 0) return "x86_64";
  return u.machine;
}

std::string arch_from_platform(const std::string& oci_arch) {
  if (oci_arch == "amd64" || oci_arch == "x86_64") return "x86_64";
  if (oci_arch == "arm64" || oci_arch == "aarch64") return "aarch64";
  return "";
}

std::string platform_arch(const std::string& arch) {
  return arch == "aarch64" ? "arm64" : arch == "x86_64" ? "amd64" : arch;
}

bool kernel_arch(const std::string& path, std::string* arch, std::string* err) {
  std::string head;
  if (!read_head(path, 64 << 10, &head, err)) return false;
  if (at(head, 0, "\x1f\x8b")) head = gunzip_head(head, 4096);
  // x86 boot protocol: "HdrS" at 0x202. arm64 Image: "ARM\x64" at 0x38.
  if (at(head, 0x202, "HdrS")) *arch = "x86_64";
  else if (at(head, 0x38, "ARM\x64")) *arch = "aarch64";
  else {
    *err = "kernel " + path + ": not an x86 bzImage or arm64 Image";
    return false;
  }
  return true;
}

bool elf_arch(const std::string& path, std::string* arch, std::string* err) {
  std::string head;
  if (!read_head(path, sizeof(Elf64_Ehdr), &head, err)) return false;
  if (head.size() < sizeof(Elf64_Ehdr) || !at(head, 0, ELFMAG)) {
    *err = path + ": not an ELF executable";
    return false;
  }
  Elf64_Ehdr eh;
  std::memcpy(&eh, head.data(), sizeof eh);
  switch (eh.e_machine) {
    case EM_X86_64: *arch = "x86_64"; break;
    case EM_AARCH64: *arch = "aarch64"; break;
    default: *arch = "e_machine " + std::to_string(eh.e_machine);
  }
  return true;
}

bool guest_ctk(const std::string& arch, std::string* path, std::string* err) {
  if (arch == host_arch()) {
    *path = "/proc/self/exe";
    return true;
  }
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::string name = "ctk-linux-" + platform_arch(arch);
  std::string dir = self.parent_path().string();
  for (const std::string& candidate : {dir + "/" + name, dir + "/../lib/ctk/" + name}) {
    if (::access(candidate.c_str(), R_OK) != 0) continue;
    std::string got;
    if (!elf_arch(candidate, &got, err)) return false;
    if (got != arch) {
      *err = candidate + " is built for " + got + ", not " + arch;
      return false;
    }
    *path = candidate;
    return true;
  }
  *err = "no " + arch + " build of ctk for the guest's init: put a static one at " + dir + "/" + name +
         " (meson builds it when aarch64-linux-gnu-g++ is installed)";
  return false;
}

}  // namespace ctk::boot

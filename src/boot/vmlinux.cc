#include "boot/vmlinux.h"

#include <archive.h>
#include <elf.h>
#include <endian.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "base/atomic_file.h"
#include "base/dirs.h"
#include "base/error.h"
#include "base/file_io.h"
#include "base/sha256.h"

namespace ctk::boot {

namespace {

uint32_t le32(std::string_view s, size_t off) {
  uint32_t v;
  std::memcpy(&v, s.data() + off, 4);
  return le32toh(v);
}

uint16_t le16(std::string_view s, size_t off) {
  uint16_t v;
  std::memcpy(&v, s.data() + off, 2);
  return le16toh(v);
}

// Xen's ELF note for the 32-bit PVH entry point (xen/include/public/elfnote.h).
constexpr uint32_t kXenElfnotePhys32Entry = 18;

// Distribution kernels unpack to 30-70 MB; the trailer of a damaged image
// must not make this allocate gigabytes.
constexpr size_t kMaxVmlinux = 512 << 20;

}  // namespace

bool extract_vmlinux(std::string_view image, std::string* elf, std::string* err) {
  // The x86 boot protocol's setup header: the protected-mode code follows
  // the (setup_sects + 1) sectors of real-mode setup; the compressed kernel
  // lies at payload_offset in it, payload_length bytes long.
  if (image.size() < 0x250 || image.substr(0x202, 4) != "HdrS" || le16(image, 0x206) < 0x0208) {
    *err = "not an x86 bzImage with a boot protocol >= 2.08";
    return false;
  }
  size_t setup_sects = uint8_t(image[0x1f1]) ? uint8_t(image[0x1f1]) : 4;
  size_t start = (setup_sects + 1) * 512 + le32(image, 0x248), length = le32(image, 0x24c);
  if (length < 4 || start > image.size() || length > image.size() - start) {
    *err = "bzImage payload (offset " + std::to_string(start) + ", " + std::to_string(length) +
           " bytes) lies outside the file";
    return false;
  }
  std::string_view payload = image.substr(start, length);
  // The kernel build appends the uncompressed size (little-endian u32) to
  // every compressed payload; reading stops there, so the trailer is never
  // parsed as more compressed data.
  size_t want = le32(payload, length - 4);
  if (want < 64 || want > kMaxVmlinux) {
    *err = "bzImage payload claims " + std::to_string(want) + " bytes uncompressed";
    return false;
  }
  archive* ar = archive_read_new();
  archive_read_support_format_raw(ar);
  archive_read_support_filter_gzip(ar);
  archive_read_support_filter_xz(ar);  // also lzma
  archive_read_support_filter_lz4(ar);
  archive_read_support_filter_zstd(ar);
  archive_read_support_filter_bzip2(ar);
  struct archive_entry* entry;
  bool ok = archive_read_open_memory(ar, payload.data(), payload.size()) == ARCHIVE_OK &&
            archive_read_next_header(ar, &entry) == ARCHIVE_OK;
  elf->assign(want, '\0');
  size_t got = 0;
  while (ok && got < want) {
    la_ssize_t n = archive_read_data(ar, elf->data() + got, want - got);
    if (n <= 0) ok = false;
    else got += size_t(n);
  }
  if (!ok) {
    const char* why = archive_error_string(ar);
    *err = "decompressing the bzImage payload: " +
           (why ? std::string(why) : "ended after " + std::to_string(got) + " of " + std::to_string(want) + " bytes");
  }
  archive_read_free(ar);
  return ok;
}

bool has_pvh_entry(std::string_view elf) {
  Elf64_Ehdr eh;
  if (elf.size() < sizeof eh || elf.substr(0, 4) != ELFMAG) return false;
  std::memcpy(&eh, elf.data(), sizeof eh);
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 || eh.e_phentsize != sizeof(Elf64_Phdr))
    return false;
  for (size_t i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    size_t at = eh.e_phoff + i * sizeof ph;
    if (eh.e_phoff > elf.size() || at > elf.size() - sizeof ph) return false;
    std::memcpy(&ph, elf.data() + at, sizeof ph);
    if (ph.p_type != PT_NOTE || ph.p_offset > elf.size() || ph.p_filesz > elf.size() - ph.p_offset) continue;
    std::string_view notes = elf.substr(ph.p_offset, ph.p_filesz);
    auto align4 = [](size_t n) { return (n + 3) & ~size_t(3); };
    while (notes.size() >= sizeof(Elf64_Nhdr)) {
      Elf64_Nhdr nh;
      std::memcpy(&nh, notes.data(), sizeof nh);
      size_t name_at = sizeof nh, desc_at = name_at + align4(nh.n_namesz);
      size_t next = desc_at + align4(nh.n_descsz);
      if (nh.n_namesz > notes.size() || nh.n_descsz > notes.size() || next > notes.size()) break;
      if (nh.n_type == kXenElfnotePhys32Entry && notes.substr(name_at, nh.n_namesz) == std::string_view("Xen", 4))
        return true;
      notes.remove_prefix(next);
    }
  }
  return false;
}

bool cached_pvh_kernel(const std::string& path, std::string* out, std::string* err) {
  std::string id, dir;
  if (!file_identity(path, &id, err) || !cache_dir("kernel", &dir, err)) return false;
  Sha256 key;
  key.update(id.data(), id.size());
  Digest d = key.finish();
  std::string cached = dir + "/" + to_hex(std::span(d).first(12)) + ".vmlinux";
  // An empty file records a kernel without a PVH entry: checked once.
  struct stat st;
  if (::stat(cached.c_str(), &st) == 0) {
    *out = st.st_size > 0 ? cached : "";
    return true;
  }
  std::string image, elf, why;
  if (!read_file(path, &image, nullptr, err)) return false;
  // A payload this cannot unpack (LZO) still boots through its own decompressor.
  if (!extract_vmlinux(image, &elf, &why) || !has_pvh_entry(elf)) elf.clear();
  AtomicFile file;
  if (!file.open(cached, err) || !write_all(file.fd(), elf.data(), elf.size(), file.temp_path(), err) ||
      !file.commit(err))
    return false;
  *out = elf.empty() ? "" : cached;
  return true;
}

}  // namespace ctk::boot

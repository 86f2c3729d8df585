#include "boot/vmlinux.h"
#include "base/test_gzip.h"

#include <doctest/doctest.h>
#include <elf.h>

#include <cstring>

using namespace ctk::boot;
using ctk::testing::gzip;

namespace {

template <typename T>
void put(std::string* s, size_t at, T v) {
  std::memcpy(s->data() + at, &v, sizeof v);
}

// A 64-bit x86 ELF with one PT_NOTE segment holding a note of `type` named
// `name`, padded with `filler` bytes of code-like data.
std::string elf_with_note(const char* name, uint32_t type, size_t filler = 4096) {
  size_t namesz = std::strlen(name) + 1, notes_at = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
  size_t notes_size = sizeof(Elf64_Nhdr) + ((namesz + 3) & ~size_t(3)) + 4;
  std::string elf(notes_at + notes_size + filler, '\0');
  Elf64_Ehdr eh = {};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_machine = EM_X86_64;
  eh.e_phoff = sizeof eh;
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = 1;
  put(&elf, 0, eh);
  Elf64_Phdr ph = {};
  ph.p_type = PT_NOTE;
  ph.p_offset = notes_at;
  ph.p_filesz = notes_size;
  put(&elf, sizeof eh, ph);
  Elf64_Nhdr nh = {uint32_t(namesz), 4, type};
  put(&elf, notes_at, nh);
  std::memcpy(elf.data() + notes_at + sizeof nh, name, namesz);
  for (size_t i = 0; i < filler; ++i) elf[notes_at + notes_size + i] = char(i * 7 % 251);
  return elf;
}

// A bzImage as the kernel build lays it out: setup sectors with the boot
// header, then the protected-mode part holding the compressed payload
// followed by the uncompressed size.
std::string bzimage(const std::string& payload_plain, uint8_t setup_sects = 3) {
  std::string payload = gzip(payload_plain);
  uint32_t size = uint32_t(payload_plain.size());
  payload.append(reinterpret_cast<const char*>(&size), 4);
  size_t pm = (setup_sects + 1) * 512, payload_offset = 0x300;
  std::string image(pm + payload_offset + payload.size() + 100, '\0');
  image[0x1f1] = char(setup_sects);
  image.replace(0x202, 4, "HdrS");
  put(&image, 0x206, uint16_t(0x020f));
  put(&image, 0x248, uint32_t(payload_offset));
  put(&image, 0x24c, uint32_t(payload.size()));
  image.replace(pm + payload_offset, payload.size(), payload);
  return image;
}

}  // namespace

TEST_CASE("the kernel ELF comes out of a bzImage whole") {
  std::string elf = elf_with_note("Xen", 18, 100000), out, err;
  REQUIRE(extract_vmlinux(bzimage(elf), &out, &err));
  CHECK(out == elf);
  CHECK(has_pvh_entry(out));
  // setup_sects 0 means 4.
  REQUIRE(extract_vmlinux(bzimage(elf, 0).substr(512), &out, &err) == false);
  std::string four = bzimage(elf, 4);
  four[0x1f1] = 0;
  REQUIRE(extract_vmlinux(four, &out, &err));
  CHECK(out == elf);
}

TEST_CASE("only a Xen PHYS32_ENTRY note is a PVH entry") {
  CHECK(has_pvh_entry(elf_with_note("Xen", 18)));
  CHECK_FALSE(has_pvh_entry(elf_with_note("Xen", 17)));
  CHECK_FALSE(has_pvh_entry(elf_with_note("GNU", 18)));
  CHECK_FALSE(has_pvh_entry(elf_with_note("Xenx", 18)));
  CHECK_FALSE(has_pvh_entry("not an elf"));
  std::string truncated = elf_with_note("Xen", 18, 0);
  CHECK_FALSE(has_pvh_entry(truncated.substr(0, truncated.size() - 6)));
}

TEST_CASE("a broken bzImage is an error, not a crash") {
  std::string elf = elf_with_note("Xen", 18), out, err;
  std::string image = bzimage(elf);
  CHECK_FALSE(extract_vmlinux(image.substr(0, 0x240), &out, &err));
  CHECK(err.find("not an x86 bzImage") != std::string::npos);
  std::string far = image;
  put(&far, 0x24c, uint32_t(1) << 30);
  CHECK_FALSE(extract_vmlinux(far, &out, &err));
  CHECK(err.find("outside the file") != std::string::npos);
  std::string huge = image;
  put(&huge, image.size() - 100 - 4, uint32_t(3) << 30);  // the size trailer (bzimage() pads 100 bytes)
  CHECK_FALSE(extract_vmlinux(huge, &out, &err));
  CHECK(err.find("claims 3221225472 bytes") != std::string::npos);
  std::string corrupt = image;
  size_t at = 4 * 512 + 0x300 + 20;
  for (size_t i = 0; i < 64; ++i) corrupt[at + i] ^= 0x5a;
  CHECK_FALSE(extract_vmlinux(corrupt, &out, &err));
  CHECK(err.find("decompressing") != std::string::npos);
}

// The tar header block, shared by the writer (tar_writer) and the reader
// (tar_reader): where its fields lie (POSIX ustar; GNU tar's variant has
// access and change times where ustar has the name prefix) and its checksum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ctk::oci::tar {

constexpr size_t kBlock = 512;

struct Field {
  size_t at, size;
};
constexpr Field kName{0, 100}, kMode{100, 8}, kUid{108, 8}, kGid{116, 8}, kSize{124, 12}, kMtime{136, 12},
    kChecksum{148, 8}, kLinkname{157, 100}, kMagic{257, 8}, kDevMajor{329, 8}, kDevMinor{337, 8},
    kPrefix{345, 155}, kGnuAtime{345, 12}, kGnuCtime{357, 12};
constexpr size_t kType = 156;

// The magic and version fields together (8 bytes from kMagic.at).
constexpr std::string_view kUstarMagic{"ustar\0" "00", 8};
constexpr std::string_view kGnuMagic{"ustar  \0", 8};

// The checksum a header must carry: the sum of its bytes, as unsigned
// values, with the checksum field itself counted as eight spaces.
inline uint32_t header_sum(const unsigned char* block) {
  uint32_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += block[i];  // one vectorized loop
  for (size_t i = kChecksum.at; i < kChecksum.at + kChecksum.size; ++i) sum -= block[i];
  return sum + kChecksum.size * ' ';
}

}  // namespace ctk::oci::tar

// The agent protocol's framing (docs/PROTOCOL.md): one reliable byte stream
// between host and guest carries frames, each a 12-byte header and a payload
// of at most kMaxPayload bytes, addressed to a channel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ctk::proto {

constexpr uint32_t kVersion = 1;
constexpr uint32_t kControlChannel = 0;
constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxPayload = 64 * 1024;
// Each side may have this many unacknowledged bytes in flight per data channel.
constexpr uint32_t kInitialWindow = 256 * 1024;
// A control message (one JSON text) may span frames but not exceed this.
constexpr size_t kMaxMessage = 1024 * 1024;

enum class FrameType : uint8_t {
  kData = 0,    // payload: bytes of the channel's stream
  kWindow = 1,  // payload: u32 LE credit the sender grants the receiver on this channel
  kEof = 2,     // no payload: the sender sends nothing more on this channel
  kClose = 3,   // no payload: the sender reads nothing more; stop sending
};

struct FrameHeader {
  FrameType type = FrameType::kData;
  uint32_t channel = 0;
  uint32_t length = 0;
};

enum class HeaderCheck {
  kOk,
  kBadFrame,  // unknown type or reserved bits set: the frame is skipped, framing intact
  kTooLong,   // length over kMaxPayload: framing can no longer be trusted
};

void encode_header(const FrameHeader& h, uint8_t out[kHeaderSize]);
// Decodes kHeaderSize bytes. The length is filled in for every result but kTooLong.
HeaderCheck decode_header(const uint8_t in[kHeaderSize], FrameHeader* h);

// Appends one whole frame to out.
void append_frame(std::string* out, FrameType type, uint32_t channel, const void* data = nullptr,
                  size_t len = 0);

uint32_t load_u32(const uint8_t* p);
void store_u32(uint8_t* p, uint32_t v);

}  // namespace ctk::proto

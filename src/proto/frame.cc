#include "proto/frame.h"

namespace ctk::proto {

uint32_t load_u32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

void store_u32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
  p[2] = uint8_t(v >> 16);
  p[3] = uint8_t(v >> 24);
}

// Layout: type u8, flags u8 (0), reserved u16 (0), channel u32 LE, length u32 LE.
void encode_header(const FrameHeader& h, uint8_t out[kHeaderSize]) {
  out[0] = uint8_t(h.type);
  out[1] = out[2] = out[3] = 0;
  store_u32(out + 4, h.channel);
  store_u32(out + 8, h.length);
}

HeaderCheck decode_header(const uint8_t in[kHeaderSize], FrameHeader* h) {
  h->type = FrameType(in[0]);
  h->channel = load_u32(in + 4);
  h->length = load_u32(in + 8);
  if (h->length > kMaxPayload) return HeaderCheck::kTooLong;
  if (in[0] > uint8_t(FrameType::kClose) || in[1] || in[2] || in[3]) return HeaderCheck::kBadFrame;
  return HeaderCheck::kOk;
}

void append_frame(std::string* out, FrameType type, uint32_t channel, const void* data,
                  size_t len) {
  uint8_t header[kHeaderSize];
  encode_header({type, channel, uint32_t(len)}, header);
  out->append(reinterpret_cast<const char*>(header), kHeaderSize);
  if (len) out->append(static_cast<const char*>(data), len);
}

}  // namespace ctk::proto

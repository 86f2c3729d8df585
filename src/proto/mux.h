// The channel multiplexer of the agent protocol, shared by the guest agent and
// the host client. It does no I/O: the owner feeds it the bytes read from the
// stream and writes out what it queues, so it works over any transport and is
// tested in memory.
//
// Channel 0 carries control messages (JSON texts, one per line) and is not
// flow-controlled. Every other channel is a pair of byte streams with credit:
// a side may send only as many bytes as the peer has granted (kInitialWindow
// when the channel opens, more with each window frame the peer sends as it
// consumes). So a channel whose reader stops reading stalls only itself, and
// what a receiver buffers per channel never exceeds the window.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proto/frame.h"

namespace ctk::proto {

class Mux {
 public:
  enum class Input {
    kNone,     // everything fed so far is processed
    kMessage,  // text is a complete control message, without its newline
    kError,    // text is a recoverable protocol error, one line (the peer gets told)
    kFatal,    // text says why framing is lost (a length over kMaxPayload): hang up
  };

  // Takes bytes read from the stream; next() processes them.
  void feed(const void* data, size_t len);
  // Room for up to len bytes, for a read straight from the stream; fed(n)
  // then takes the n bytes the read put there. Saves feed's copy, which
  // counts in a guest under emulation, where every copy of bulk data does.
  char* feed_space(size_t len);
  void fed(size_t n) { in_len_ += n; }
  // Processes buffered frames up to the next thing the owner must act on.
  // Stream order holds: frames after a control message are processed only
  // once the owner has had it, so a request that opens a channel takes
  // effect before the data the peer sent right behind it.
  Input next(std::string* text);

  // What to write to the stream, and how much of it was written.
  std::string_view output() const { return std::string_view(out_).substr(out_off_); }
  void wrote(size_t n);

  // Queues one control message; a newline is appended (json dumps never contain one).
  void send_message(std::string_view json);

  // Opens a data channel on this side with fresh windows. False for 0 or an open channel.
  bool open(uint32_t ch);
  bool is_open(uint32_t ch) const { return channels_.count(ch) != 0; }
  // Forgets the channel: frames that still arrive for it are dropped.
  void release(uint32_t ch);
  std::vector<uint32_t> open_channels() const;

  // Bytes this side may still send on ch.
  size_t send_window(uint32_t ch) const;
  // Queues up to send_window(ch) bytes as data frames and returns how many. After
  // the peer closed the channel everything is accepted and dropped.
  size_t send(uint32_t ch, const void* data, size_t len);
  void send_eof(uint32_t ch);
  // This side reads nothing more: buffered and future data is dropped.
  void send_close(uint32_t ch);

  // Data received and not yet consumed.
  std::string_view received(uint32_t ch) const;
  // Marks n received bytes as consumed; the credit goes back to the peer.
  void consume(uint32_t ch, size_t n);
  // Lets the peer send n bytes more than the window it has: for bulk
  // channels, whose credit must cover a slow receiver's round trip.
  void grant(uint32_t ch, uint32_t n);
  // The peer sent EOF (all its data is in received()) or closed the channel.
  bool peer_eof(uint32_t ch) const;
  bool peer_closed(uint32_t ch) const;
  bool sent_eof(uint32_t ch) const;

 private:
  struct Channel {
    uint32_t send_window = kInitialWindow;  // bytes we may still send
    uint32_t recv_window = kInitialWindow;  // bytes the peer may still send
    uint32_t unacked = 0;                   // consumed, not yet granted back
    std::string in;
    size_t in_off = 0;
    bool peer_eof = false, peer_closed = false, sent_eof = false, sent_close = false;
  };

  void frame(FrameType type, uint32_t ch, const void* data, size_t len);
  // Appends control bytes; returns how many it took: up to the end of the
  // first message completed (then in *message) or the whole payload.
  size_t control_data(const char* p, size_t len, std::string* message, bool* got);
  // A data channel's window, EOF or close frame.
  void channel_frame(const FrameHeader& h, const char* payload);
  // A data frame's header: whether its payload is taken (else an error or
  // a quiet drop, as for a channel not open), its window charged.
  bool accept_data(const FrameHeader& h);
  // Takes what is here of the current data frame's payload.
  void take_payload();
  Channel* find(uint32_t ch);
  const Channel* find(uint32_t ch) const;

  // Received, not yet processed: in_buf_[in_off_, in_len_). A channel's
  // data goes on to its Channel::in as it arrives, not once its frame is
  // whole, so what stays here is at most a header or a small frame.
  std::unique_ptr<char[]> in_buf_;
  size_t in_cap_ = 0, in_len_ = 0, in_off_ = 0;
  // The data frame being taken in part by part: its channel and the bytes
  // still to come, kept (keep_) or dropped.
  uint32_t payload_ch_ = 0;
  size_t payload_left_ = 0;
  bool keep_ = false;
  size_t control_off_ = 0;  // how much of the current control frame's payload was taken
  std::deque<std::string> errors_;  // from the frame being processed
  std::string out_;
  size_t out_off_ = 0;
  std::string line_;             // partial control message
  bool skipping_line_ = false;   // inside an oversized message, dropping to its newline
  std::map<uint32_t, Channel> channels_;
};

}  // namespace ctk::proto

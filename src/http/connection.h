// One server-side HTTP/1.1 connection: requests read from a stream (a plain
// socket or TLS), bodies read as they arrive (Content-Length or chunked),
// responses written whole, streamed chunked, or the connection taken over
// (hijacked) for a raw byte stream, as Docker's attach and exec do.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/request.h"

namespace ctk::http {

// Bytes to and from the client. Reads block; a read of 0 is the client's
// end (or its half-close).
class Stream {
 public:
  virtual ~Stream() = default;
  virtual ssize_t read(char* buf, size_t size) = 0;
  virtual bool write_all(std::string_view data) = 0;
  // Whether bytes are buffered in the stream itself (TLS records already
  // decrypted), so a poll of fd() alone would miss them.
  virtual bool pending() const { return false; }
  virtual void shutdown_write() = 0;
  virtual int fd() const = 0;
};

// A stream over a connected socket, which it closes.
std::unique_ptr<Stream> socket_stream(int fd);

using Headers = std::vector<std::pair<std::string, std::string>>;

class Connection {
 public:
  explicit Connection(std::unique_ptr<Stream> stream) : stream_(std::move(stream)) {}

  // Reads the next request's head. false at the client's clean end between
  // requests (err empty) or on a malformed or oversized head (err set: the
  // caller answers 400 and closes).
  bool read_request(Request* out, std::string* err);

  // The current request's body, piece by piece: appends up to `max` bytes
  // to *out; *end is set once the body is complete. false with err when the
  // client breaks off or the framing is malformed.
  bool read_body(std::string* out, size_t max, bool* end, std::string* err);
  // The whole body, refused (err, *too_large) beyond limit bytes.
  bool read_whole_body(std::string* out, size_t limit, bool* too_large, std::string* err);
  // Reads and drops what is left of the body, up to limit bytes; false when
  // more is left (the connection cannot be reused).
  bool discard_body(size_t limit);
  bool body_complete() const { return body_left_ == 0 && !chunked_; }

  // A whole response. Date and Content-Length are added.
  bool respond(int status, const Headers& headers, std::string_view body);
  // A streamed response: chunked for HTTP/1.1 (the end is a last chunk),
  // close-delimited for 1.0. The head is sent at once, in its own write
  // (clients wait on it: docker's wait before start).
  bool begin_stream(int status, const Headers& headers);
  bool write_chunk(std::string_view data);
  bool end_stream();
  // Gives up on a streamed response that cannot be completed: the
  // connection is closed after it, without the last chunk, so the client
  // sees a cut-off body rather than a complete-looking one.
  void abort() { broken_ = true; }
  // Takes the connection over for raw bytes: 101 with Upgrade: protocol
  // (docker's tcp, or websocket) when the client asked to upgrade, else 200
  // (older clients), with headers, in a write of its own that the client has
  // read when this returns (up to 1 s). The stream then belongs to the
  // caller; the connection is not reused.
  bool hijack(const Headers& headers, std::string_view protocol = "tcp");

  // Bytes read past the current request (the start of the hijacked stream).
  std::string take_buffered();
  // Whether bytes of a next request were read already (pipelining).
  bool has_buffered() const { return !buf_.empty(); }
  Stream& stream() { return *stream_; }
  // Whether the client has gone, waiting up to wait_ms for it: hung up, or
  // with half_close also when it shut down its sending side (a client that
  // waits on an answer has then left; an attached one may only have ended
  // its stdin).
  bool client_left(int wait_ms, bool half_close);
  bool responded() const { return responded_; }
  bool hijacked() const { return hijacked_; }
  bool keep_alive() const { return keep_alive_ && !hijacked_ && !broken_; }
  const Request& request() const { return request_; }

 private:
  bool fill(std::string* err);  // reads more into buf_
  bool write_head(int status, const Headers& headers, const std::string* length, std::string_view body = {});

  std::unique_ptr<Stream> stream_;
  std::string buf_;  // read but not yet consumed
  Request request_;
  uint64_t body_left_ = 0;
  bool chunked_ = false;
  ChunkedDecoder chunks_;
  bool responded_ = false, hijacked_ = false, broken_ = false, keep_alive_ = true, streaming_chunked_ = false;
};

}  // namespace ctk::http

#include "proto/mux.h"

#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <tuple>
#include <vector>

using namespace ctk::proto;

namespace {

struct Inputs {
  std::vector<std::string> messages, errors;
  std::string fatal;
};

// Feeds bytes to m and collects what it reports.
Inputs feed(Mux& m, const std::string& bytes) {
  m.feed(bytes.data(), bytes.size());
  Inputs in;
  std::string text;
  for (;;) {
    switch (m.next(&text)) {
      case Mux::Input::kNone: return in;
      case Mux::Input::kMessage: in.messages.push_back(text); break;
      case Mux::Input::kError: in.errors.push_back(text); break;
      case Mux::Input::kFatal: in.fatal = text; return in;
    }
  }
}

// Moves everything a queued to b, as the stream would.
void pipe(Mux& a, Mux& b) {
  std::string bytes(a.output());
  a.wrote(bytes.size());
  Inputs in = feed(b, bytes);
  REQUIRE(in.fatal.empty());
  REQUIRE(in.errors.empty());
}

std::string raw_frame(uint8_t type, uint32_t ch, std::string payload, uint8_t flags = 0) {
  std::string s;
  append_frame(&s, FrameType(type), ch, payload.data(), payload.size());
  s[1] = char(flags);
  return s;
}

}  // namespace

TEST_CASE("frame header round trip and checks") {
  uint8_t buf[kHeaderSize];
  encode_header({FrameType::kWindow, 0xdeadbeef, 4}, buf);
  FrameHeader h;
  CHECK(decode_header(buf, &h) == HeaderCheck::kOk);
  CHECK(h.type == FrameType::kWindow);
  CHECK(h.channel == 0xdeadbeef);
  CHECK(h.length == 4);
  buf[0] = 9;
  CHECK(decode_header(buf, &h) == HeaderCheck::kBadFrame);
  buf[0] = 0;
  buf[2] = 1;
  CHECK(decode_header(buf, &h) == HeaderCheck::kBadFrame);
  encode_header({FrameType::kData, 1, uint32_t(kMaxPayload + 1)}, buf);
  CHECK(decode_header(buf, &h) == HeaderCheck::kTooLong);
}

TEST_CASE("control messages span frames and survive byte-at-a-time delivery") {
  Mux a, b;
  std::string big(200 * 1024, 'x');
  a.send_message("{\"id\":1}");
  a.send_message("{\"s\":\"" + big + "\"}");
  std::string bytes(a.output());
  Inputs in;
  for (char c : bytes) {
    Inputs one = feed(b, std::string(1, c));
    in.messages.insert(in.messages.end(), one.messages.begin(), one.messages.end());
  }
  REQUIRE(in.messages.size() == 2);
  CHECK(in.messages[0] == "{\"id\":1}");
  CHECK(in.messages[1].size() == big.size() + 8);
}

TEST_CASE("an oversized control message is dropped with an error, the next one arrives") {
  Mux b;
  std::string stream;
  std::string huge(kMaxMessage + 10, 'y');
  huge += "\n{\"id\":2}\n";
  for (size_t off = 0; off < huge.size(); off += kMaxPayload)
    append_frame(&stream, FrameType::kData, 0, huge.data() + off,
                 std::min(kMaxPayload, huge.size() - off));
  Inputs in = feed(b, stream);
  REQUIRE(in.messages.size() == 1);
  CHECK(in.messages[0] == "{\"id\":2}");
  REQUIRE(in.errors.size() == 1);
  CHECK(in.errors[0].find("over") != std::string::npos);
}

TEST_CASE("bad frames are skipped, an overlong length is fatal") {
  Mux b;
  std::string stream = raw_frame(7, 0, "junk") + raw_frame(0, 0, "x", 1) +
                       raw_frame(0, 0, "{\"id\":3}\n");
  Inputs in = feed(b, stream);
  CHECK(in.messages == std::vector<std::string>{"{\"id\":3}"});
  CHECK(in.errors.size() == 2);

  uint8_t h[kHeaderSize];
  encode_header({FrameType::kData, 5, 1u << 30}, h);
  in = feed(b, std::string(reinterpret_cast<char*>(h), sizeof h));
  CHECK(in.fatal.find("channel 5") != std::string::npos);
}

TEST_CASE("flow control: an unread channel stalls alone and stays bounded") {
  Mux a, b;
  REQUIRE(a.open(1));
  REQUIRE(a.open(2));
  REQUIRE(b.open(1));
  REQUIRE(b.open(2));
  std::string chunk(100 * 1000, 'z');
  size_t sent1 = 0, sent2 = 0, got2 = 0;
  const size_t total = 10 * 1000 * 1000;
  for (int round = 0; round < 10000 && got2 < total; ++round) {
    sent1 += a.send(1, chunk.data(), chunk.size());
    if (sent2 < total) sent2 += a.send(2, chunk.data(), std::min(chunk.size(), total - sent2));
    pipe(a, b);
    got2 += b.received(2).size();
    b.consume(2, b.received(2).size());  // channel 1 is never read
    pipe(b, a);
    CHECK(b.received(1).size() <= kInitialWindow);
  }
  CHECK(got2 == total);
  CHECK(sent1 == kInitialWindow);
  CHECK(a.send_window(1) == 0);
  CHECK(b.received(1).size() == kInitialWindow);
  // Reading channel 1 reopens it.
  b.consume(1, 1000);
  b.consume(1, 40 * 1024);
  pipe(b, a);
  CHECK(a.send_window(1) == 1000 + 40 * 1024);  // one batched grant
}

TEST_CASE("a grant widens a channel's window beyond the initial one, and bounds it there") {
  Mux a, b;
  REQUIRE(a.open(3));
  REQUIRE(b.open(3));
  b.grant(3, 512 * 1024);
  pipe(b, a);
  CHECK(a.send_window(3) == kInitialWindow + 512 * 1024);
  std::string big(2 * 1024 * 1024, 'g');
  CHECK(a.send(3, big.data(), big.size()) == kInitialWindow + 512 * 1024);
  pipe(a, b);  // all of it within the receiver's window: no error
  CHECK(b.received(3).size() == kInitialWindow + 512 * 1024);
  CHECK(a.send_window(3) == 0);
}

TEST_CASE("a sender that ignores the window gets an error, the excess is dropped") {
  Mux b;
  REQUIRE(b.open(4));
  std::string stream;
  std::string chunk(kMaxPayload, 'q');
  for (size_t i = 0; i < kInitialWindow / kMaxPayload + 1; ++i)
    append_frame(&stream, FrameType::kData, 4, chunk.data(), chunk.size());
  Inputs in = feed(b, stream);
  CHECK(b.received(4).size() == kInitialWindow);
  REQUIRE(in.errors.size() == 1);
  CHECK(in.errors[0].find("window") != std::string::npos);
}

TEST_CASE("eof and close per direction") {
  Mux a, b;
  a.open(3);
  b.open(3);
  CHECK(a.send(3, "hi", 2) == 2);
  a.send_eof(3);
  pipe(a, b);
  CHECK(b.received(3) == "hi");
  CHECK(b.peer_eof(3));
  CHECK(a.send(3, "more", 4) == 0);
  // b can still send on its direction.
  CHECK(b.send(3, "back", 4) == 4);
  b.send_close(3);
  pipe(b, a);
  CHECK(a.received(3) == "back");
  CHECK(a.peer_closed(3));
  // Frames for unknown channels are dropped quietly.
  CHECK(feed(b, raw_frame(0, 99, "lost")).errors.empty());
}

TEST_CASE("frames behind a control message wait until the owner has it") {
  Mux b;
  std::string stream = raw_frame(0, 0, "{\"open\":7}\n{\"second\":1}\n") + raw_frame(0, 7, "early");
  b.feed(stream.data(), stream.size());
  std::string text;
  REQUIRE(b.next(&text) == Mux::Input::kMessage);
  CHECK(text == "{\"open\":7}");
  REQUIRE(b.open(7));  // what a request naming channel 7 does
  REQUIRE(b.next(&text) == Mux::Input::kMessage);
  CHECK(text == "{\"second\":1}");
  CHECK(b.next(&text) == Mux::Input::kNone);
  CHECK(b.received(7) == "early");
}

TEST_CASE("a channel's data is taken as it arrives, not once its frame is whole") {
  Mux b;
  REQUIRE(b.open(2));
  std::string payload(50000, 'd');
  std::string stream = raw_frame(0, 2, payload);
  CHECK(feed(b, stream.substr(0, 3)).errors.empty());  // part of a header
  CHECK(b.received(2).empty());
  feed(b, stream.substr(3, 20000));
  CHECK(b.received(2).size() == 20003 - kHeaderSize);
  // Read straight into the mux's buffer, as the agent does.
  size_t rest = stream.size() - 20003;
  std::memcpy(b.feed_space(rest), stream.data() + 20003, rest);
  b.fed(rest);
  std::string text;
  CHECK(b.next(&text) == Mux::Input::kNone);
  CHECK(b.received(2) == payload);
}

TEST_CASE("a channel closed while its frame is half here drops the rest") {
  Mux b;
  REQUIRE(b.open(2));
  std::string stream = raw_frame(0, 2, std::string(1000, 'x')) + raw_frame(0, 0, "{\"after\":1}\n");
  feed(b, stream.substr(0, 500));
  b.release(2);
  Inputs in = feed(b, stream.substr(500));
  CHECK(in.errors.empty());
  CHECK(in.messages == std::vector<std::string>{"{\"after\":1}"});
  CHECK(b.received(2).empty());
}

TEST_CASE("any split of a stream gives what the whole stream gives") {
  auto stream = [] {
    std::string s = raw_frame(0, 0, "{\"a\":1}\n") + raw_frame(0, 3, std::string(70000 % kMaxPayload, 'p'));
    s += raw_frame(7, 3, "bad") + raw_frame(0, 3, "tail") + raw_frame(0, 9, "nobody");
    uint8_t credit[4];
    store_u32(credit, 4096);
    s += raw_frame(1, 3, std::string(reinterpret_cast<char*>(credit), 4)) + raw_frame(2, 3, "");
    return s + raw_frame(0, 0, "{\"b\":2}\n");
  }();
  auto run = [&](size_t step) {
    Mux b;
    REQUIRE(b.open(3));
    Inputs all;
    for (size_t off = 0; off < stream.size(); off += step) {
      Inputs in = feed(b, stream.substr(off, step));
      all.messages.insert(all.messages.end(), in.messages.begin(), in.messages.end());
      all.errors.insert(all.errors.end(), in.errors.begin(), in.errors.end());
    }
    return std::tuple{all.messages, all.errors, std::string(b.received(3)), b.send_window(3), b.peer_eof(3)};
  };
  auto whole = run(stream.size());
  CHECK(std::get<0>(whole) == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"});
  CHECK(std::get<1>(whole).size() == 1);  // the bad frame
  CHECK(std::get<2>(whole) == std::string(70000 % kMaxPayload, 'p') + "tail");
  CHECK(std::get<3>(whole) == kInitialWindow + 4096);
  CHECK(std::get<4>(whole));
  for (size_t step : {1, 2, 7, 13, 4096, 65536}) {
    CAPTURE(step);
    CHECK(run(step) == whole);
  }
}

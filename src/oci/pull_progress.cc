#include "oci/pull_progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

#include "base/strings.h"

namespace ctk::oci {

namespace {

constexpr auto kRedrawEvery = std::chrono::milliseconds(100);

std::string rate_and_eta(uint64_t bytes, double seconds, uint64_t left) {
  double rate = seconds > 0 ? double(bytes) / seconds : 0;
  std::string out = format_size(uint64_t(rate)) + "/s";
  if (left > 0) out += rate > 0 ? "  ETA " + std::to_string(uint64_t(double(left) / rate + 0.5)) + "s" : "  ETA -";
  return out;
}

// Rows wider than the terminal would wrap, and more rows than it has would
// scroll: either throws off the cursor-up count.
winsize terminal_size() {
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col < 2) ws.ws_col = 80;
  if (ws.ws_row < 3) ws.ws_row = 24;
  return ws;
}

}  // namespace

std::string format_row(const BlobRow& row) {
  std::string out = row.name + ": ";
  switch (row.phase) {
    case BlobRow::kWaiting:
      return out + "waiting";
    case BlobRow::kPresent:
      return out + "already present";
    case BlobRow::kDone:
      return out + "done " + format_size(row.size) +
             (row.resumed ? " (resumed at " + format_size(row.resumed) + ")" : "");
    case BlobRow::kDownloading:
      break;
  }
  int percent = row.size ? int(row.done * 100 / row.size) : 100;
  return out + "downloading " + std::to_string(percent) + "%  " + format_size(row.done) + " / " +
         format_size(row.size) + "  " + rate_and_eta(row.done - row.resumed, row.seconds, row.size - row.done);
}

PullProgress::PullProgress(Progress mode, const std::vector<Descriptor>& blobs)
    : mode_(mode), start_(Clock::now()), count_(blobs.size()), slots_(new Slot[blobs.size()]) {
  for (size_t i = 0; i < count_; ++i) {
    slots_[i].name = blobs[i].digest.substr(7, 12);
    slots_[i].size = blobs[i].size;
    total_ += blobs[i].size;
  }
}

PullProgress::~PullProgress() { stop(); }

int64_t PullProgress::now_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count();
}

void PullProgress::note(const std::string& text) {
  if (mode_ != Progress::kQuiet) print_line(text);
}

void PullProgress::start() {
  if (mode_ == Progress::kTerminal) renderer_ = std::thread([this] { render_loop(); });
}

void PullProgress::print_line(const std::string& text) {
  std::lock_guard<std::mutex> lock(mu_);
  std::fprintf(stderr, "%s\n", text.c_str());
  std::fflush(stderr);
}

void PullProgress::present(size_t i) {
  Slot& s = slots_[i];
  s.done = s.size;
  s.phase = BlobRow::kPresent;
  ++present_blobs_;
  if (mode_ == Progress::kLines) print_line(format_row(snapshot(s, now_ns())));
}

void PullProgress::downloading(size_t i, uint64_t resumed) {
  Slot& s = slots_[i];
  s.resumed = resumed;
  s.done = resumed;
  s.started_ns = now_ns();
  s.phase = BlobRow::kDownloading;
}

void PullProgress::add(size_t i, uint64_t n) {
  slots_[i].done += n;
  fetched_ += n;
}

void PullProgress::finished(size_t i) {
  Slot& s = slots_[i];
  s.finished_ns = now_ns();
  s.phase = BlobRow::kDone;
  ++fetched_blobs_;
  if (mode_ == Progress::kLines) print_line(format_row(snapshot(s, now_ns())));
}

BlobRow PullProgress::snapshot(const Slot& s, int64_t now) const {
  BlobRow row;
  row.name = s.name;
  row.size = s.size;
  row.phase = BlobRow::Phase(s.phase.load());
  row.done = s.done;
  row.resumed = s.resumed;
  int64_t end = row.phase == BlobRow::kDone ? s.finished_ns.load() : now;
  row.seconds = double(end - s.started_ns) / 1e9;
  return row;
}

void PullProgress::draw() {
  int64_t now = now_ns();
  winsize ws = terminal_size();
  size_t width = ws.ws_col - 1U;
  std::string frame;
  if (drawn_rows_ > 0) frame += "\x1b[" + std::to_string(drawn_rows_) + "A";
  size_t rows = 0;
  auto add_row = [&](std::string text) {
    if (text.size() > width) text.resize(width);
    frame += "\r\x1b[K" + text + "\n";
    ++rows;
  };
  std::vector<BlobRow> all;
  uint64_t done = 0;
  for (size_t i = 0; i < count_; ++i) {
    all.push_back(snapshot(slots_[i], now));
    done += all.back().done;
  }
  // One row per blob while they fit (the total and the cursor's line take
  // two); beyond that, downloads first, then the waiting, then the finished,
  // and one line counting the rest.
  size_t room = ws.ws_row - 2U;
  std::vector<bool> shown(count_, count_ <= room);
  if (count_ > room) {
    size_t left = room - 1;
    for (int phase : {BlobRow::kDownloading, BlobRow::kWaiting, BlobRow::kDone, BlobRow::kPresent})
      for (size_t i = 0; i < count_ && left; ++i)
        if (all[i].phase == phase) shown[i] = true, --left;
  }
  size_t hidden = 0, hidden_finished = 0;
  for (size_t i = 0; i < count_; ++i) {
    if (shown[i]) {
      add_row(format_row(all[i]));
    } else {
      ++hidden;
      hidden_finished += all[i].phase == BlobRow::kDone || all[i].phase == BlobRow::kPresent;
    }
  }
  if (hidden)
    add_row("... " + std::to_string(hidden) + " more blobs, " + std::to_string(hidden_finished) + " of them finished");
  add_row("total: " + format_size(done) + " / " + format_size(total_) + "  " +
          rate_and_eta(fetched_, double(now) / 1e9, total_ - std::min(done, total_)));
  frame += "\x1b[J";  // a frame shorter than the last leaves nothing below
  drawn_rows_ = rows;
  std::fputs(frame.c_str(), stderr);
  std::fflush(stderr);
}

void PullProgress::render_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    draw();
    cv_.wait_for(lock, kRedrawEvery);
  }
  draw();  // the final state: every row done or present
}

void PullProgress::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = stopping_ = true;
    elapsed_ = double(now_ns()) / 1e9;
  }
  cv_.notify_all();
  if (renderer_.joinable()) renderer_.join();
}

void PullProgress::summary(const std::string& ref_name, const std::string& digest) {
  stop();
  if (mode_ == Progress::kQuiet) return;
  uint64_t fetched = fetched_;
  std::fprintf(stderr, "Digest: %s\n", digest.c_str());
  std::fprintf(stderr, "Pulled %s: %d blobs fetched (%s in %.1f s, %.1f MB/s), %d already present, %s in all\n",
               ref_name.c_str(), fetched_blobs_.load(), format_size(fetched).c_str(), elapsed_,
               elapsed_ > 0 ? double(fetched) / 1e6 / elapsed_ : 0.0, present_blobs_.load(),
               format_size(total_).c_str());
}

}  // namespace ctk::oci

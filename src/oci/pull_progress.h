// What `ctk pull` shows while blobs download. The download workers only bump
// per-blob atomics; printing happens in one place. On a terminal a renderer
// thread redraws one row per blob and a total row in place (ANSI cursor-up),
// at most 10 times a second; otherwise each blob gets one plain line when it
// completes. Everything goes to standard error, like the rest of ctk's
// diagnostics, so standard output stays for -q's digest.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "oci/store.h"

namespace ctk::oci {

enum class Progress { kQuiet, kLines, kTerminal };

// One blob's state at one moment, as a row shows it.
struct BlobRow {
  enum Phase { kWaiting, kDownloading, kDone, kPresent };
  std::string name;  // the short digest
  Phase phase = kWaiting;
  uint64_t size = 0;
  uint64_t done = 0;     // bytes in place, resumed ones included
  uint64_t resumed = 0;  // bytes an earlier run left in ingest/
  double seconds = 0;    // spent downloading so far (or in all, when done)
};

// "0123456789ab: downloading  42%  1.2 MiB / 2.0 MiB  3.1 MiB/s  ETA 1s"; the
// done and present forms are the lines printed when not on a terminal.
std::string format_row(const BlobRow& row);

class PullProgress {
 public:
  PullProgress(Progress mode, const std::vector<Descriptor>& blobs);
  ~PullProgress();
  PullProgress(const PullProgress&) = delete;
  PullProgress& operator=(const PullProgress&) = delete;

  // A line above the rows ("Pulling ..."); call before start().
  void note(const std::string& text);
  // Starts the renderer (terminal mode).
  void start();

  // Worker calls, by blob index; safe from any thread.
  void present(size_t i);
  void downloading(size_t i, uint64_t resumed);
  void add(size_t i, uint64_t n);
  void finished(size_t i);

  // Draws the final state and stops the renderer. Idempotent.
  void stop();
  // "Digest: ..." and the summary line (bytes, time, MB/s); stop()s first.
  void summary(const std::string& ref_name, const std::string& digest);

 private:
  using Clock = std::chrono::steady_clock;
  struct Slot {
    std::string name;
    uint64_t size = 0;
    std::atomic<int> phase{BlobRow::kWaiting};
    std::atomic<uint64_t> done{0};
    std::atomic<uint64_t> resumed{0};
    std::atomic<int64_t> started_ns{0};   // since start_
    std::atomic<int64_t> finished_ns{0};  // since start_
  };

  int64_t now_ns() const;
  BlobRow snapshot(const Slot& s, int64_t now) const;
  void print_line(const std::string& text);
  void draw();  // with mu_ held
  void render_loop();

  Progress mode_;
  Clock::time_point start_;
  size_t count_;
  std::unique_ptr<Slot[]> slots_;
  uint64_t total_ = 0;
  std::atomic<uint64_t> fetched_{0};
  std::atomic<int> fetched_blobs_{0}, present_blobs_{0};

  std::mutex mu_;  // output and the renderer's state
  std::condition_variable cv_;
  bool stopping_ = false;
  bool stopped_ = false;
  size_t drawn_rows_ = 0;
  double elapsed_ = 0;  // fixed by stop()
  std::thread renderer_;
};

}  // namespace ctk::oci

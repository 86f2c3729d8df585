#include "oci/pull.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "base/strings.h"

namespace ctk::oci {

namespace {

using Clock = std::chrono::steady_clock;

std::string short_digest(const std::string& digest) { return digest.substr(7, 12); }

// Progress output shared by the download workers: per-blob lines, and on a
// terminal one live status line (bytes, rate, ETA) redrawn in place.
class Reporter {
 public:
  Reporter(Progress mode, uint64_t total) : mode_(mode), total_(total), start_(Clock::now()) {
    if (mode_ == Progress::kTerminal) ticker_ = std::thread([this] { tick(); });
  }
  ~Reporter() { stop(); }

  void add(uint64_t n) { done_ += n; }
  void line(const std::string& text) {
    if (mode_ == Progress::kQuiet) return;
    std::lock_guard<std::mutex> lock(mu_);
    std::fprintf(stderr, "%s%s\n", mode_ == Progress::kTerminal ? "\r\x1b[K" : "", text.c_str());
    if (mode_ == Progress::kTerminal) draw();
  }
  void stop() {
    if (!ticker_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    ticker_.join();
    std::fputs("\r\x1b[K", stderr);
  }
  double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  void tick() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      draw();
      cv_.wait_for(lock, std::chrono::milliseconds(200));
    }
  }
  void draw() {
    double s = seconds();
    uint64_t done = done_;
    double rate = s > 0 ? done / s : 0;
    std::string eta = rate > 0 && total_ > done ? std::to_string(int((total_ - done) / rate)) + "s" : "-";
    std::fprintf(stderr, "\r\x1b[K%s / %s  %s/s  ETA %s", format_size(done).c_str(), format_size(total_).c_str(),
                 format_size(uint64_t(rate)).c_str(), eta.c_str());
    std::fflush(stderr);
  }

  Progress mode_;
  uint64_t total_;
  std::atomic<uint64_t> done_{0};
  Clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread ticker_;
};

}  // namespace

bool pull_image(Store& store, const Reference& ref, const PullOptions& options, PullResult* result,
                std::string* err) {
  Registry registry(ref.registry, options.registry);
  if (!registry.init(err)) return false;
  const std::string what = ref.str();
  const Platform want = options.platform.os.empty() ? host_platform() : options.platform;

  Manifest top;
  if (!registry.get_manifest(ref.repository, ref.target(), &top, err)) return false;
  std::string type;
  bool is_index;
  if (!classify_manifest(top.media_type, top.body, what, &type, &is_index, err)) return false;
  Manifest image = top;
  if (is_index) {
    Descriptor chosen;
    if (!select_platform(top.body, what, want, &chosen, err)) return false;
    if (!registry.get_manifest(ref.repository, chosen.digest, &image, err)) return false;
    if (!classify_manifest(image.media_type, image.body, what, &type, &is_index, err)) return false;
    if (is_index) {
      *err = what + ": an index inside an index is not supported";
      return false;
    }
  }
  ImageManifest manifest;
  if (!parse_manifest(image.body, what, &manifest, err)) return false;

  // Blobs being written are not yet referenced: keep garbage collection out.
  FileLock writes;
  if (!store.lock_writes(&writes, err)) return false;

  std::vector<Descriptor> blobs = {manifest.config};
  std::set<std::string> seen = {manifest.config.digest};
  for (const Descriptor& l : manifest.layers)
    if (seen.insert(l.digest).second) blobs.push_back(l);
  uint64_t total = 0;
  for (const Descriptor& b : blobs) total += b.size;

  Reporter reporter(options.progress, total);
  reporter.line("Pulling " + what + " (" + want.str() + ")");
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::atomic<uint64_t> fetched{0};
  std::atomic<int> fetched_blobs{0}, present_blobs{0};
  std::mutex err_mu;
  std::string first_err;
  auto worker = [&] {
    while (!failed) {
      size_t i = next++;
      if (i >= blobs.size()) return;
      const Descriptor& b = blobs[i];
      std::string e;
      BlobWriter w;
      bool ok = w.open(store, b.digest, b.size, &e);
      if (ok && w.done()) {
        ++present_blobs;
        reporter.add(b.size);
        reporter.line(short_digest(b.digest) + ": already present");
        continue;
      }
      if (ok) {
        uint64_t resumed = w.offset();
        reporter.add(resumed);
        ok = registry.fetch_blob(ref.repository, b, w, [&](uint64_t n) { reporter.add(n), fetched += n; }, &e);
        if (ok) {
          ++fetched_blobs;
          reporter.line(short_digest(b.digest) + ": done " + format_size(b.size) +
                        (resumed ? " (resumed at " + format_size(resumed) + ")" : ""));
        }
      }
      if (!ok) {
        std::lock_guard<std::mutex> lock(err_mu);
        if (!failed.exchange(true)) first_err = e;
        return;
      }
    }
  };
  int jobs = std::max(1, std::min<int>(options.jobs, int(blobs.size())));
  std::vector<std::thread> threads;
  for (int i = 1; i < jobs; ++i) threads.emplace_back(worker);
  worker();
  for (std::thread& t : threads) t.join();
  double seconds = reporter.seconds();
  reporter.stop();
  if (failed) {
    *err = first_err;
    return false;
  }

  // Docker manifests are stored as their OCI equivalent: skopeo and umoci
  // see only OCI manifests in a layout. The registry's digest is kept.
  std::string source_digest;
  if (type == media::kDockerManifest) {
    std::string converted;
    if (!docker_to_oci_manifest(image.body, what, &converted, err)) return false;
    source_digest = image.digest;
    image.body = std::move(converted);
    type = media::kOciManifest;
  }
  std::string manifest_digest;
  if (!store.put_blob(image.body, &manifest_digest, err)) return false;
  Descriptor desc{type, manifest_digest, image.body.size(), "", source_digest};
  std::string ref_name = ref.store_name();
  if (!store.set_ref(ref_name, desc, err)) return false;
  desc.ref_name = ref_name;
  result->image = desc;
  result->ref_name = ref_name;
  result->fetched_bytes = fetched;
  result->fetched_blobs = fetched_blobs;
  result->present_blobs = present_blobs;
  if (options.progress != Progress::kQuiet) {
    std::fprintf(stderr, "Digest: %s\n", manifest_digest.c_str());
    double mb = double(fetched) / 1e6;
    std::fprintf(stderr, "Pulled %s: %d blobs fetched (%s in %.1f s, %.1f MB/s), %d already present\n",
                 ref_name.c_str(), int(fetched_blobs), format_size(fetched).c_str(), seconds,
                 seconds > 0 ? mb / seconds : 0.0, int(present_blobs));
  }
  return true;
}

}  // namespace ctk::oci

#include "oci/pull.h"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

namespace ctk::oci {

namespace {

// Pulls ref's repository from `source` (ref's own registry, or a mirror of it).
bool pull_from(Store& store, const std::string& source, const RegistryOptions& registry_options, const Reference& ref,
               const PullOptions& options, PullResult* result, std::string* err) {
  Registry registry(source, registry_options);
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

  PullProgress progress(options.progress, blobs);
  progress.note("Pulling " + what + " (" + want.str() + ")");
  progress.start();
  PullObserver* observer = options.observer;
  if (observer) observer->blobs(blobs);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
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
        progress.present(i);
        if (observer) observer->present(i);
        continue;
      }
      if (ok) {
        progress.downloading(i, w.offset());
        if (observer) observer->downloading(i, w.offset());
        uint64_t done = w.offset();
        ok = registry.fetch_blob(ref.repository, b, w, [&](uint64_t n) {
          progress.add(i, n);
          if (observer) observer->progress(i, done += n);
        }, &e);
        if (ok) progress.finished(i);
        if (ok && observer) observer->finished(i);
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
  progress.stop();
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
  result->registry_digest = top.digest;
  progress.summary(ref_name, manifest_digest);
  return true;
}

}  // namespace

bool parse_mirror(const std::string& text, std::string* host, bool* plain_http, std::string* err) {
  std::string_view t = text;
  *plain_http = t.starts_with("http://");
  if (*plain_http) t.remove_prefix(7);
  else if (t.starts_with("https://")) t.remove_prefix(8);
  while (t.ends_with("/")) t.remove_suffix(1);
  if (t.empty() || t.find_first_of("/?#@ ") != std::string_view::npos) {
    *err = "registry mirror '" + text + "': want [http[s]://]HOST[:PORT]";
    return false;
  }
  *host = std::string(t);
  return true;
}

bool pull_image(Store& store, const Reference& ref, const PullOptions& options, PullResult* result,
                std::string* err) {
  std::string mirror_err;
  if (ref.registry == kDockerHub && !options.registry.hub_mirror.empty()) {
    RegistryOptions mirror = options.registry;
    mirror.credential.reset();
    mirror.anonymous = true;
    mirror.cert_dir.clear();
    std::string host;
    if (parse_mirror(options.registry.hub_mirror, &host, &mirror.plain_http, &mirror_err) &&
        pull_from(store, host, mirror, ref, options, result, &mirror_err))
      return true;
  }
  if (pull_from(store, ref.registry, options.registry, ref, options, result, err)) return true;
  if (!mirror_err.empty()) *err += " (the mirror " + options.registry.hub_mirror + ": " + mirror_err + ")";
  return false;
}

}  // namespace ctk::oci

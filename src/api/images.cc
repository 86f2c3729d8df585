// The image endpoints: list, inspect, history, pull (/images/create), tag,
// remove, prune, save (/get), load, and /auth. Everything is the image
// store's (oci/images.h gives docker's view of it: images by config digest
// with all their names); the server keeps nothing. Archives stream through
// a pipe between the connection and the library's reader or writer, so an
// image is never held in memory.
#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include "api/handlers.h"
#include "api/server_state.h"
#include "base/strings.h"
#include "container/state.h"
#include "oci/images.h"
#include "oci/json.h"
#include "oci/load.h"
#include "oci/pull.h"
#include "oci/reference.h"
#include "oci/registry.h"
#include "oci/save.h"

namespace ctk::api {

using nlohmann::json;

namespace {

bool open_store(Context& c, oci::Store* store) {
  std::string why;
  if (store->open(c.server.data_root(), &why)) return true;
  c.reply_error(500, why);
  return false;
}

// The image the path's {name} names; false after a 404 (or 400).
bool find(Context& c, const oci::Store& store, oci::StoredImage* image, std::string* matched = nullptr) {
  std::string ignored;
  Error err;
  if (oci::find_image(store, c.param("name"), image, matched ? matched : &ignored, &err)) return true;
  c.reply_error(err);
  return false;
}

// A JSON string from config, or fallback.
std::string text_of(const json& obj, const char* key, const std::string& fallback = "") {
  return obj.is_object() && obj.contains(key) && obj[key].is_string() ? obj[key].get<std::string>() : fallback;
}

json labels_of(const oci::StoredImage& image) {
  const json& c = image.config;
  if (c.contains("config") && c["config"].is_object() && c["config"].contains("Labels") &&
      c["config"]["Labels"].is_object())
    return c["config"]["Labels"];
  return json::object();
}

std::vector<std::string> usage_of(const std::string& data_root, const std::string& image_id) {
  container::Containers all;
  Error ignored;
  if (!all.open(data_root, &ignored)) return {};
  return all.image_users(image_id);
}

// A pipe whose ends close with it.
struct Pipe {
  int fd[2] = {-1, -1};
  bool open() { return ::pipe2(fd, O_CLOEXEC) == 0; }
  void close(int end) {
    if (fd[end] >= 0) ::close(fd[end]);
    fd[end] = -1;
  }
  ~Pipe() { close(0), close(1); }
};

bool write_all_fd(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(size_t(n));
  }
  return true;
}

const http::Headers kJsonStream = {{"Content-Type", "application/json"}, {"Api-Version", std::string(kApiVersion)}};

std::string line(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

// docker's progress bar: "[=====>      ]  1.2MB/3.4MB".
std::string progress_bar(uint64_t done, uint64_t total) {
  constexpr int kWidth = 50;
  int filled = total ? int(done * kWidth / total) : kWidth;
  std::string bar = "[" + std::string(size_t(std::max(0, filled - 1)), '=') + (filled > 0 ? ">" : "") +
                    std::string(size_t(kWidth - std::max(filled, 0)), ' ') + "] ";
  return bar + format_size(done) + "/" + format_size(total);
}

// docker pull's JSON lines from a pull's progress. The response starts
// with the first line, once the manifest is known: a failure before that
// (no such image, bad credentials) is a plain error status instead.
class JsonPullProgress : public oci::PullObserver {
 public:
  JsonPullProgress(Context& c, std::string repository, std::string tag)
      : c_(c), repository_(std::move(repository)), tag_(std::move(tag)) {}

  void blobs(const std::vector<oci::Descriptor>& blobs) override {
    std::lock_guard<std::mutex> lock(mu_);
    blobs_ = blobs;
    last_.assign(blobs.size(), {});
    started_ = c_.conn.begin_stream(200, kJsonStream);
    send({{"status", "Pulling from " + repository_}, {"id", tag_}});
    // The config (blob 0) is no layer: docker shows layers only.
    for (size_t i = 1; i < blobs_.size(); ++i) send(layer(i, "Pulling fs layer"));
  }
  void present(size_t i) override { event(i, "Already exists"); }
  void downloading(size_t i, uint64_t offset) override { progress(i, offset); }
  void progress(size_t i, uint64_t done) override {
    if (i == 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    // At most ten lines a second per layer: a fast pull would otherwise
    // send one per network read.
    auto now = std::chrono::steady_clock::now();
    if (now - last_[i] < std::chrono::milliseconds(100) && done < blobs_[i].size) return;
    last_[i] = now;
    json j = layer(i, "Downloading");
    j["progressDetail"] = {{"current", done}, {"total", blobs_[i].size}};
    j["progress"] = progress_bar(done, blobs_[i].size);
    send(j);
  }
  void finished(size_t i) override {
    event(i, "Download complete");
    event(i, "Pull complete");
  }

  bool started() {
    std::lock_guard<std::mutex> lock(mu_);
    return started_;
  }
  void status(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu_);
    send({{"status", text}});
  }
  void error(const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    send({{"errorDetail", {{"message", message}}}, {"error", message}});
  }

 private:
  json layer(size_t i, const char* status) {
    return {{"status", status}, {"progressDetail", json::object()}, {"id", blobs_[i].digest.substr(7, 12)}};
  }
  void event(size_t i, const char* status) {
    if (i == 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    send(layer(i, status));
  }
  // With mu_ held. A client gone mid-pull is no reason to stop it: the
  // image still lands in the store, as with docker.
  void send(const json& j) {
    if (started_ && !gone_) gone_ = !c_.conn.write_chunk(line(j));
  }

  Context& c_;
  std::string repository_, tag_;
  std::mutex mu_;
  std::vector<oci::Descriptor> blobs_;
  std::vector<std::chrono::steady_clock::time_point> last_;
  bool started_ = false, gone_ = false;
};

// The status of a pull that failed before its first line. Refused
// credentials are 403, not 401: the docker CLI answers a 401 by prompting
// for a login, which fails without a terminal and hides the reason.
int pull_failure_status(const std::string& message) {
  if (message.find("not found") != std::string::npos) return 404;
  if (message.find("authentication required") != std::string::npos ||
      message.find("wrong username or password") != std::string::npos)
    return 403;
  return 500;
}

// The images a save names, each found before the stream begins (so that a
// missing one is a 404): a reference as the entry it matched, an image id as
// given (saved without a name, as docker saves it).
bool names_to_save(Context& c, const oci::Store& store, const std::vector<std::string>& given,
                   std::vector<std::string>* out) {
  if (given.empty()) return c.reply_error(400, "no image names given"), false;
  for (const std::string& name : given) {
    oci::StoredImage image;
    std::string matched;
    Error err;
    if (!oci::find_image(store, name, &image, &matched, &err)) return c.reply_error(err), false;
    out->push_back(matched.empty() ? name : matched);
  }
  return true;
}

void stream_save(Context& c, const std::vector<std::string>& given) {
  oci::Store store;
  std::vector<std::string> names;
  if (!open_store(c, &store) || !names_to_save(c, store, given, &names)) return;
  Pipe pipe;
  if (!pipe.open()) return c.reply_error(500, sys_error("pipe"));
  std::string err;
  bool ok = false;
  // The archive is written by a thread into the pipe while this one sends
  // what comes out of it.
  std::thread writer([&] {
    std::vector<std::string> saved;
    ok = oci::save_archive(store, names, pipe.fd[1], "the response", &saved, &err);
    pipe.close(1);
  });
  bool sending = c.conn.begin_stream(200, {{"Content-Type", "application/x-tar"}, {"Api-Version", std::string(kApiVersion)}});
  std::string buf(1 << 20, '\0');
  while (sending) {
    ssize_t n = ::read(pipe.fd[0], buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sending = c.conn.write_chunk(std::string_view(buf.data(), size_t(n)));
  }
  // A client gone: closing the pipe ends the writer (EPIPE).
  pipe.close(0);
  writer.join();
  if (ok && sending) c.conn.end_stream();
  else c.conn.abort();
}

}  // namespace

bool decode_registry_auth(std::string_view header, std::optional<oci::Credential>* out, std::string* err) {
  out->reset();
  if (header.empty()) return true;
  std::string text, why;
  json j;
  if (!base64_decode(header, &text)) return *err = "invalid X-Registry-Auth header: not base64", false;
  if (!oci::parse_json(text, &j, &why) || !j.is_object())
    return *err = "invalid X-Registry-Auth header: " + (why.empty() ? std::string("not a JSON object") : why), false;
  oci::Credential cred;
  for (auto [key, field] : {std::pair{"username", &cred.user}, std::pair{"password", &cred.password},
                            std::pair{"identitytoken", &cred.identity_token}}) {
    if (!j.contains(key) || j[key].is_null()) continue;
    if (!j[key].is_string()) return *err = std::string("invalid X-Registry-Auth header: ") + key + " is not a string", false;
    *field = j[key].get<std::string>();
  }
  if (!cred.user.empty() || !cred.password.empty() || !cred.identity_token.empty()) *out = cred;
  return true;
}

bool parse_image_filters(const std::vector<std::string>& filters, ImageFilters* out, std::string* err) {
  for (const std::string& f : filters) {
    size_t eq = f.find('=');
    std::string key = f.substr(0, eq), value = eq == std::string::npos ? "" : f.substr(eq + 1);
    if (key == "reference") out->reference.push_back(value);
    else if (key == "label") out->label.push_back(value);
    else if (key == "before") out->before.push_back(value);
    else if (key == "since") out->since.push_back(value);
    else if (key == "dangling") {
      if (value == "true" || value == "1") out->dangling = true;
      else if (value == "false" || value == "0") out->dangling = false;
      else return *err = "invalid filter 'dangling=" + value + "'", false;
    } else {
      return *err = "invalid filter '" + key + "'", false;
    }
  }
  return true;
}

bool reference_matches(std::string_view pattern, std::string_view name) {
  // As docker: the pattern against the familiar name with its tag, and
  // against the repository alone ("busy*" matches busybox:latest).
  size_t slash = name.rfind('/'), colon = name.rfind(':');
  bool tagged = colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash);
  std::string p(pattern), full(name), repo(tagged ? name.substr(0, colon) : name);
  return ::fnmatch(p.c_str(), full.c_str(), FNM_PATHNAME) == 0 || ::fnmatch(p.c_str(), repo.c_str(), FNM_PATHNAME) == 0;
}

bool image_matches(const oci::StoredImage& image, const ImageFilters& f, std::vector<std::string>* tags) {
  *tags = oci::repo_tags(image);
  if (f.dangling && *f.dangling != tags->empty()) return false;
  if (!f.reference.empty()) {
    std::vector<std::string> kept;
    for (const std::string& t : *tags)
      if (std::any_of(f.reference.begin(), f.reference.end(), [&](const std::string& p) { return reference_matches(p, t); }))
        kept.push_back(t);
    if (kept.empty()) return false;
    *tags = kept;
  }
  json labels = labels_of(image);
  for (const std::string& l : f.label) {
    size_t eq = l.find('=');
    std::string key = l.substr(0, eq);
    if (!labels.contains(key) || !labels[key].is_string()) return false;
    if (eq != std::string::npos && labels[key].get<std::string>() != l.substr(eq + 1)) return false;
  }
  return true;
}

namespace {

// An image event naming the image by its id, with the reference it is about.
void publish_image(Context& c, const oci::Store& store, const char* action, const std::string& ref) {
  oci::StoredImage image;
  std::string ignored;
  Error err;
  std::string name = oci::familiar_name(ref);
  if (!oci::find_image(store, ref, &image, &ignored, &err)) image.id = name;
  c.server.events().publish("image", action, image.id, {{"name", name}});
}

}  // namespace

void image_list(Context& c) {
  std::vector<std::string> raw;
  if (!c.filters(&raw)) return;
  ImageFilters f;
  std::string why;
  if (!parse_image_filters(raw, &f, &why)) return c.reply_error(400, why);
  oci::Store store;
  std::vector<oci::StoredImage> images;
  if (!open_store(c, &store)) return;
  if (!oci::list_images(store, &images, &why)) return c.reply_error(500, why);
  // before/since name images; they compare creation times.
  int64_t before = INT64_MAX, since = INT64_MIN;
  for (auto [names, bound, newest] : {std::tuple{&f.before, &before, false}, std::tuple{&f.since, &since, true}})
    for (const std::string& name : *names) {
      oci::StoredImage ref;
      std::string ignored;
      Error err;
      if (!oci::find_image(store, name, &ref, &ignored, &err)) return c.reply_error(err);
      *bound = newest ? std::max(*bound, ref.created) : std::min(*bound, ref.created);
    }
  json out = json::array();
  for (const oci::StoredImage& image : images) {
    std::vector<std::string> tags;
    if (!image_matches(image, f, &tags) || image.created >= before || image.created <= since) continue;
    json labels = labels_of(image);
    json j = {{"Id", image.id},
              {"ParentId", ""},
              {"RepoTags", tags},
              {"RepoDigests", oci::repo_digests(image)},
              {"Created", image.created},
              {"Size", image.size},
              {"SharedSize", -1},
              {"Labels", labels.empty() ? json(nullptr) : labels},
              {"Containers", -1}};
    if (!c.version_at_least("1.44")) j["VirtualSize"] = image.size;
    out.push_back(j);
  }
  c.reply_json(200, out);
}

void image_inspect(Context& c) {
  oci::Store store;
  oci::StoredImage image;
  if (!open_store(c, &store) || !find(c, store, &image)) return;
  const json& cfg = image.config;
  json layers = json::array();
  if (cfg.contains("rootfs") && cfg["rootfs"].is_object() && cfg["rootfs"].contains("diff_ids") &&
      cfg["rootfs"]["diff_ids"].is_array())
    for (const json& d : cfg["rootfs"]["diff_ids"])
      if (d.is_string()) layers.push_back(d);
  json j = {{"Id", image.id},
            {"RepoTags", oci::repo_tags(image)},
            {"RepoDigests", oci::repo_digests(image)},
            {"Parent", ""},
            {"Comment", text_of(cfg, "comment")},
            {"Created", image.created_text},
            {"DockerVersion", text_of(cfg, "docker_version")},
            {"Author", text_of(cfg, "author")},
            {"Config", cfg.contains("config") && cfg["config"].is_object() ? cfg["config"] : json::object()},
            {"Architecture", text_of(cfg, "architecture")},
            {"Os", text_of(cfg, "os")},
            {"Size", image.size},
            {"GraphDriver", {{"Name", "ctk"}, {"Data", nullptr}}},
            {"RootFS", {{"Type", "layers"}, {"Layers", layers}}},
            {"Metadata", {{"LastTagTime", "0001-01-01T00:00:00Z"}}}};
  if (!text_of(cfg, "variant").empty()) j["Variant"] = text_of(cfg, "variant");
  if (!c.version_at_least("1.44")) j["VirtualSize"] = image.size;
  c.reply_json(200, j);
}

void image_history(Context& c) {
  oci::Store store;
  oci::StoredImage image;
  if (!open_store(c, &store) || !find(c, store, &image)) return;
  const json& cfg = image.config;
  json history = cfg.contains("history") && cfg["history"].is_array() ? cfg["history"] : json::array();
  const std::vector<oci::Descriptor>& layers = image.manifest.layers;
  // Without a history each layer is one step, made when the image was.
  if (history.empty())
    for (size_t i = 0; i < layers.size(); ++i) history.push_back({{"created", image.created_text}});
  json out = json::array();
  size_t layer = 0;
  for (const json& h : history) {
    if (!h.is_object()) continue;
    bool empty = h.contains("empty_layer") && h["empty_layer"].is_boolean() && h["empty_layer"].get<bool>();
    uint64_t size = !empty && layer < layers.size() ? layers[layer++].size : 0;
    int64_t created = 0;
    if (!oci::parse_rfc3339(text_of(h, "created"), &created)) created = 0;
    out.push_back({{"Id", "<missing>"},
                   {"Created", created},
                   {"CreatedBy", text_of(h, "created_by")},
                   {"Tags", nullptr},
                   {"Size", size},
                   {"Comment", text_of(h, "comment")}});
  }
  std::reverse(out.begin(), out.end());
  if (!out.empty()) {
    out[0]["Id"] = image.id;
    out[0]["Tags"] = oci::repo_tags(image);
  }
  c.reply_json(200, out);
}

void image_create(Context& c) {
  if (c.req.has_param("fromSrc"))
    return c.reply_error(501, "ctk does not import images (docker import): load a docker-save or OCI archive instead");
  std::string from = c.query("fromImage"), tag = c.query("tag");
  if (from.empty()) return c.reply_error(400, "fromImage is required");
  // docker pull sends the tag (or a digest) apart from the name.
  std::string text = from;
  if (!tag.empty()) text += (oci::is_digest(tag) ? "@" : ":") + tag;
  oci::Reference ref;
  std::string why;
  if (!oci::parse_reference(text, &ref, &why)) return c.reply_error(400, "invalid reference format: " + why);
  oci::PullOptions options;
  if (!c.query("platform").empty() && !oci::parse_platform(c.query("platform"), &options.platform, &why))
    return c.reply_error(400, why);
  std::optional<oci::Credential> cred;
  if (!decode_registry_auth(c.req.header("x-registry-auth"), &cred, &why)) return c.reply_error(400, why);
  options.registry.credential = cred;
  options.registry.anonymous = true;
  options.registry.hub_mirror = c.server.hub_mirror();
  options.progress = oci::Progress::kQuiet;
  oci::Store store;
  if (!open_store(c, &store)) return;
  oci::Descriptor before;
  std::string ignored;
  bool had = store.resolve(ref.store_name(), &before, &ignored);
  JsonPullProgress progress(c, ref.repository, ref.target());
  options.observer = &progress;
  oci::PullResult result;
  if (!oci::pull_image(store, ref, options, &result, &why)) {
    int status = pull_failure_status(why);
    // docker's words for an image no registry has, which clients read
    // (docker-py's ImageNotFound).
    if (status == 404)
      why = "pull access denied for " + oci::familiar_name(ref.store_name()) +
            ", repository does not exist or may require 'docker login': " + why;
    if (!progress.started()) return c.reply_error(status, why);
    progress.error(why);
    c.conn.end_stream();
    return;
  }
  std::string name = oci::familiar_name(ref.store_name());
  c.server.events().publish("image", "pull", name, {{"name", name}});
  progress.status("Digest: " + result.registry_digest);
  progress.status(had && before.digest == result.image.digest ? "Status: Image is up to date for " + name
                                                              : "Status: Downloaded newer image for " + name);
  c.conn.end_stream();
}

void image_tag(Context& c) {
  std::string repo = c.query("repo"), tag = c.query("tag", "latest");
  if (repo.empty()) return c.reply_error(400, "repository name (repo) is required");
  if (tag.empty()) tag = "latest";
  oci::Store store;
  Error err;
  if (!open_store(c, &store)) return;
  if (!oci::tag_image(store, c.param("name"), repo + ":" + tag, &err)) return c.reply_error(err);
  publish_image(c, store, "tag", repo + ":" + tag);
  c.reply_empty(201);
}

void image_delete(Context& c) {
  oci::Store store;
  if (!open_store(c, &store)) return;
  oci::RemoveOptions options;
  options.force = c.flag("force");
  std::string root = c.server.data_root();
  options.users = [&](const std::string& id) { return usage_of(root, id); };
  oci::Removed removed;
  Error err;
  // The id, for the untag events, while the name still finds it.
  oci::StoredImage image;
  std::string ignored;
  oci::find_image(store, c.param("name"), &image, &ignored, &err);
  if (!oci::remove_image(store, c.param("name"), options, &removed, &err)) return c.reply_error(err);
  for (const std::string& u : removed.untagged) c.server.events().publish("image", "untag", image.id, {{"name", u}});
  for (const std::string& d : removed.deleted) c.server.events().publish("image", "delete", d, {{"name", d}});
  json out = json::array();
  for (const std::string& u : removed.untagged) out.push_back({{"Untagged", u}});
  for (const std::string& d : removed.deleted) out.push_back({{"Deleted", d}});
  c.reply_json(200, out);
}

void image_prune(Context& c) {
  std::vector<std::string> raw;
  if (!c.filters(&raw)) return;
  ImageFilters f;
  std::string why;
  if (!parse_image_filters(raw, &f, &why)) return c.reply_error(400, why);
  if (!f.reference.empty() || !f.before.empty() || !f.since.empty())
    return c.reply_error(400, "image prune takes the filters dangling and label only");
  oci::Store store;
  std::vector<oci::StoredImage> images;
  if (!open_store(c, &store)) return;
  if (!oci::list_images(store, &images, &why)) return c.reply_error(500, why);
  // Every stored image has a name (an index.json entry): nothing is
  // dangling, so only dangling=false (prune -a) removes images, those no
  // container was made from; either way unreferenced blobs are collected.
  oci::Removed removed;
  if (f.dangling == false) {
    f.dangling.reset();
    oci::RemoveOptions options;
    std::string root = c.server.data_root();
    options.users = [&](const std::string& id) { return usage_of(root, id); };
    options.force = true;  // an id with several names: all of them
    for (const oci::StoredImage& image : images) {
      std::vector<std::string> tags;
      if (!image_matches(image, f, &tags) || !usage_of(root, image.id).empty()) continue;
      Error err;
      if (!oci::remove_image(store, image.id, options, &removed, &err)) return c.reply_error(err);
    }
  } else {
    uint64_t blobs;
    if (!store.collect_garbage(&blobs, &removed.bytes, &why)) return c.reply_error(500, why);
  }
  for (const std::string& d : removed.deleted) c.server.events().publish("image", "delete", d, {{"name", d}});
  json deleted = json::array();
  for (const std::string& u : removed.untagged) deleted.push_back({{"Untagged", u}});
  for (const std::string& d : removed.deleted) deleted.push_back({{"Deleted", d}});
  c.reply_json(200, {{"ImagesDeleted", deleted.empty() ? json(nullptr) : deleted}, {"SpaceReclaimed", removed.bytes}});
}

void image_get(Context& c) { stream_save(c, {c.param("name")}); }

void image_get_all(Context& c) { stream_save(c, c.req.params("names")); }

void image_load(Context& c) {
  oci::Store store;
  if (!open_store(c, &store)) return;
  Pipe pipe;
  if (!pipe.open()) return c.reply_error(500, sys_error("pipe"));
  std::string err;
  std::vector<std::string> loaded;
  bool ok = false;
  // The body goes through a pipe to the archive reader, as it arrives.
  std::thread reader([&] {
    ok = oci::load_archive(store, pipe.fd[0], "the request body", &loaded, &err);
    pipe.close(0);
  });
  std::string buf, read_err;
  bool end = false, feeding = true;
  while (!end) {
    buf.clear();
    if (!c.conn.read_body(&buf, 1 << 20, &end, &read_err)) break;
    // A reader that stopped early (a bad archive) closed its end: the rest
    // of the body is left for the server to drop.
    if (feeding && !write_all_fd(pipe.fd[1], buf)) feeding = false;
    if (!feeding) break;
  }
  pipe.close(1);
  reader.join();
  if (!end && !read_err.empty()) return c.reply_error(400, "reading the archive: " + read_err);
  // A bad archive is the client's; the reader's message says what is wrong.
  // Clients of API 1.41 and older (docker 20.10's) get it as docker 20.10
  // sent it: a 200 whose stream holds the error.
  if (!ok && !c.version_at_least("1.42")) {
    c.conn.begin_stream(200, kJsonStream);
    c.conn.write_chunk(line({{"errorDetail", {{"message", err}}}, {"error", err}}));
    c.conn.end_stream();
    return;
  }
  if (!ok) return c.reply_error(400, err);
  for (const std::string& name : loaded) publish_image(c, store, "load", name);
  c.conn.begin_stream(200, kJsonStream);
  for (const std::string& name : loaded)
    c.conn.write_chunk(line({{"stream", oci::is_digest(name) ? "Loaded image ID: " + name + "\n"
                                                              : "Loaded image: " + oci::familiar_name(name) + "\n"}}));
  c.conn.end_stream();
}

void image_push(Context& c) {
  oci::Store store;
  oci::StoredImage image;
  if (!open_store(c, &store) || !find(c, store, &image)) return;
  c.reply_error(501, "ctk cannot push images: save them (docker save) and push the archive with skopeo");
}

void image_search(Context& c) { c.reply_error(501, "ctk does not search registries"); }

void auth_login(Context& c) {
  json body;
  if (!c.json_body(&body)) return;
  if (!body.is_object()) return c.reply_error(400, "the body must be a JSON object");
  for (const char* key : {"username", "password", "serveraddress", "identitytoken"})
    if (body.contains(key) && !body[key].is_string() && !body[key].is_null())
      return c.reply_error(400, std::string(key) + " must be a string");
  oci::Credential cred{text_of(body, "username"), text_of(body, "password"), text_of(body, "identitytoken")};
  std::string address = text_of(body, "serveraddress", "docker.io"), registry, why;
  if (address.empty()) address = "docker.io";
  if (!oci::parse_registry(address, &registry, &why)) return c.reply_error(400, why);
  oci::RegistryOptions options;
  options.credential = cred;
  options.max_attempts = 2;
  oci::Registry client(registry, options);
  if (!client.init(&why) || !client.ping(&why)) {
    if (why.find("wrong username or password") != std::string::npos ||
        why.find("authentication required") != std::string::npos)
      return c.reply_error(401, "login attempt to " + address + " failed with status: 401 Unauthorized");
    return c.reply_error(500, why);
  }
  c.reply_json(200, {{"Status", "Login Succeeded"}, {"IdentityToken", ""}});
}

}  // namespace ctk::api

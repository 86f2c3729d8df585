#include "container/create.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomic_file.h"
#include "base/dirs.h"
#include "base/sha256.h"
#include "ext4/format.h"
#include "ext4/writer.h"
#include "oci/image.h"
#include "oci/pull.h"
#include "oci/reference.h"
#include "oci/rootfs.h"
#include "oci/store.h"

namespace ctk::container {

namespace {

using nlohmann::json;

bool read_head(const std::string& path, size_t len, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->assign(len, '\0');
  ssize_t n = ::pread(fd, out->data(), len, 0);
  ::close(fd);
  out->resize(n > 0 ? size_t(n) : 0);
  return true;
}

bool is_regular(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_ext4(const std::string& path) {
  std::string head;
  if (!read_head(path, ext4::kSuperOffset + 0x3a, &head) || head.size() < ext4::kSuperOffset + 0x3a)
    return false;
  return uint8_t(head[ext4::kSuperOffset + 0x38]) == 0x53 && uint8_t(head[ext4::kSuperOffset + 0x39]) == 0xEF;
}

// A tar, or one of the compressions layers come in; decided from content.
bool is_archive(const std::string& path) {
  std::string h;
  if (!read_head(path, 512, &h) || h.size() < 6) return false;
  auto starts = [&](std::string_view magic) { return std::string_view(h).starts_with(magic); };
  return starts("\x1f\x8b") || starts("\x28\xb5\x2f\xfd") || starts("\xfd" "7zXZ") ||
         starts("BZh") || starts("\x04\x22\x4d\x18") ||
         (h.size() >= 262 && h.compare(257, 5, "ustar") == 0);
}

// The ext4 image of `layers` in the cache under `key`, built when missing.
bool build_cached(const std::vector<std::string>& layers, const std::string& key, std::string* path,
                  std::string* err) {
  std::string dir;
  if (!cache_dir("rootfs", &dir, err)) return false;
  *path = dir + "/" + key + ".ext4";
  if (is_regular(*path)) return true;
  oci::RootfsRequest req;
  req.inputs = layers;
  req.output = *path;
  Timings ignored;
  oci::RootfsResult result;
  return oci::build_rootfs(req, ignored, &result, err);
}

// Layers become an ext4 image once; the cache key is the layers' identity
// (file_identity), so an edited layer is rebuilt.
bool cached_rootfs(const std::vector<std::string>& layers, std::string* path, std::string* err) {
  Sha256 key;
  for (const std::string& l : layers) {
    std::string id;
    if (!file_identity(l, &id, err)) return false;
    key.update(id.data(), id.size());
  }
  Digest d = key.finish();
  return build_cached(layers, to_hex(std::span(d).first(16)), path, err);
}

// The store's image: its layers built into a cached ext4 image (keyed by the
// manifest digest) and its config's process defaults. Pulled when missing.
bool image_rootfs(const std::string& name, const std::string& platform, std::string* rootfs, json* config,
                  std::string* err) {
  oci::Store store;
  if (!store.open(oci::Store::default_root(), err)) return false;
  std::vector<std::string> layers;
  std::string manifest_digest;
  std::string why;
  if (!oci::image_layers(store, name, &layers, &manifest_digest, &why)) {
    oci::Reference ref;
    if (!oci::parse_reference(name, &ref, err)) return false;
    oci::PullOptions options;
    if (!platform.empty() && !oci::parse_platform(platform, &options.platform, err)) return false;
    options.progress = oci::Progress::kLines;
    oci::PullResult pulled;
    if (!oci::pull_image(store, ref, options, &pulled, err)) return false;
    if (!oci::image_layers(store, name, &layers, &manifest_digest, err)) return false;
  }
  oci::Descriptor image;
  oci::ImageManifest manifest;
  std::string text;
  if (!store.resolve(name, &image, err) || !oci::load_image(store, image, &manifest, err) ||
      !store.read_blob(manifest.config.digest, &text, err))
    return false;
  json parsed = json::parse(text, nullptr, false);
  *config = parsed.is_object() ? parsed.value("config", json::object()) : json::object();
  if (config->is_null()) *config = json::object();

  return build_cached(layers, manifest_digest.substr(manifest_digest.find(':') + 1, 32), rootfs, err);
}

// docker's rules: --entrypoint replaces the image's Entrypoint (and drops
// its Cmd); arguments replace Cmd; -e adds to or overrides the image's Env.
bool apply_image_config(const json& image, CreateOptions* o, std::string* err) {
  auto strings = [](const json& j) {
    std::vector<std::string> v;
    if (j.is_array())
      for (const json& s : j)
        if (s.is_string()) v.push_back(s.get<std::string>());
    return v;
  };
  std::vector<std::string> entrypoint = o->entrypoint.empty() ? strings(image.value("Entrypoint", json()))
                                                              : std::vector<std::string>{o->entrypoint};
  std::vector<std::string> cmd = !o->args.empty() || !o->entrypoint.empty() ? o->args
                                                                             : strings(image.value("Cmd", json()));
  entrypoint.insert(entrypoint.end(), cmd.begin(), cmd.end());
  if (entrypoint.empty()) {
    *err = "no command given and the image has none";
    return false;
  }
  o->args = entrypoint;
  std::vector<std::string> env = strings(image.value("Env", json()));
  for (const std::string& e : o->env) {
    std::string key = e.substr(0, e.find('='));
    std::erase_if(env, [&](const std::string& x) { return x.substr(0, x.find('=')) == key; });
    env.push_back(e);
  }
  o->env = env;
  if (o->workdir.empty()) o->workdir = image.value("WorkingDir", "");
  if (o->user.empty()) o->user = image.value("User", "");
  return true;
}

}  // namespace

bool split_inputs(const std::vector<std::string>& positional, std::vector<std::string>* inputs,
                  bool* image, std::vector<std::string>* command, std::string* err) {
  size_t i = 0;
  *image = false;
  if (!positional.empty() && ::access(positional[0].c_str(), F_OK) != 0) {
    inputs->push_back(positional[0]);
    *image = true;
    i = 1;
  } else if (!positional.empty() && is_regular(positional[0]) && is_ext4(positional[0])) {
    inputs->push_back(positional[0]);
    i = 1;
  } else {
    while (i < positional.size() && is_regular(positional[i]) && is_archive(positional[i]))
      inputs->push_back(positional[i++]);
  }
  if (inputs->empty()) {
    *err = positional.empty() ? "no image, layer or root filesystem given"
                              : "'" + positional[0] + "' is neither an ext4 image nor a layer archive";
    return false;
  }
  command->assign(positional.begin() + ptrdiff_t(i), positional.end());
  return true;
}

bool make_writable_layer(const std::string& path, uint64_t size, const std::string& seed, Error* err) {
  AtomicFile out;
  std::string why;
  if (!out.open(path, &why)) return err->fail(ErrorCode::failure, why);
  ext4::Writer writer;
  ext4::WriterOptions options;
  options.size = size;
  options.journal = true;
  if (!writer.begin(out.fd(), options, &why) ||
      !writer.finish({reinterpret_cast<const uint8_t*>(seed.data()), seed.size()}, &why))
    return err->fail(ErrorCode::failure, why);
  if (::ftruncate(out.fd(), off_t(size)) != 0) return err->fail_errno(out.temp_path());
  if (!out.commit(&why)) return err->fail(ErrorCode::failure, why);
  return true;
}

bool create(Containers& containers, const CreateOptions& options, Timings& timings, Spec* spec, Error* err) {
  CreateOptions o = options;
  std::string why;
  std::string rootfs = o.inputs.at(0);
  json image_config = json::object();
  {
    Timer t(timings, "image and rootfs");
    if (o.image) {
      std::string platform = o.machine.arch == "aarch64" ? "linux/arm64" : o.machine.arch == "x86_64" ? "linux/amd64" : "";
      if (!image_rootfs(o.inputs[0], platform, &rootfs, &image_config, &why)) return err->fail(ErrorCode::failure, why);
    } else if (!is_ext4(rootfs) && !cached_rootfs(o.inputs, &rootfs, &why)) {
      return err->fail(ErrorCode::failure, why);
    }
  }
  {
    Timer t(timings, "image config");
    if (!apply_image_config(image_config, &o, &why)) return err->fail(ErrorCode::invalid, why);
    if (o.publish_all) {
      const json& exposed = image_config.value("ExposedPorts", json::object());
      if (exposed.is_object())
        for (const auto& [key, ignored] : exposed.items()) {
          PortBinding b;
          if (!parse_exposed_port(key, &b, &why)) return err->fail(ErrorCode::invalid, "image config: ExposedPorts: " + why);
          o.ports.push_back(b);
        }
    }
  }
  Spec s;
  s.name = o.name;
  s.image = o.image ? o.inputs[0] : o.inputs.size() == 1 ? o.inputs[0] : o.inputs[0] + " (+" + std::to_string(o.inputs.size() - 1) + " layers)";
  s.rootfs = rootfs;
  s.args = o.args;
  s.env = o.env;
  s.workdir = o.workdir.empty() ? "/" : o.workdir;
  s.user = o.user;
  s.tty = o.tty;
  s.interactive = o.interactive;
  s.memory_limit = o.memory_limit;
  s.cpus = o.cpus;
  s.pids_limit = o.pids_limit;
  s.network = o.network;
  s.ports = o.ports;
  s.restart = o.restart;
  s.auto_remove = o.auto_remove;
  s.labels = o.labels;
  s.machine = o.machine;
  s.machine.disks.clear();
  if (!containers.create(&s, err)) return false;
  // docker's default hostname is the short id; ctk's is the name, which
  // other containers will know it by.
  s.hostname = o.hostname.empty() ? s.name : o.hostname;
  Container ct(containers, s.id);
  ct.spec = s;
  Timer t(timings, "writable layer");
  if (!ct.save_spec(err) ||
      !make_writable_layer(ct.path("rw.ext4"), o.writable_size ? o.writable_size : kDefaultWritableSize, s.id, err)) {
    Error ignored;
    containers.remove(s.id, &ignored);
    return false;
  }
  *spec = s;
  return true;
}

}  // namespace ctk::container

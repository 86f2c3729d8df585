#include "container/create.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/atomic_file.h"
#include "base/dirs.h"
#include "base/sha256.h"
#include "ext4/format.h"
#include "container/networks.h"
#include "ext4/writer.h"
#include "network/networks.h"
#include "oci/image_rootfs.h"
#include "oci/images.h"
#include "oci/store.h"
#include "volume/volumes.h"

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

// docker's rules: --entrypoint replaces the image's Entrypoint (and drops
// its Cmd); arguments replace Cmd; -e adds to or overrides the image's Env.
bool apply_image_config(const oci::ImageConfig& image, CreateOptions* o, std::string* err) {
  std::vector<std::string> args = o->entrypoint.empty() ? image.entrypoint : std::vector<std::string>{o->entrypoint};
  const std::vector<std::string>& cmd = !o->args.empty() || !o->entrypoint.empty() ? o->args : image.cmd;
  args.insert(args.end(), cmd.begin(), cmd.end());
  if (args.empty()) {
    *err = "no command given and the image has none";
    return false;
  }
  o->args = args;
  std::vector<std::string> env = image.env;
  for (const std::string& e : o->env) {
    std::string key = e.substr(0, e.find('='));
    std::erase_if(env, [&](const std::string& x) { return x.substr(0, x.find('=')) == key; });
    env.push_back(e);
  }
  o->env = env;
  if (o->workdir.empty()) o->workdir = image.working_dir;
  if (o->user.empty()) o->user = image.user;
  return true;
}

// The mounts pass: one anonymous volume per image VOLUME nothing else is
// mounted on, bind sources checked (or made, for -v), volumes found or made.
// Runs under the volumes' lock, held until the container's config names
// them, so a `volume rm` cannot come between. *anonymous: the volumes made
// for this container, for the caller to remove if the create fails.
bool resolve_mounts(volume::Volumes& volumes, const std::vector<std::string>& image_volumes,
                    std::vector<MountPoint>* mounts, std::vector<std::string>* anonymous, Error* err) {
  for (size_t i = 0; i < mounts->size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if ((*mounts)[i].destination == (*mounts)[j].destination)
        return err->fail(ErrorCode::invalid, "duplicate mount point: " + (*mounts)[i].destination);
  for (const std::string& path : image_volumes) {
    MountPoint m;
    std::string why;
    if (!parse_volume_flag(path, &m, &why)) return err->fail(ErrorCode::invalid, "image config: Volumes: " + why);
    if (std::none_of(mounts->begin(), mounts->end(), [&](const MountPoint& x) { return x.destination == m.destination; }))
      mounts->push_back(m);
  }
  for (MountPoint& m : *mounts) {
    if (m.type == "bind") {
      struct stat st;
      if (::stat(m.source.c_str(), &st) == 0) continue;
      if (!m.create_source) return err->fail(ErrorCode::invalid, "bind source path does not exist: " + m.source);
      std::string why;
      if (!oci::make_dirs(m.source, 0755, &why)) return err->fail(ErrorCode::failure, why);
    } else if (m.type == "volume") {
      volume::Volume v;
      v.name = m.source.empty() ? random_id() : m.source;
      v.anonymous = m.source.empty();
      bool created;
      if (!volumes.create(&v, v.anonymous, &created, err)) return false;
      if (v.anonymous) anonymous->push_back(v.name);
      m.source = v.name;
    }
    m.create_source = false;
  }
  return true;
}

// An address on each network, all under one hold of the networks' lock (a
// failure takes back the ones taken).
bool join_networks(const std::string& data_root, const std::string& id,
                   const std::vector<CreateOptions::NetworkRequest>& requests, Error* err) {
  network::Networks networks;
  if (!networks.open(data_root, err)) return false;
  for (const auto& r : requests)
    if (r.name == network::kDefaultNetwork && !networks.ensure_default(err)) return false;
  oci::FileLock lock;
  if (!networks.lock(&lock, err)) return false;
  std::vector<std::string> joined;
  for (const auto& r : requests) {
    network::Network n;
    network::Endpoint ep;
    ep.container_id = id;
    ep.aliases = r.aliases;
    ep.static_ipv4 = !r.ip.empty();
    ep.driver_opts = r.driver_opts;
    bool ok = networks.find(r.name, &n, err);
    if (ok && !r.ip.empty() && !network::parse_ipv4(r.ip, &ep.ipv4))
      ok = err->fail(ErrorCode::invalid, "--ip " + r.ip + " is not an IPv4 address");
    // The container's one NIC has the first network's MAC.
    if (ok && joined.empty() && !r.mac.empty() && !network::parse_mac(r.mac, &ep.mac))
      ok = err->fail(ErrorCode::invalid, "invalid MAC address '" + r.mac + "'");
    ok = ok && networks.connect(n.name, &ep, err);
    if (!ok) {
      Error ignored;
      for (const std::string& name : joined) networks.disconnect(name, id, &ignored);
      return false;
    }
    joined.push_back(n.name);
  }
  return true;
}

// --volumes-from: another container's binds and volumes at the same places,
// all read-only with :ro, all writable with :rw, else as it has them. A
// destination this container mounts something else at keeps its own. The
// volumes stay the other's: this container's rm -v leaves them.
bool add_volumes_from(const Containers& containers, const std::vector<std::string>& from,
                      std::vector<MountPoint>* mounts, Error* err) {
  for (const std::string& entry : from) {
    size_t colon = entry.rfind(':');
    std::string name = entry.substr(0, colon), mode = colon == std::string::npos ? "" : entry.substr(colon + 1);
    if (name.empty() || (!mode.empty() && mode != "ro" && mode != "rw"))
      return err->fail(ErrorCode::invalid, "invalid --volumes-from '" + entry + "': want CONTAINER[:ro|:rw]");
    std::string id;
    if (!containers.find(name, &id, err)) return false;
    Container other(containers, id);
    if (!other.load(err)) return false;
    for (MountPoint m : other.spec.mounts) {
      if (m.type == "tmpfs" || std::any_of(mounts->begin(), mounts->end(), [&](const MountPoint& mine) {
            return mine.destination == m.destination;
          }))
        continue;
      m.anonymous = false;
      m.no_copy = true;
      m.create_source = false;
      if (!mode.empty()) m.read_only = mode == "ro";
      mounts->push_back(m);
    }
  }
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
  if (!log_driver_known(o.log_driver))
    return err->fail(ErrorCode::invalid, "logger: no log driver named '" + o.log_driver + "' is registered");
  std::string rootfs = o.inputs.at(0);
  oci::ImageConfig image;
  {
    Timer t(timings, "image and rootfs");
    // The image store's one rootfs cache, under its lock (oci/image_rootfs.h).
    oci::Store store;
    if (!store.open(containers.data_root(), &why)) return err->fail(ErrorCode::failure, why);
    if (o.image) {
      oci::ImageRootfsOptions io;
      io.pull = o.pull;
      io.pull_if_missing = o.pull_if_missing;
      oci::StoredImage stored;
      std::string matched;
      Error missing;
      if (!o.pull_if_missing && !oci::find_image(store, o.inputs[0], &stored, &matched, &missing))
        return err->fail(ErrorCode::not_found, "No such image: " + o.inputs[0]);
      if (!oci::image_rootfs(store, o.inputs[0], io, &rootfs, &image, &why)) return err->fail(ErrorCode::failure, why);
    } else if (!is_ext4(rootfs) && !oci::layers_rootfs(store, o.inputs, nullptr, &rootfs, &why)) {
      return err->fail(ErrorCode::failure, why);
    }
  }
  {
    Timer t(timings, "image config");
    if (!apply_image_config(image, &o, &why)) return err->fail(ErrorCode::invalid, why);
    if (o.publish_all)
      for (const std::string& key : image.exposed_ports) {
        PortBinding b;
        if (!parse_exposed_port(key, &b, &why)) return err->fail(ErrorCode::invalid, "image config: ExposedPorts: " + why);
        o.ports.push_back(b);
      }
  }
  if (!add_volumes_from(containers, o.volumes_from, &o.mounts, err)) return false;
  volume::Volumes volumes;
  oci::FileLock volumes_lock;
  std::vector<std::string> anonymous;
  auto remove_anonymous = [&] {
    Error ignored;
    for (const std::string& name : anonymous) volumes.remove(name, &ignored);
  };
  if (!o.mounts.empty() || !image.volumes.empty()) {
    Timer t(timings, "mounts");
    if (!volumes.open(containers.data_root(), err) || !volumes.lock(&volumes_lock, err)) return false;
    if (!resolve_mounts(volumes, image.volumes, &o.mounts, &anonymous, err)) {
      remove_anonymous();
      return false;
    }
  }
  Spec s;
  s.name = o.name;
  s.image = o.image ? o.inputs[0] : o.inputs.size() == 1 ? o.inputs[0] : o.inputs[0] + " (+" + std::to_string(o.inputs.size() - 1) + " layers)";
  s.image_id = image.digest;
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
  s.cap_add = o.cap_add;
  s.group_add = o.group_add;
  s.volumes_from = o.volumes_from;
  s.cap_drop = o.cap_drop;
  s.no_new_privileges = o.no_new_privileges;
  s.timeout = o.timeout;
  s.ports = o.ports;
  s.mounts = o.mounts;
  s.read_only = o.read_only;
  s.restart = o.restart;
  s.auto_remove = o.auto_remove;
  s.labels = image.labels;
  for (const auto& [k, v] : o.labels) s.labels[k] = v;
  s.log_driver = o.log_driver;
  s.log_options = o.log_options;
  if (!image.stop_signal.empty()) s.stop_signal = image.stop_signal;
  if (!o.stop_signal.empty()) s.stop_signal = o.stop_signal;
  if (o.stop_timeout >= 0) s.stop_timeout = o.stop_timeout;
  s.machine = o.machine;
  s.machine.disks.clear();
  if (!containers.create(&s, err)) {
    remove_anonymous();
    return false;
  }
  // docker's default hostname is the short id; ctk's is the name, which
  // other containers will know it by.
  s.hostname = o.hostname.empty() ? s.name : o.hostname;
  if (!o.networks.empty()) {
    Timer t(timings, "networks");
    if (!join_networks(containers.data_root(), s.id, o.networks, err)) {
      Error ignored;
      containers.remove(s.id, &ignored);
      remove_anonymous();
      return false;
    }
  }
  Container ct(containers, s.id);
  // The image disk is linked into the container (the cache and the data
  // root share a filesystem): a cache collection after `rmi` cannot take it
  // from a container that still boots from it. Another filesystem's file
  // (an ext4 image given by path) is used where it is.
  if (::link(s.rootfs.c_str(), ct.path("rootfs.ext4").c_str()) == 0) s.rootfs = ct.path("rootfs.ext4");
  ct.spec = s;
  Timer t(timings, "writable layer");
  if (!ct.save_spec(err) ||
      (!s.auto_remove &&
       !make_writable_layer(ct.path("rw.ext4"), o.writable_size ? o.writable_size : kDefaultWritableSize, s.id, err))) {
    Error ignored;
    disconnect_all(containers.data_root(), s.id, &ignored);
    containers.remove(s.id, &ignored);
    remove_anonymous();
    return false;
  }
  *spec = s;
  return true;
}

bool log_driver_known(const std::string& name) { return name == "json-file" || name == "none"; }

void set_limits(CreateOptions* o, uint64_t memory, double cpus) {
  if (memory) {
    o->memory_limit = memory;
    o->machine.memory_mib = std::max(unsigned(memory >> 20) + kVmMemoryOverheadMib, vz::MachineConfig().memory_mib);
  }
  if (cpus > 0) {
    o->cpus = cpus;
    o->machine.cpus = unsigned(cpus + 0.999);
  }
}

}  // namespace ctk::container

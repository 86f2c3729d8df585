#include "oci/image_rootfs.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/test_dir.h"
#include "oci/fsutil.h"
#include "oci/reference.h"
#include "oci/rootfs_cache.h"
#include "oci/tar_writer.h"

using namespace ctk::oci;

namespace {

// A one-file layer archive at path.
void write_layer(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  TarWriter tar(fd, path);
  std::string err;
  CHECK(tar.add_dir("etc/", &err));
  CHECK(tar.add_file("etc/motd", content, &err));
  CHECK(tar.finish(&err));
  ::close(fd);
}

std::string descriptor(std::string_view type, const std::string& digest, size_t size) {
  return R"({"mediaType":")" + std::string(type) + R"(","digest":")" + digest + R"(","size":)" +
         std::to_string(size) + "}";
}

// Stores an image of one layer with the config's "config" member `config`
// under the reference `name`.
void add_image(Store& store, const std::string& name, const std::string& layer, const std::string& config,
               const std::string& arch = "amd64") {
  std::string err, data, layer_digest, config_digest, manifest_digest;
  REQUIRE(read_file(layer, &data, nullptr, &err));
  REQUIRE(store.put_blob(data, &layer_digest, &err));
  std::string config_blob = R"({"os":"linux","architecture":")" + arch + R"(","config":)" + config + "}";
  REQUIRE(store.put_blob(config_blob, &config_digest, &err));
  std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
                         descriptor(media::kOciConfig, config_digest, config_blob.size()) + R"(,"layers":[)" +
                         descriptor("application/vnd.oci.image.layer.v1.tar", layer_digest, data.size()) + "]}";
  REQUIRE(store.put_blob(manifest, &manifest_digest, &err));
  Reference ref;
  REQUIRE(parse_reference(name, &ref, &err));
  REQUIRE(store.set_ref(ref.store_name(), {std::string(media::kOciManifest), manifest_digest, manifest.size(), "", ""},
                        &err));
}

ino_t inode(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_ino;
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

}  // namespace

TEST_CASE("image_rootfs: a store image's cached root filesystem and config") {
  ctk::testing::TempDir tmp;
  Store store;
  std::string err;
  REQUIRE(store.open(tmp.path + "/store", &err));
  write_layer(tmp.path + "/layer.tar", "hello\n");
  add_image(store, "test/app:v1", tmp.path + "/layer.tar", R"({"Cmd":["sh"],"WorkingDir":"/srv"})");
  ImageRootfsOptions options;
  options.pull_if_missing = false;

  std::string path;
  ImageConfig config;
  REQUIRE_MESSAGE(image_rootfs(store, "test/app:v1", options, &path, &config, &err), err);
  CHECK(path.starts_with(tmp.path + "/store/rootfs/"));
  CHECK(config.working_dir == "/srv");
  CHECK(config.cmd == std::vector<std::string>{"sh"});
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0444);  // shared: nobody writes to it

  // Found again, not rebuilt, by another name for the same image too.
  std::string again;
  REQUIRE(image_rootfs(store, "docker.io/test/app:v1", options, &again, &config, &err));
  CHECK(again == path);
  CHECK(inode(again) == inode(path));

  // An entry another ctk format wrote (its stats name no format of this
  // one's) is never taken: rebuilt in place.
  REQUIRE(write_file_atomic(path + ".json", R"({"blocks":1,"entries":1})", 0644, &err));
  ino_t old = inode(path);
  REQUIRE(image_rootfs(store, "test/app:v1", options, &again, &config, &err));
  CHECK(again == path);
  CHECK(inode(again) != old);

  // Removing the image makes its entry garbage.
  bool found;
  uint64_t blobs, bytes;
  REQUIRE(store.remove_ref("docker.io/test/app:v1", &found, &err));
  REQUIRE(store.collect_garbage(&blobs, &bytes, &err));
  CHECK_FALSE(exists(path));
  CHECK_FALSE(exists(path + ".json"));
}

TEST_CASE("image_rootfs: untrusted configs, other platforms, missing images") {
  ctk::testing::TempDir tmp;
  Store store;
  std::string err, path;
  REQUIRE(store.open(tmp.path + "/store", &err));
  write_layer(tmp.path + "/layer.tar", "x\n");
  add_image(store, "bad:workdir", tmp.path + "/layer.tar", R"({"WorkingDir":5})");
  add_image(store, "bad:env", tmp.path + "/layer.tar", R"({"Env":"x"})");
  add_image(store, "arm:v1", tmp.path + "/layer.tar", "{}", "arm64");
  ImageRootfsOptions options;
  options.pull_if_missing = false;
  ImageConfig config;

  CHECK_FALSE(image_rootfs(store, "bad:workdir", options, &path, &config, &err));
  CHECK(err ==
        "docker.io/library/bad:workdir: image config: Config.WorkingDir: expected a string, got a number");
  CHECK_FALSE(image_rootfs(store, "bad:env", options, &path, &config, &err));
  CHECK(err == "docker.io/library/bad:env: image config: Config.Env: expected an array of strings, got a string");

  options.pull.platform = {"linux", "amd64", ""};
  CHECK_FALSE(image_rootfs(store, "arm:v1", options, &path, &config, &err));
  CHECK(err == "docker.io/library/arm:v1 is for linux/arm64, not linux/amd64");
  options.pull.platform = {"linux", "arm64", ""};
  CHECK(image_rootfs(store, "arm:v1", options, &path, &config, &err));

  CHECK_FALSE(image_rootfs(store, "nothere:v1", options, &path, &config, &err));
  CHECK(err.find("no image 'nothere:v1'") != std::string::npos);
}

TEST_CASE("layers_rootfs: layer files in the same cache, by their identity") {
  ctk::testing::TempDir tmp;
  Store store;
  std::string err;
  REQUIRE(store.open(tmp.path + "/store", &err));
  std::string layer = tmp.path + "/layer.tar";
  write_layer(layer, "one\n");

  std::string first, again;
  REQUIRE_MESSAGE(layers_rootfs(store, {layer}, nullptr, &first, &err), err);
  CHECK(first.starts_with(tmp.path + "/store/rootfs/files-"));
  REQUIRE(layers_rootfs(store, {layer}, nullptr, &again, &err));
  CHECK(again == first);
  CHECK(inode(again) == inode(first));

  // An edited layer is another entry; collection drops the stale one and
  // keeps the current.
  write_layer(layer, "second\n");
  std::string second;
  REQUIRE(layers_rootfs(store, {layer}, nullptr, &second, &err));
  CHECK(second != first);
  uint64_t blobs, bytes;
  REQUIRE(store.collect_garbage(&blobs, &bytes, &err));
  CHECK_FALSE(exists(first));
  CHECK(exists(second));
  // And a layer gone takes its entry with it.
  REQUIRE(::unlink(layer.c_str()) == 0);
  REQUIRE(store.collect_garbage(&blobs, &bytes, &err));
  CHECK_FALSE(exists(second));
  CHECK_FALSE(layers_rootfs(store, {layer}, nullptr, &again, &err));
  CHECK(err.find(layer) != std::string::npos);
  // A pipe has no identity of its content.
  std::string fifo = tmp.path + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_FALSE(layers_rootfs(store, {fifo}, nullptr, &again, &err));
  CHECK(err == "'" + fifo + "' is not a regular file");
}

TEST_CASE("rootfs cache keys: the format, the options, the files") {
  ctk::ext4::WriterOptions plain, journal;
  journal.journal = true;
  const std::string digest = "sha256:" + std::string(64, 'a');
  std::string key = image_cache_key(digest, plain);
  CHECK(key.starts_with(std::string(64, 'a') + "-"));
  CHECK(key.size() == 64 + 1 + 16);
  CHECK(image_cache_key(digest, journal) != key);
  CHECK(rootfs_format().find("ctk rootfs format " + std::to_string(kRootfsFormat) + "\n") == 0);
}

#include "oci/store.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "base/test_dir.h"
#include "oci/fsutil.h"

using namespace ctk::oci;

namespace {

std::string digest_of(const std::string& data) {
  return "sha256:" + ctk::to_hex(ctk::sha256({reinterpret_cast<const uint8_t*>(data.data()), data.size()}));
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

const std::string kManifestBody = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})";

}  // namespace

TEST_CASE("store: layout, refs and resolution") {
  ctk::testing::TempDir tmp;
  std::string root = tmp.path, err;
  Store store;
  REQUIRE_MESSAGE(store.open(root, &err), err);
  CHECK(exists(root + "/oci-layout"));
  CHECK(exists(root + "/index.json"));
  std::string digest;
  REQUIRE(store.put_blob(kManifestBody, &digest, &err));
  CHECK(digest == digest_of(kManifestBody));
  CHECK(store.has_blob(digest, kManifestBody.size()));
  Descriptor d{std::string(media::kOciManifest), digest, kManifestBody.size(), "", ""};
  REQUIRE(store.set_ref("docker.io/library/alpine:latest", d, &err));
  REQUIRE(store.set_ref("localhost:5000/app:v1", d, &err));
  REQUIRE(store.set_ref("docker.io/library/alpine:latest", d, &err));  // replaces, no duplicate
  std::vector<Descriptor> entries;
  REQUIRE(store.list(&entries, &err));
  CHECK(entries.size() == 2);

  Descriptor found;
  CHECK(store.resolve("alpine", &found, &err));
  CHECK(found.ref_name == "docker.io/library/alpine:latest");
  CHECK(store.resolve("localhost:5000/app:v1", &found, &err));
  CHECK(store.resolve(digest.substr(7, 8), &found, &err));
  CHECK(store.resolve("localhost:5000/app@" + digest, &found, &err));
  CHECK(found.ref_name == "localhost:5000/app:v1");
  CHECK_FALSE(store.resolve("busybox", &found, &err));
  CHECK(err.find("no image 'busybox'") != std::string::npos);
  CHECK_FALSE(store.resolve("Bad Name", &found, &err));
  CHECK(err.find("invalid image reference") != std::string::npos);

  bool removed;
  REQUIRE(store.remove_ref("localhost:5000/app:v1", &removed, &err));
  CHECK(removed);
  REQUIRE(store.remove_ref("localhost:5000/app:v1", &removed, &err));
  CHECK_FALSE(removed);
  std::string cmd = "rm -rf " + root;
  CHECK(std::system(cmd.c_str()) == 0);
}

TEST_CASE("store: blob writer verifies, resumes and discards") {
  ctk::testing::TempDir tmp;
  std::string root = tmp.path, err;
  Store store;
  REQUIRE(store.open(root, &err));
  std::string data(3 << 20, 'x');
  for (size_t i = 0; i < data.size(); i += 4099) data[i] = char(i);
  std::string digest = digest_of(data);
  {
    BlobWriter w;
    REQUIRE(w.open(store, digest, data.size(), &err));
    CHECK(w.offset() == 0);
    REQUIRE(w.write(data.data(), 2 << 20, &err));
  }  // interrupted: the partial file stays in ingest/
  CHECK_FALSE(store.has_blob(digest, data.size()));
  {
    BlobWriter w;
    REQUIRE(w.open(store, digest, data.size(), &err));
    CHECK(w.offset() == 2 << 20);
    REQUIRE(w.write(data.data() + w.offset(), data.size() - w.offset(), &err));
    REQUIRE_MESSAGE(w.commit(&err), err);
  }
  CHECK(store.has_blob(digest, data.size()));
  CHECK_FALSE(exists(root + "/ingest/" + digest.substr(7)));
  {
    BlobWriter w;
    REQUIRE(w.open(store, digest, data.size(), &err));
    CHECK(w.done());
  }

  std::string other = data;
  other[100] ^= 1;
  std::string want = digest_of(data + "y");
  BlobWriter bad;
  REQUIRE(bad.open(store, want, other.size(), &err));
  REQUIRE(bad.write(other.data(), other.size(), &err));
  CHECK_FALSE(bad.commit(&err));
  CHECK(err.find("does not match its digest") != std::string::npos);
  CHECK_FALSE(exists(store.blob_path(want)));
  CHECK_FALSE(exists(root + "/ingest/" + want.substr(7)));

  BlobWriter big;
  REQUIRE(big.open(store, want, 10, &err));
  CHECK_FALSE(big.write(data.data(), 11, &err));
  CHECK(err.find("larger than") != std::string::npos);
  std::string cmd = "rm -rf " + root;
  CHECK(std::system(cmd.c_str()) == 0);
}

TEST_CASE("store: garbage collection keeps what images reach") {
  ctk::testing::TempDir tmp;
  std::string root = tmp.path, err;
  Store store;
  REQUIRE(store.open(root, &err));
  std::string layer_a, layer_b, config, loose;
  REQUIRE(store.put_blob("layer a", &layer_a, &err));
  REQUIRE(store.put_blob("layer b", &layer_b, &err));
  REQUIRE(store.put_blob("{}", &config, &err));
  REQUIRE(store.put_blob("nobody's", &loose, &err));
  std::string manifest = R"({"schemaVersion":2,"config":{"digest":")" + config + R"(","size":2},"layers":[{"digest":")" +
                         layer_a + R"(","size":7},{"digest":")" + layer_b + R"(","size":7}]})";
  std::string mdigest;
  REQUIRE(store.put_blob(manifest, &mdigest, &err));
  REQUIRE(store.set_ref("x.io/app:v1", {std::string(media::kOciManifest), mdigest, manifest.size(), "", ""}, &err));
  uint64_t blobs, bytes;
  REQUIRE_MESSAGE(store.collect_garbage(&blobs, &bytes, &err), err);
  CHECK(blobs == 1);
  CHECK(bytes == 8);
  CHECK_FALSE(exists(store.blob_path(loose)));
  CHECK(exists(store.blob_path(layer_a)));
  bool found;
  REQUIRE(store.remove_ref("x.io/app:v1", &found, &err));
  REQUIRE(store.collect_garbage(&blobs, &bytes, &err));
  CHECK(blobs == 4);
  std::string cmd = "rm -rf " + root;
  CHECK(std::system(cmd.c_str()) == 0);
}

TEST_CASE("store: an untagged entry until a name takes its place") {
  ctk::testing::TempDir tmp;
  std::string err;
  Store store;
  REQUIRE(store.open(tmp.path, &err));
  Descriptor d;
  d.media_type = "application/vnd.oci.image.manifest.v1+json";
  REQUIRE(store.put_blob(kManifestBody, &d.digest, &err));
  d.size = kManifestBody.size();
  REQUIRE(store.add_untagged(d, &err));
  REQUIRE(store.add_untagged(d, &err));  // once only
  std::vector<Descriptor> list;
  REQUIRE(store.list(&list, &err));
  REQUIRE(list.size() == 1);
  CHECK((list[0].ref_name.empty() && list[0].digest == d.digest));
  bool found = true;
  REQUIRE(store.remove_ref("", &found, &err));  // "" names nothing
  CHECK_FALSE(found);
  REQUIRE(store.list(&list, &err));
  CHECK(list.size() == 1);
  // Named: the untagged entry goes; a later add_untagged changes nothing.
  REQUIRE(store.set_ref("docker.io/library/a:v1", d, &err));
  REQUIRE(store.add_untagged(d, &err));
  REQUIRE(store.list(&list, &err));
  REQUIRE(list.size() == 1);
  CHECK(list[0].ref_name == "docker.io/library/a:v1");
  REQUIRE(store.remove_ref("docker.io/library/a:v1", &found, &err));
  CHECK(found);
  REQUIRE(store.add_untagged(d, &err));
  REQUIRE(store.remove_untagged(d.digest, &err));
  REQUIRE(store.list(&list, &err));
  CHECK(list.empty());
}

#include "oci/images.h"

#include <doctest/doctest.h>

#include "base/test_dir.h"
#include "oci/reference.h"

using namespace ctk::oci;
using ctk::Error;
using ctk::ErrorCode;

namespace {

std::string descriptor(std::string_view type, const std::string& digest, size_t size) {
  return R"({"mediaType":")" + std::string(type) + R"(","digest":")" + digest + R"(","size":)" +
         std::to_string(size) + "}";
}

// Stores an image (one layer of `layer` bytes, a config with `created`)
// under `name`; returns its image id (the config digest).
std::string add_image(Store& store, const std::string& name, const std::string& layer, const std::string& created) {
  std::string err, layer_digest, config_digest, manifest_digest;
  REQUIRE(store.put_blob(layer, &layer_digest, &err));
  std::string config = R"({"os":"linux","architecture":"amd64","created":")" + created + R"(","config":{}})";
  REQUIRE(store.put_blob(config, &config_digest, &err));
  std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
                         descriptor(media::kOciConfig, config_digest, config.size()) + R"(,"layers":[)" +
                         descriptor("application/vnd.oci.image.layer.v1.tar", layer_digest, layer.size()) + "]}";
  REQUIRE(store.put_blob(manifest, &manifest_digest, &err));
  Reference ref;
  REQUIRE(parse_reference(name, &ref, &err));
  REQUIRE(store.set_ref(ref.store_name(), {std::string(media::kOciManifest), manifest_digest, manifest.size(), "", ""},
                        &err));
  return config_digest;
}

}  // namespace

TEST_CASE("images: familiar names") {
  CHECK(familiar_name("docker.io/library/busybox:latest") == "busybox:latest");
  CHECK(familiar_name("docker.io/me/app:v1") == "me/app:v1");
  CHECK(familiar_name("docker.io/library/a/b:v1") == "library/a/b:v1");
  CHECK(familiar_name("127.0.0.1:5000/library/busybox:v1") == "127.0.0.1:5000/library/busybox:v1");
  CHECK(familiar_repository("docker.io/library/busybox:latest") == "busybox");
  CHECK(familiar_repository("quay.io/a/b@sha256:" + std::string(64, 'a')) == "quay.io/a/b");
  CHECK(familiar_name("Not A Reference") == "Not A Reference");
}

TEST_CASE("images: RFC 3339 times") {
  int64_t t = -1;
  CHECK(parse_rfc3339("2024-05-01T12:00:00Z", &t));
  CHECK(t == 1714564800);
  CHECK(parse_rfc3339("2024-05-01T12:00:00.123456789Z", &t));
  CHECK(t == 1714564800);
  CHECK(parse_rfc3339("2024-05-01T14:00:00+02:00", &t));
  CHECK(t == 1714564800);
  CHECK(parse_rfc3339("1969-12-31T23:59:59Z", &t));
  CHECK(t == -1);
  for (const char* bad : {"", "2024-05-01", "2024-05-01T12:00:00", "2024-13-01T12:00:00Z", "2024-05-01T12:00:00.Z",
                          "2024-05-01T12:00:00Zjunk", "2024-05-01T12:00:00+2:00", "yyyy-05-01T12:00:00Z"})
    CHECK_MESSAGE(!parse_rfc3339(bad, &t), bad);
}

TEST_CASE("images: grouped by config, found by id, name or prefix") {
  ctk::testing::TempDir tmp;
  Store store;
  std::string err;
  REQUIRE(store.open(tmp.path, &err));
  std::string a = add_image(store, "busybox", "layer a", "2024-05-01T12:00:00Z");
  add_image(store, "example.com/copy:v2", "layer a", "2024-05-01T12:00:00Z");  // the same image
  std::string b = add_image(store, "other:v1", "layer b", "2023-01-01T00:00:00Z");
  std::vector<StoredImage> images;
  REQUIRE(list_images(store, &images, &err));
  REQUIRE(images.size() == 2);
  CHECK(images[0].id == a);
  CHECK(images[0].entries.size() == 2);
  CHECK(repo_tags(images[0]) == std::vector<std::string>{"busybox:latest", "example.com/copy:v2"});
  CHECK(images[0].created == 1714564800);
  CHECK(images[0].size == images[0].manifest.config.size + 7);
  CHECK(images[1].id == b);

  StoredImage found;
  std::string matched;
  Error e;
  REQUIRE(find_image(store, "busybox:latest", &found, &matched, &e));
  CHECK(found.id == a);
  CHECK(matched == "docker.io/library/busybox:latest");
  REQUIRE(find_image(store, a, &found, &matched, &e));
  CHECK(matched.empty());
  REQUIRE(find_image(store, b.substr(7, 12), &found, &matched, &e));
  CHECK(found.id == b);
  CHECK(matched.empty());
  CHECK_FALSE(find_image(store, "nothere", &found, &matched, &e));
  CHECK(e.code == ErrorCode::not_found);
  CHECK(e.message == "No such image: nothere");
  CHECK_FALSE(find_image(store, "Bad:Name!", &found, &matched, &e));
  CHECK(e.code == ErrorCode::invalid);
}

TEST_CASE("images: docker rmi's rule") {
  ctk::testing::TempDir tmp;
  Store store;
  std::string err;
  REQUIRE(store.open(tmp.path, &err));
  std::string a = add_image(store, "busybox", "layer a", "2024-05-01T12:00:00Z");
  add_image(store, "copy:v2", "layer a", "2024-05-01T12:00:00Z");
  std::vector<std::string> users;
  RemoveOptions options;
  options.users = [&](const std::string& id) { return id == a ? users : std::vector<std::string>(); };
  Error e;
  Removed r;
  // By id, with two names: refused without force.
  CHECK_FALSE(remove_image(store, a, options, &r, &e));
  CHECK(e.code == ErrorCode::conflict);
  CHECK(e.message.find("referenced in multiple repositories") != std::string::npos);
  // One of two names: only it goes, even while a container uses the image.
  users = {std::string(64, 'c')};
  REQUIRE(remove_image(store, "copy:v2", options, &r, &e));
  CHECK(r.untagged == std::vector<std::string>{"copy:v2"});
  CHECK(r.deleted.empty());
  // The last name of an image in use: refused, then forced.
  r = {};
  CHECK_FALSE(remove_image(store, "busybox", options, &r, &e));
  CHECK(e.code == ErrorCode::conflict);
  CHECK(e.message.find("container cccccccccccc is using its referenced image " + a.substr(7, 12)) !=
        std::string::npos);
  users.clear();
  REQUIRE(remove_image(store, "busybox", options, &r, &e));
  CHECK(r.untagged == std::vector<std::string>{"busybox:latest"});
  CHECK(r.deleted == std::vector<std::string>{a});
  CHECK(r.blobs == 3);  // manifest, config, layer
  CHECK_FALSE(remove_image(store, "busybox", options, &r, &e));
  CHECK(e.code == ErrorCode::not_found);
}

#include "oci/images.h"

#include <time.h>

#include <algorithm>
#include <map>

#include "oci/json.h"
#include "oci/reference.h"

namespace ctk::oci {

using nlohmann::json;

namespace {

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// One entry's image: its manifest and config.
bool read_image(const Store& store, const Descriptor& d, StoredImage* out, std::string* err) {
  if (!load_image(store, d, &out->manifest, err)) return false;
  std::string text;
  if (!store.read_blob(out->manifest.config.digest, &text, err)) return false;
  std::string why;
  if (!parse_json(text, &out->config, &why) || !out->config.is_object()) {
    *err = d.ref_name + ": image config: " + (why.empty() ? "not an object" : why);
    return false;
  }
  out->id = out->manifest.config.digest;
  out->size = out->manifest.config.size;
  for (const Descriptor& l : out->manifest.layers) out->size += l.size;
  const json& c = out->config;
  if (c.contains("created") && c["created"].is_string()) {
    out->created_text = c["created"];
    if (!parse_rfc3339(out->created_text, &out->created)) out->created = 0;
  }
  return true;
}

}  // namespace

bool list_images(const Store& store, std::vector<StoredImage>* out, std::string* err) {
  out->clear();
  std::vector<Descriptor> entries;
  if (!store.list(&entries, err)) return false;
  std::map<std::string, size_t> by_id;
  for (const Descriptor& d : entries) {
    StoredImage image;
    std::string ignored;
    if (!read_image(store, d, &image, &ignored)) continue;
    auto [it, fresh] = by_id.emplace(image.id, out->size());
    if (fresh) out->push_back(std::move(image));
    (*out)[it->second].entries.push_back(d);
  }
  return true;
}

bool find_image(const Store& store, std::string_view name, StoredImage* out, std::string* matched_ref, Error* err) {
  matched_ref->clear();
  std::vector<StoredImage> images;
  std::string why;
  if (!list_images(store, &images, &why)) return err->fail(ErrorCode::failure, why);
  // An id first, as docker looks: "sha256:" and hex, or bare hex.
  std::string_view hex = name.starts_with("sha256:") ? name.substr(7) : name;
  if (hex.size() >= 4 && hex.size() <= 64 && is_hex(hex)) {
    const StoredImage* match = nullptr;
    for (const StoredImage& i : images) {
      if (i.id.compare(7, hex.size(), hex) != 0) continue;
      if (match) return err->fail(ErrorCode::invalid, "image id prefix '" + std::string(name) + "' is ambiguous");
      match = &i;
    }
    if (match) return *out = *match, true;
  }
  Descriptor d;
  if (!store.resolve(name, &d, &why)) {
    if (why.find("more than one") != std::string::npos) return err->fail(ErrorCode::invalid, why);
    Reference ref;
    std::string parse_err;
    if (!is_hex(hex) && !parse_reference(name, &ref, &parse_err)) return err->fail(ErrorCode::invalid, parse_err);
    return err->fail(ErrorCode::not_found, "No such image: " + std::string(name));
  }
  for (const StoredImage& i : images)
    for (const Descriptor& e : i.entries)
      if (e.ref_name == d.ref_name && e.digest == d.digest) {
        *out = i;
        // A digest prefix names the image, not one of its names.
        if (name != d.digest && !(is_hex(hex) && d.digest.compare(7, hex.size(), hex) == 0)) *matched_ref = d.ref_name;
        return true;
      }
  // In the index but unreadable (list_images left it out).
  StoredImage broken;
  if (!read_image(store, d, &broken, &why)) return err->fail(ErrorCode::failure, why);
  return err->fail(ErrorCode::failure, "image " + std::string(name) + " changed while being read");
}

std::string familiar_name(std::string_view ref_name) {
  Reference ref;
  std::string ignored;
  if (!parse_reference(ref_name, &ref, &ignored)) return std::string(ref_name);
  std::string out = familiar_repository(ref_name);
  if (!ref.tag.empty()) out += ":" + ref.tag;
  if (!ref.digest.empty()) out += "@" + ref.digest;
  return out;
}

std::string familiar_repository(std::string_view ref_name) {
  Reference ref;
  std::string ignored;
  if (!parse_reference(ref_name, &ref, &ignored)) return std::string(ref_name);
  if (ref.registry != kDockerHub) return ref.name();
  if (ref.repository.starts_with("library/") && ref.repository.find('/', 8) == std::string::npos)
    return ref.repository.substr(8);
  return ref.repository;
}

std::vector<std::string> repo_tags(const StoredImage& image) {
  std::vector<std::string> out;
  for (const Descriptor& d : image.entries) {
    Reference ref;
    std::string ignored;
    if (parse_reference(d.ref_name, &ref, &ignored) && ref.digest.empty()) out.push_back(familiar_name(d.ref_name));
  }
  return out;
}

std::vector<std::string> repo_digests(const StoredImage& image) {
  std::vector<std::string> out;
  for (const Descriptor& d : image.entries) {
    if (d.ref_name.empty()) continue;  // untagged: no repository
    std::string repo = familiar_repository(d.ref_name);
    std::string digest = repo + "@" + (d.source_digest.empty() ? d.digest : d.source_digest);
    if (std::find(out.begin(), out.end(), digest) == out.end()) out.push_back(digest);
  }
  return out;
}

bool parse_rfc3339(std::string_view text, int64_t* seconds) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
  auto num = [&](size_t at, size_t len, int* v) {
    if (at + len > text.size()) return false;
    *v = 0;
    for (size_t i = at; i < at + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      *v = *v * 10 + (text[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, s;
  if (!num(0, 4, &y) || text.size() < 20 || text[4] != '-' || !num(5, 2, &mo) || text[7] != '-' ||
      !num(8, 2, &d) || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !num(11, 2, &h) ||
      text[13] != ':' || !num(14, 2, &mi) || text[16] != ':' || !num(17, 2, &s))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return false;
  size_t at = 19;
  if (text[at] == '.') {
    ++at;
    size_t digits = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at, ++digits;
    if (digits == 0) return false;
  }
  int offset = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    int oh, om;
    if (!num(at + 1, 2, &oh) || at + 3 >= text.size() || text[at + 3] != ':' || !num(at + 4, 2, &om) || oh > 23 ||
        om > 59)
      return false;
    offset = (oh * 60 + om) * 60 * (text[at] == '-' ? -1 : 1);
    at += 6;
  } else {
    return false;
  }
  if (at != text.size()) return false;
  tm t{};
  t.tm_year = y - 1900;
  t.tm_mon = mo - 1;
  t.tm_mday = d;
  t.tm_hour = h;
  t.tm_min = mi;
  t.tm_sec = s;
  *seconds = int64_t(::timegm(&t)) - offset;
  return true;
}

bool tag_image(Store& store, std::string_view source, std::string_view target, Error* err) {
  Reference ref;
  std::string why;
  if (!parse_reference(target, &ref, &why)) return err->fail(ErrorCode::invalid, why);
  if (!ref.digest.empty()) return err->fail(ErrorCode::invalid, "refusing to create a tag with a digest reference");
  StoredImage image;
  std::string matched;
  if (!find_image(store, source, &image, &matched, err)) return false;
  const Descriptor* d = &image.entries.front();
  for (const Descriptor& e : image.entries)
    if (e.ref_name == matched) d = &e;
  if (!store.set_ref(ref.store_name(), *d, &why)) return err->fail(ErrorCode::failure, why);
  return true;
}

bool remove_image(Store& store, std::string_view name, const RemoveOptions& options, Removed* out, Error* err) {
  StoredImage image;
  std::string matched, why;
  if (!find_image(store, name, &image, &matched, err)) return false;
  std::vector<std::string> names;
  if (!matched.empty() && image.entries.size() > 1) {
    names.push_back(matched);  // one of several names: only it goes
  } else {
    std::string short_id = image.id.substr(7, 12);
    if (matched.empty() && image.entries.size() > 1 && !options.force)
      return err->fail(ErrorCode::conflict, "conflict: unable to delete " + short_id +
                                                " (must be forced) - image is referenced in multiple repositories");
    std::vector<std::string> users = options.users ? options.users(image.id) : std::vector<std::string>();
    if (!users.empty() && !options.force) {
      std::string user = users[0].substr(0, 12);
      if (!matched.empty())
        return err->fail(ErrorCode::conflict, "conflict: unable to remove repository reference \"" +
                                                  std::string(name) + "\" (must force) - container " + user +
                                                  " is using its referenced image " + short_id);
      return err->fail(ErrorCode::conflict, "conflict: unable to delete " + short_id +
                                                " (must be forced) - image is being used by container " + user);
    }
    for (const Descriptor& d : image.entries) names.push_back(d.ref_name);
  }
  for (const std::string& n : names) {
    bool found;
    if (!store.remove_ref(n, &found, &why)) return err->fail(ErrorCode::failure, why);
    if (found) out->untagged.push_back(familiar_name(n));
  }
  // An untagged entry ("" in names) goes with the image.
  if (names.size() == image.entries.size())
    for (const Descriptor& d : image.entries)
      if (d.ref_name.empty() && !store.remove_untagged(d.digest, &why)) return err->fail(ErrorCode::failure, why);
  if (names.size() == image.entries.size()) out->deleted.push_back(image.id);
  uint64_t blobs = 0, bytes = 0;
  if (!store.collect_garbage(&blobs, &bytes, &why)) return err->fail(ErrorCode::failure, why);
  out->blobs += blobs;
  out->bytes += bytes;
  return true;
}

}  // namespace ctk::oci

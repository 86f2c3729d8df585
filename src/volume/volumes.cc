#include "volume/volumes.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <utility>

#include "base/clock.h"
#include "base/dirs.h"
#include "base/strings.h"
#include "oci/json.h"
#include "oci/store.h"

namespace ctk::volume {

using nlohmann::json;

bool valid_name(const std::string& name) { return valid_object_name(name, 2, 255); }

bool Volumes::open(const std::string& data_root, Error* err) {
  path_ = (data_root.empty() ? oci::Store::default_root() : data_root) + "/volumes";
  std::string why;
  if (!oci::make_dirs(path_, 0700, &why)) return err->fail(ErrorCode::failure, why);
  return true;
}

bool Volumes::lock(oci::FileLock* lock, Error* err) const {
  std::string why;
  if (!lock->lock(path_ + "/.lock", true, &why)) return err->fail(ErrorCode::failure, why);
  return true;
}

namespace {

// DIR/volume.json, what load() reads back.
bool write_metadata(const std::string& dir, const Volume& v, std::string* why) {
  json j = {{"name", v.name}, {"created", v.created}, {"labels", v.labels},
            {"anonymous", v.anonymous}, {"populated", v.populated}};
  return oci::write_file_atomic(dir + "/volume.json", j.dump(2) + "\n", 0600, why);
}

}  // namespace

bool Volumes::create(Volume* v, bool must_be_new, bool* created, Error* err) {
  *created = false;
  if (!valid_name(v->name))
    return err->fail(ErrorCode::invalid, "invalid volume name '" + v->name +
                                             "': only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least 2 characters");
  if (::access(dir(v->name).c_str(), F_OK) == 0) {
    if (must_be_new) return err->fail(ErrorCode::conflict, "volume " + v->name + " already exists");
    return load(v->name, v, err);
  }
  // Made under a temporary name and renamed: a volume is there whole or not at all.
  std::string temp = path_ + "/.new-" + v->name;
  remove_tree(temp);
  if (::mkdir(temp.c_str(), 0700) != 0) return err->fail_errno(temp);
  // _data is what containers see: docker makes it 0755 root-owned too.
  if (::mkdir((temp + "/_data").c_str(), 0755) != 0) {
    remove_tree(temp);
    return err->fail_errno(temp + "/_data");
  }
  if (v->created.empty()) v->created = now_rfc3339();
  std::string why;
  if (!write_metadata(temp, *v, &why) || ::rename(temp.c_str(), dir(v->name).c_str()) != 0) {
    if (why.empty()) why = sys_error(dir(v->name));
    remove_tree(temp);
    return err->fail(ErrorCode::failure, why);
  }
  *created = true;
  return true;
}

bool Volumes::save(const Volume& v, Error* err) const {
  std::string why;
  if (!write_metadata(dir(v.name), v, &why)) return err->fail(ErrorCode::failure, why);
  return true;
}

bool Volumes::load(const std::string& name_ref, Volume* v, Error* err) const {
  std::string name = name_ref;  // may be v->name, which is reset below
  if (!valid_name(name)) return err->fail(ErrorCode::not_found, "no such volume: " + name);
  std::string text, why, path = dir(name) + "/volume.json";
  bool exists = true;
  if (!read_file(path, &text, &exists, &why)) return err->fail(ErrorCode::failure, why);
  if (!exists) return err->fail(ErrorCode::not_found, "no such volume: " + name);
  json j;
  if (!oci::parse_json(text, &j, &why)) return err->fail(ErrorCode::failure, path + ": " + why);
  if (!j.is_object()) return err->fail(ErrorCode::failure, path + ": not an object");
  // Filled apart and assigned last: `name` may be v->name itself.
  Volume out;
  out.name = name;
  const json& created = j.value("created", json());
  const json& labels = j.value("labels", json::object());
  if (created.is_string()) out.created = created.get<std::string>();
  if (labels.is_object())
    for (const auto& [k, val] : labels.items())
      if (val.is_string()) out.labels[k] = val.get<std::string>();
  out.anonymous = j.value("anonymous", json(false)).is_boolean() && j.value("anonymous", false);
  out.populated = j.value("populated", json(false)).is_boolean() && j.value("populated", false);
  *v = std::move(out);
  return true;
}

bool Volumes::list(std::vector<Volume>* out, Error* err) const {
  DIR* d = ::opendir(path_.c_str());
  if (!d) return err->fail_errno(path_);
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    Volume v;
    Error ignored;  // a half-made or foreign entry is not a volume
    if (valid_name(name) && load(name, &v, &ignored)) out->push_back(v);
  }
  ::closedir(d);
  std::sort(out->begin(), out->end(), [](const Volume& a, const Volume& b) { return a.name < b.name; });
  return true;
}

bool Volumes::remove(const std::string& name, Error* err) {
  if (::access(dir(name).c_str(), F_OK) != 0) return err->fail(ErrorCode::not_found, "no such volume: " + name);
  // Out of the listing at once, then its files.
  std::string doomed = path_ + "/.removing-" + name;
  if (::rename(dir(name).c_str(), doomed.c_str()) != 0) return err->fail_errno(dir(name));
  remove_tree(doomed);
  return true;
}

uint64_t Volumes::size(const std::string& name) const {
  namespace fs = std::filesystem;
  uint64_t total = 0;
  std::set<std::pair<dev_t, ino_t>> linked;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(data(name), fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (st.st_nlink > 1 && !linked.insert({st.st_dev, st.st_ino}).second) continue;
    total += uint64_t(st.st_size);
  }
  return total;
}

bool parse_filter(const std::string& text, bool prune, Filter* out, std::string* err) {
  static constexpr std::string_view kLs[] = {"dangling", "name", "label", "driver"}, kPrune[] = {"label", "label!"};
  return ctk::parse_filter(text, prune ? std::span<const std::string_view>(kPrune) : kLs, out, err);
}

namespace {

bool matches_one(const Volume& v, bool in_use, const Filter& f) {
  if (f.key == "dangling") return in_use != filter_is_true(f);
  if (f.key == "name") return v.name.find(f.value) != std::string::npos;
  // Every volume is the local driver's: the filter still narrows to none for another.
  if (f.key == "driver") return f.value == "local";
  return label_matches(v.labels, f);
}

}  // namespace

bool matches(const Volume& v, bool in_use, const std::vector<Filter>& filters) {
  return std::all_of(filters.begin(), filters.end(), [&](const Filter& f) { return matches_one(v, in_use, f); });
}

json inspect_json(const Volumes& volumes, const Volume& v) {
  return {{"CreatedAt", v.created},
          {"Driver", "local"},
          {"Labels", v.labels.empty() ? json(nullptr) : json(v.labels)},
          {"Mountpoint", volumes.data(v.name)},
          {"Name", v.name},
          {"Options", json(nullptr)},
          {"Scope", "local"}};
}

}  // namespace ctk::volume
